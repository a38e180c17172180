"""Notebook-style ask/tell: your own training loop in your own process, Caviar choosing the trials.

Run it against a running stack (`make up` in another terminal; no worker is needed for this):

    .venv/bin/python examples/notebook_optimize.py
    .venv/bin/python examples/notebook_optimize.py --api-url http://host:8000

Every cell below would work as is in Jupyter. The search's objective is `external`: nothing is queued
to workers, this process asks for trials, reports each step (the pruner may stop a bad one) and tells
the result. An exception fails the trial with its last line; Ctrl-C hands the trial back.
"""

from __future__ import annotations

import argparse
import math
import os
from typing import Any

from caviar import DEFAULT_API_URL, CaviarClient, TrialPruned

SPEC: dict[str, Any] = {
    "name": "my own training loop",
    "objective": "external",
    "metric": "loss",
    "direction": "minimize",
    "space": {
        "learning_rate": {"type": "float", "low": 0.001, "high": 1.0, "scale": "log"},
        "momentum": {"type": "float", "low": 0.5, "high": 0.999, "scale": "log1m"},
        "steps": 8,
    },
    "strategy": {"kind": "random"},
    "pruner": {"kind": "median", "min_trials": 3, "warmup_steps": 2},
    "budget": {"max_trials": 12, "max_parallel": 4},
    "seed": 42,
}


def objective(trial: Any) -> dict[str, float]:
    """Gradient descent with momentum on f(w) = (w - 3)², from w = 0: your training loop goes here."""
    learning_rate, momentum = trial.params["learning_rate"], trial.params["momentum"]
    weight, velocity = 0.0, 0.0
    loss = math.inf
    for step in range(1, trial.params["steps"] + 1):
        gradient = 2 * (weight - 3.0)
        velocity = momentum * velocity - learning_rate * gradient
        weight += velocity
        loss = min((weight - 3.0) ** 2, 1e6)
        trial.report(step, loss=loss)
        if trial.should_stop():
            raise TrialPruned()
    return {"loss": loss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-url", default=os.environ.get("CAVIAR_API_URL", DEFAULT_API_URL))
    args = parser.parse_args()

    # %% Create the search
    client = CaviarClient(args.api_url)
    search = client.submit(SPEC)
    print(f"search {search['id']} created")

    # %% Evaluate its trials here, two at a time, until the search finishes
    told = client.optimize(search["id"], objective, n_jobs=2)
    print(f"told {len(told)} trials: " + ", ".join(sorted({trial["state"] for trial in told})))

    # %% The result
    search = client.search(search["id"])
    print(f"search {search['state']}")
    best = search["best"]
    print(f"best loss={best['value']:.6f} with {best['params']}")
    client.close()


if __name__ == "__main__":
    main()
