"""Trainer benchmark: our NumPy MLP against PyTorch CPU on digits, one thread each.

Same architecture (64-128-64-10, relu, softmax), same mini-batches (one shared permutation per epoch), same
optimizer (Adam, lr 1e-3; PyTorch's fused implementation, its fastest on CPU), float32. Prints samples/s for
both, the ratio, and the share of this machine's single-thread float32 matmul peak (measured in the same
run) that our trainer's matrix products reach.

    .venv/bin/python bench/trainer.py [--epochs 10] [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from app.domain.catalog.mlp_config import TrainConfig
from workers.datasets.builtin import load_builtin
from workers.nn.data import EpochShuffler, Standardizer, batch_bounds
from workers.nn.losses import targets
from workers.nn.train import build_network, optimizer_step, run_epoch

LAYERS = (64, 128, 64, 10)
LEARNING_RATE = 1e-3
KEEP_PROB = 0.8
VARIANTS = ("plain", "batch norm", "dropout")
BATCH_SIZES = (64, 256)
PEAK_SIZE = 2048


@dataclass(frozen=True)
class Row:
    variant: str
    batch_size: int
    ours: float
    torch: float

    @property
    def ratio(self) -> float:
        return self.ours / self.torch


def matmul_peak_gflops(repeats: int = 7) -> float:
    """Best single-thread float32 GFLOP/s of a PEAK_SIZE² matrix product."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((PEAK_SIZE, PEAK_SIZE), dtype=np.float32)
    out = np.empty_like(a)
    np.matmul(a, a, out=out)
    best = min(_timed(lambda: np.matmul(a, a, out=out)) for _ in range(repeats))
    return 2 * PEAK_SIZE**3 / best / 1e9


def flops_per_sample() -> int:
    """Multiply-adds ×2 of one example's training step: 3 forward products, 3 for ∂W, 2 for ∂A (not ∂X)."""
    products = sum(n_in * n_out for n_in, n_out in zip(LAYERS[:-1], LAYERS[1:], strict=True))
    return 2 * (2 * products + products - LAYERS[0] * LAYERS[1])


def ours_runner(
    variant: str, batch_size: int, X: np.ndarray, y: np.ndarray
) -> Callable[[list[np.ndarray]], None]:
    config = TrainConfig(
        n_layers=2,
        hidden_units=LAYERS[1:-1],
        batch_size=batch_size,
        optimizer="adam",
        learning_rate=LEARNING_RATE,
        batch_norm=variant == "batch norm",
        keep_prob=KEEP_PROB if variant == "dropout" else 1.0,
    )
    rng = np.random.default_rng(0)
    network = build_network(config, LAYERS[0], LAYERS[-1], rng)
    step = optimizer_step(config, network)
    shuffler = EpochShuffler(X, targets(y, LAYERS[-1], np.float32))
    bounds = batch_bounds(X.shape[0], batch_size)

    def run(permutations: list[np.ndarray]) -> None:
        for permutation in permutations:
            run_epoch(network, step, shuffler, bounds, permutation, LEARNING_RATE, rng)

    return run


def torch_runner(
    variant: str, batch_size: int, X: np.ndarray, y: np.ndarray
) -> Callable[[list[np.ndarray]], None]:
    torch.manual_seed(0)
    layers: list[torch.nn.Module] = []
    for index, (n_in, n_out) in enumerate(zip(LAYERS[:-1], LAYERS[1:], strict=True)):
        hidden = index < len(LAYERS) - 2
        layers.append(torch.nn.Linear(n_in, n_out, bias=not (hidden and variant == "batch norm")))
        if hidden:
            if variant == "batch norm":
                layers.append(torch.nn.BatchNorm1d(n_out, momentum=0.1, eps=1e-5))
            layers.append(torch.nn.ReLU())
            if variant == "dropout":
                layers.append(torch.nn.Dropout(1.0 - KEEP_PROB))
    model = torch.nn.Sequential(*layers).train()
    # fused=True is PyTorch's fastest Adam on CPU (~1.3-1.5x its default here): compare with the best it has.
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE, eps=1e-8, fused=True)
    loss_fn = torch.nn.CrossEntropyLoss()
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    bounds = batch_bounds(X.shape[0], batch_size)

    def run(permutations: list[np.ndarray]) -> None:
        for permutation in permutations:
            index = torch.from_numpy(permutation)
            X_epoch, y_epoch = X_t[index], y_t[index]
            for start, stop in bounds:
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(model(X_epoch[start:stop]), y_epoch[start:stop])
                loss.backward()
                optimizer.step()

    return run


def measure(variant: str, batch_size: int, epochs: int, repeats: int, X: np.ndarray, y: np.ndarray) -> Row:
    """Best samples/s of each trainer over `repeats` alternating runs of `epochs` epochs."""
    rng = np.random.default_rng(1)
    permutations = [rng.permutation(X.shape[0]) for _ in range(epochs)]
    runners = {
        "ours": ours_runner(variant, batch_size, X, y),
        "torch": torch_runner(variant, batch_size, X, y),
    }
    for run in runners.values():
        run(permutations[:1])
    best = {name: 0.0 for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            seconds = _timed(lambda run=run: run(permutations))
            best[name] = max(best[name], epochs * X.shape[0] / seconds)
    return Row(variant, batch_size, best["ours"], best["torch"])


def cpu_model() -> str:
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown"
    return next(
        (line.split(":", 1)[1].strip() for line in lscpu.splitlines() if line.startswith("Model name")), "?"
    )


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="epochs per timed run")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per trainer; the best one counts")
    args = parser.parse_args()

    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        digits = load_builtin("digits", {})
        X = Standardizer.fit(digits.X).transform(digits.X, np.float32)
        y = digits.y.astype(np.int64)
        # The peak is sampled before and after every variant: on a shared machine a neighbour's load can
        # only lower a measurement, and a lowered peak would flatter our share, so the highest counts.
        peaks = [matmul_peak_gflops()]
        rows = []
        for batch_size in BATCH_SIZES:
            for variant in VARIANTS:
                rows.append(measure(variant, batch_size, args.epochs, args.repeats, X, y))
                peaks.append(matmul_peak_gflops())
        peak = max(peaks)
    flops = flops_per_sample()
    header = (
        "batch",
        "variant",
        "ours (samples/s)",
        "PyTorch (samples/s)",
        "ours / PyTorch",
        "ours, % of peak",
    )
    lines = [
        f"machine: {cpu_model()}, {os.cpu_count()} cores; 1 thread each (threadpoolctl, torch threads)",
        f"torch {torch.__version__}, numpy {np.__version__}; digits, {X.shape[0]} samples per epoch, "
        f"{args.epochs} epochs per run, best of {args.repeats} runs",
        f"float32 matmul peak ({PEAK_SIZE}², 1 thread): {peak:.1f} GFLOP/s, the highest of {len(peaks)} "
        f"samples taken between the variants (lowest {min(peaks):.1f})",
        "",
        "| " + " | ".join(header) + " |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        share = 100 * row.ours * flops / 1e9 / peak
        cells = (
            row.batch_size,
            row.variant,
            f"{row.ours:,.0f}",
            f"{row.torch:,.0f}",
            f"{row.ratio:.2f}×",
            f"{share:.0f}%",
        )
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
