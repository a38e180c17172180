"""The learning curve: one point per epoch, and the curve as an array for a checkpoint."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

HISTORY_COLUMNS = ("epoch", "train_cost", "dev_cost", "dev_accuracy", "dev_auc")
"""Columns of `history_array`; dev_auc is NaN where it is not defined (more than two classes)."""


@dataclass(frozen=True)
class EpochMetrics:
    """One learning-curve point. train_cost is the training objective (cross-entropy + L2) averaged over the
    epoch's mini-batches; dev_* are measured in evaluation mode; dev_auc only for two classes."""

    epoch: int
    train_cost: float
    dev_cost: float
    dev_accuracy: float
    dev_auc: float | None = None

    def as_dict(self) -> dict[str, float]:
        """The metrics as a report: train_cost, dev_cost, dev_accuracy and, when defined, dev_auc."""
        metrics = {
            "train_cost": self.train_cost,
            "dev_cost": self.dev_cost,
            "dev_accuracy": self.dev_accuracy,
        }
        if self.dev_auc is not None:
            metrics["dev_auc"] = self.dev_auc
        return metrics


def history_array(history: list[EpochMetrics]) -> np.ndarray:
    """The learning curve as a (epochs, 5) float64 array in HISTORY_COLUMNS; NaN for an undefined dev_auc."""
    rows = [
        (m.epoch, m.train_cost, m.dev_cost, m.dev_accuracy, math.nan if m.dev_auc is None else m.dev_auc)
        for m in history
    ]
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(HISTORY_COLUMNS))


def history_records(history: np.ndarray) -> list[EpochMetrics]:
    """Undo `history_array`."""
    if history.ndim != 2 or history.shape[1] != len(HISTORY_COLUMNS):
        raise ValueError(f"a learning curve has {len(HISTORY_COLUMNS)} columns, got shape {history.shape}")
    return [
        EpochMetrics(
            int(epoch), float(train), float(dev), float(accuracy), None if math.isnan(auc) else float(auc)
        )
        for epoch, train, dev, accuracy, auc in history.tolist()
    ]
