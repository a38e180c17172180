"""Notebook-style use of the Python client: submit a search, watch it live, print the best five.

Run it against a running stack (`make up` in another terminal):

    .venv/bin/python examples/notebook_client.py                          # examples/digits-random.json
    .venv/bin/python examples/notebook_client.py --spec my-spec.json --api-url http://host:8000

Every cell below would work as is in Jupyter; only the public `caviar` package is used.
"""

from __future__ import annotations

import argparse
import json
import os
import uuid
from pathlib import Path
from typing import Any

from caviar import DEFAULT_API_URL, CaviarClient

EXAMPLES = Path(__file__).resolve().parent
FINISHED_TRIAL_EVENTS = ("trial_completed", "trial_pruned", "trial_failed")


def describe(event: dict[str, Any], finished: int, budget: int) -> str | None:
    """One progress line for the events worth a line (epochs are too many to print)."""
    kind, payload = event["kind"], event["payload"]
    if kind in FINISHED_TRIAL_EVENTS:
        value = payload.get("value")
        shown = f"{value:.4f}" if isinstance(value, float) else "-"
        return (
            f"[{finished:>3}/{budget}] trial {event['trial_id']} {kind.removeprefix('trial_')} value={shown}"
        )
    if kind == "round_advanced":
        return f"round {payload.get('round')} starts"
    if kind in ("search_completed", "search_cancelled"):
        return kind.replace("_", " ")
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-url", default=os.environ.get("CAVIAR_API_URL", DEFAULT_API_URL))
    parser.add_argument("--spec", type=Path, default=EXAMPLES / "digits-random.json")
    args = parser.parse_args(argv)

    # Cell 1: connect and submit. The idempotency key makes re-running the cell after a timeout safe.
    client = CaviarClient(args.api_url)
    spec = json.loads(args.spec.read_text())
    search = client.submit(spec, idempotency_key=f"notebook-{uuid.uuid4()}")
    search_id, metric = search["id"], search["metric"]
    budget = search["spec"]["budget"]["max_trials"]
    strategy = search["spec"]["strategy"]["kind"]
    print(f"search {search_id}: {strategy} search of {budget} trials on {search['dataset']}")

    # Cell 2: watch it live (Server-Sent Events; a dropped connection resumes where it stopped).
    finished = 0
    for event in client.events(search_id):
        finished += event["kind"] in FINISHED_TRIAL_EVENTS
        line = describe(event, finished, budget)
        if line:
            print(line, flush=True)

    # Cell 3: the best five configurations, sorted by the search's metric on the server.
    search = client.search(search_id)
    print(
        f"search {search_id} {search['state']}: "
        + ", ".join(f"{n} {s}" for s, n in search["counts"].items() if n)
    )
    order = f"-{metric}" if search["direction"] == "maximize" else metric
    best = list(client.trials(search_id, state="completed", sort=order, limit=5))
    print(f"best {len(best)} by {metric}:")
    for rank, trial in enumerate(best, start=1):
        params = ", ".join(f"{name}={_short(value)}" for name, value in sorted(trial["params"].items()))
        print(f"  {rank}. {metric}={trial['metrics'][metric]:.4f}  trial {trial['id']}  {params}")

    # Cell 4: and the best ever on this dataset, across every search.
    ever = list(client.find_trials(dataset=search["dataset"], state="completed", sort=order, limit=1))
    if ever:
        top = ever[0]
        value = top["metrics"][metric]
        print(f"best ever on {search['dataset']}: {metric}={value:.4f} (search {top['search_id']})")
    client.close()
    return 0


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    raise SystemExit(main())
