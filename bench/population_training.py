"""Population Based Training against the non-population strategies, on the same budget of epochs.

Starts `caviar up` (SQLite, embedded Redis, `--workers` workers) and, for each seed, runs one search per
method through the API, one search at a time: PBT with a population of `--population` members trained
for `--epochs` epochs each, and Caviar's default strategy and random search with as many trials of as
many epochs, so every method trains `population × epochs` epochs (a PBT branch takes over the epochs its
exploited member did not train). The task is the one the course tunes by hand: an MLP on digits trained
with momentum, whose learning rate (log scale), β (`1 - 10**r` scale), L2 and dropout are searched; a
schedule of the learning rate is what PBT can find and a constant configuration cannot.

Prints, per method, the median [IQR] of the best dev accuracy each search found, of its test accuracy,
the wall time, and how many seeds PBT beat it on.

    .venv/bin/python bench/population_training.py [--seeds 5] [--epochs 24] [--population 8]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stack import embedded_stack  # noqa: E402

SPACE: dict[str, Any] = {
    "learning_rate": {"type": "float", "low": 1e-4, "high": 3.0, "scale": "log"},
    "beta": {"type": "float", "low": 0.5, "high": 0.99, "scale": "log1m"},
    "l2": {"type": "float", "low": 1e-6, "high": 1.0, "scale": "log"},
    "keep_prob": {"type": "float", "low": 0.5, "high": 1.0},
    "optimizer": "momentum",
    "n_layers": 2,
    "hidden_units": 32,
    "batch_size": 64,
}
METHODS = ("pbt", "caviar default", "random")


def spec_for(method: str, seed: int, epochs: int, population: int) -> dict[str, Any]:
    strategy: dict[str, Any] | None = {
        "pbt": {"kind": "pbt", "population": population, "interval": max(1, epochs // 6)},
        "caviar default": None,
        "random": {"kind": "random"},
    }[method]
    spec: dict[str, Any] = {
        "name": f"{method} seed {seed}",
        "objective": "mlp",
        "dataset": "digits",
        "metric": "dev_accuracy",
        "direction": "maximize",
        "space": {**SPACE, "epochs": epochs},
        "budget": {"max_trials": population, "max_parallel": population, "max_failed_trials": population},
        "seed": seed,
    }
    if strategy is not None:
        spec["strategy"] = strategy
    return spec


def run_search(client: httpx.Client, spec: dict[str, Any]) -> tuple[float, float | None, float]:
    """(best dev accuracy, its trial's test accuracy, seconds from submission to the end)."""
    started = time.monotonic()
    created = client.post("/searches", json=spec)
    created.raise_for_status()
    search_id = created.json()["id"]
    while True:
        search = client.get(f"/searches/{search_id}").json()
        if search["state"] != "running":
            break
        time.sleep(0.5)
    elapsed = time.monotonic() - started
    if search["state"] != "completed":
        raise SystemExit(f"search {search_id} ended {search['state']}: {search.get('error')}")
    [best] = client.get(f"/searches/{search_id}/best", params={"k": 1}).json()
    return float(best["value"]), (best["metrics"] or {}).get("test_accuracy"), elapsed


def quartiles(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:.4f}"
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return f"{median:.4f} [{q1:.4f}, {q3:.4f}]"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=24)
    parser.add_argument("--population", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    results: dict[str, list[tuple[float, float | None, float]]] = {method: [] for method in METHODS}
    with embedded_stack("pbt", args.workers) as base_url:
        with httpx.Client(base_url=base_url, timeout=60) as client:
            for seed in range(args.seeds):
                for method in METHODS:
                    results[method].append(
                        run_search(client, spec_for(method, seed, args.epochs, args.population))
                    )
                    dev, test, seconds = results[method][-1]
                    print(
                        f"seed {seed} {method:>15}: dev {dev:.4f} test {test} in {seconds:.1f} s",
                        flush=True,
                    )

    budget = args.population * args.epochs
    print(
        f"\nMLP on digits, momentum; {args.seeds} seeds; every method {budget} epochs "
        f"({args.population} × {args.epochs}); {args.workers} workers\n"
    )
    print(
        "| method | best dev accuracy, median [IQR] | its test accuracy | seconds, median | PBT better on |"
    )
    print("|---|---|---|---:|---:|")
    pbt_dev = [dev for dev, _, _ in results["pbt"]]
    for method in METHODS:
        devs = [dev for dev, _, _ in results[method]]
        tests = [test for _, test, _ in results[method] if test is not None]
        seconds = statistics.median(s for _, _, s in results[method])
        beaten = (
            "–"
            if method == "pbt"
            else f"{sum(p > d for p, d in zip(pbt_dev, devs, strict=True))}/{len(devs)}"
        )
        test = quartiles(tests) if tests else "–"
        print(f"| {method} | {quartiles(devs)} | {test} | {seconds:.1f} | {beaten} |")


if __name__ == "__main__":
    main()
