"""Synthetic but realistic responses, written before any strategy ran on them and never tuned since.

Each mimics a shape real tuning problems have and bowls lack: a conditional space whose cheap branch is
a trap, a narrow optimum next to a divergence cliff, a diagonal valley between two parameters, and
observation noise as large as the differences that matter. Optima are interior but off-centre, and
flat plateaus (diverged runs) tell a model nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


def _bump(x: float, centre: float, width: float) -> float:
    return math.exp(-0.5 * ((x - centre) / width) ** 2)


TREES = ["gbtree", "dart"]
BOOSTING_SPACE: dict[str, Any] = {
    "booster": {"type": "categorical", "choices": ["gbtree", "gblinear", "dart"]},
    "learning_rate": {"type": "float", "low": 1e-3, "high": 1.0, "scale": "log"},
    "n_rounds": {"type": "int", "low": 10, "high": 2000, "scale": "log"},
    "reg_lambda": {"type": "float", "low": 1e-3, "high": 100.0, "scale": "log"},
    "max_depth": {"type": "int", "low": 1, "high": 12, "when": {"booster": TREES}},
    "min_child_weight": {
        "type": "float",
        "low": 0.1,
        "high": 100.0,
        "scale": "log",
        "when": {"booster": TREES},
    },
    "subsample": {"type": "float", "low": 0.3, "high": 1.0, "when": {"booster": TREES}},
    "colsample_bytree": {"type": "float", "low": 0.3, "high": 1.0, "when": {"booster": TREES}},
    "rate_drop": {"type": "float", "low": 0.0, "high": 0.5, "when": {"booster": ["dart"]}},
    "reg_alpha": {
        "type": "float",
        "low": 1e-4,
        "high": 10.0,
        "scale": "log",
        "when": {"booster": ["gblinear"]},
    },
}


def boosting(params: Mapping[str, Any]) -> float:
    """Validation log-loss of a gradient-boosting model (minimize): trees ~0.30 at best, linear ~0.42.

    What counts for trees is the total shrinkage learning_rate x n_rounds (under- or overfitting), the
    complexity depth - 0.9 log10(min_child_weight) (overfitting grows with it), smaller steps at a
    given total, row/column subsampling, and for dart a dropout rate that helps in a narrow band.
    """
    total = math.log10(params["learning_rate"] * params["n_rounds"])
    heavy_regularisation = 0.03 * _sigmoid((math.log10(params["reg_lambda"]) - 1.0) / 0.3)
    if params["booster"] == "gblinear":
        fit = 0.06 * (1 - _bump(total, 0.7, 0.6)) + 0.04 * _sigmoid(
            (math.log10(params["reg_alpha"]) + 0.5) / 0.3
        )
        return 0.42 + fit + heavy_regularisation
    complexity = params["max_depth"] - 0.9 * math.log10(params["min_child_weight"])
    underfit = 0.25 * math.log1p(math.exp((1.3 - total) / 0.35)) * 0.35
    overfit = 0.02 * max(0.0, total - 1.3) * (1 + max(0.0, complexity - 4.0))
    shape = 0.015 * ((complexity - 4.5) / 2.0) ** 2
    big_steps = 0.02 * _sigmoid((math.log10(params["learning_rate"]) + 1.3) / 0.3)
    rows = 0.05 * max(0.0, 0.6 - params["subsample"]) / 0.3 + 0.008 * (params["subsample"] - 0.8) ** 2 / 0.04
    columns = 0.012 * ((params["colsample_bytree"] - 0.45) / 0.35) ** 2
    loss = 0.30 + underfit + overfit + shape + big_steps + rows + columns + heavy_regularisation
    if params["booster"] == "dart":
        loss += -0.02 * _bump(params["rate_drop"], 0.12, 0.05) + 0.08 * max(0.0, params["rate_drop"] - 0.25)
    return loss


MOMENTUM_SPACE: dict[str, Any] = {
    "learning_rate": {"type": "float", "low": 1e-5, "high": 1.0, "scale": "log"},
    "momentum": {"type": "float", "low": 0.5, "high": 0.9999, "scale": "log1m"},
    "weight_decay": {"type": "float", "low": 1e-6, "high": 1e-2, "scale": "log"},
    "width": {"type": "int", "low": 16, "high": 1024, "scale": "log"},
}
DIVERGED_LOSS = math.log(10)


def momentum_edge(params: Mapping[str, Any]) -> float:
    """Training loss of SGD with momentum (minimize): best just below the divergence edge of the
    effective step learning_rate / (1 - momentum), with momentum itself best in a narrow band.

    The optimum is a small patch in (log10 learning_rate, log10(1 - momentum)); past the edge (which
    moves with the width) every run diverges to the same loss, a plateau with no slope.
    """
    one_minus = math.log10(1 - params["momentum"])
    step = math.log10(params["learning_rate"]) - one_minus
    edge = -0.3 - 0.25 * (math.log10(params["width"]) - 2.0)
    if step > edge:
        return DIVERGED_LOSS
    below = edge - step
    convergence = 0.5 * (1 - math.exp(-below / 0.25)) + 0.3 * math.exp(-below / 0.03)
    momentum = 0.25 * (1 - _bump(one_minus, -1.6, 0.2))
    decay = 0.06 * _sigmoid((math.log10(params["weight_decay"]) + 3.0) / 0.3)
    width = 0.03 * ((math.log10(params["width"]) - 2.4) / 0.8) ** 2
    return 0.2 + convergence + momentum + decay + width


VALLEY_SPACE: dict[str, Any] = {
    "learning_rate": {"type": "float", "low": 1e-5, "high": 1.0, "scale": "log"},
    "batch_size": {"type": "int", "low": 8, "high": 4096, "scale": "log"},
    "warmup_fraction": {"type": "float", "low": 0.0, "high": 0.3},
    "label_smoothing": {"type": "float", "low": 0.0, "high": 0.3},
    "dropout": {"type": "float", "low": 0.0, "high": 0.7},
}


def lr_batch_valley(params: Mapping[str, Any]) -> float:
    """Test error (minimize) along the linear scaling rule: the best learning rate grows with the batch
    size (log lr* = log batch - log 256 - 2.7), a valley at 45 degrees in log-log coordinates.

    Along the valley small batches are best; batches over ~300 need warmup; past 0.8 decades above the
    valley training diverges (error 0.9, flat).
    """
    log_batch = math.log10(params["batch_size"])
    across = math.log10(params["learning_rate"]) - (log_batch - math.log10(256) - 2.7)
    if across > 0.8:
        return 0.9
    valley = 0.5 * (1 - _bump(across, 0.0, 0.25)) + 0.05 * abs(across)
    along = 0.04 * ((log_batch - 1.9) / 0.8) ** 2
    warmup = 0.05 * max(0.0, log_batch - 2.5) * max(0.0, 0.1 - params["warmup_fraction"]) / 0.1
    smoothing = 0.02 * ((params["label_smoothing"] - 0.08) / 0.1) ** 2
    dropout = 0.03 * ((params["dropout"] - 0.25) / 0.3) ** 2
    return 0.08 + valley + along + warmup + smoothing + dropout


NOISY_SPACE: dict[str, Any] = {
    "optimizer": {"type": "categorical", "choices": ["sgd", "adam", "rmsprop"]},
    "learning_rate": {"type": "float", "low": 1e-4, "high": 0.3, "scale": "log"},
    "l2": {"type": "float", "low": 1e-7, "high": 1e-2, "scale": "log"},
    "dropout": {"type": "float", "low": 0.0, "high": 0.8},
    "hidden_units": {"type": "int", "low": 32, "high": 1024, "scale": "log"},
    "n_layers": {"type": "int", "low": 1, "high": 4},
}
NOISE_SCALE = 0.01
BEST_LEARNING_RATE = {"sgd": -1.3, "adam": -3.0, "rmsprop": -3.3}


def noisy_accuracy_truth(params: Mapping[str, Any]) -> float:
    """Noise-free validation accuracy (maximize): each optimizer has its own best learning rate, the
    best dropout grows with depth, and too much weight decay hurts."""
    optimizer = params["optimizer"]
    lr_gap = math.log10(params["learning_rate"]) - BEST_LEARNING_RATE[optimizer]
    learning_rate = 0.15 * (1 - _bump(lr_gap, 0.0, 0.45))
    decay = 0.03 * _sigmoid((math.log10(params["l2"]) + 3.5) / 0.3) - 0.005 * _bump(
        math.log10(params["l2"]), -5, 0.7
    )
    dropout = 0.04 * ((params["dropout"] - (0.1 + 0.1 * params["n_layers"])) / 0.25) ** 2
    width = 0.02 * ((math.log10(params["hidden_units"]) - 2.6) / 0.6) ** 2
    depth = 0.01 * (params["n_layers"] - 2.6) ** 2
    return 0.93 - (0.01 if optimizer == "sgd" else 0.0) - learning_rate - decay - dropout - width - depth


def noisy_accuracy(params: Mapping[str, Any], seed: int) -> tuple[float, float]:
    """(observed, noise-free): the observation adds Gaussian noise of sd 0.01, as large as the gaps
    between good configurations; the noise depends on the trial's seed only, so trial k of every
    method draws the same noise (common random numbers)."""
    truth = noisy_accuracy_truth(params)
    noise = NOISE_SCALE * float(np.random.default_rng([seed, 0x0B5]).standard_normal())
    return truth + noise, truth


PROBLEMS: tuple[tuple[str, str, dict[str, Any], Any, str, Any], ...] = (
    ("boosting", "conditional booster choice, log-loss", BOOSTING_SPACE, boosting, "minimize", None),
    (
        "momentum-edge",
        "narrow optimum in log lr x log(1 - momentum)",
        MOMENTUM_SPACE,
        momentum_edge,
        "minimize",
        None,
    ),
    (
        "lr-batch-valley",
        "diagonal valley log lr ~ log batch",
        VALLEY_SPACE,
        lr_batch_valley,
        "minimize",
        None,
    ),
    (
        "noisy-accuracy",
        "Gaussian observation noise, sd 0.01",
        NOISY_SPACE,
        noisy_accuracy_truth,
        "maximize",
        noisy_accuracy,
    ),
)
"""(name, what, space, noise-free function, direction, noisy objective or None)."""
