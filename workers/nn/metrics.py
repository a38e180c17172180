"""Evaluation metrics from labels and predicted probabilities."""

from __future__ import annotations

import numpy as np


def predicted_labels(P: np.ndarray) -> np.ndarray:
    """Labels (m,) from probabilities P (m, C): argmax for softmax, P > 0.5 for a sigmoid column (C = 1)."""
    if P.shape[1] == 1:
        return (P[:, 0] > 0.5).astype(np.int64)
    labels: np.ndarray = np.argmax(P, axis=1)
    return labels


def accuracy(y: np.ndarray, P: np.ndarray) -> float:
    """Fraction of the m examples whose predicted label equals y (m,)."""
    return float(np.mean(predicted_labels(P) == y))


def positive_scores(P: np.ndarray) -> np.ndarray:
    """Score (m,) of class 1 for a binary problem: the sigmoid column, or softmax's second column."""
    return P[:, 0] if P.shape[1] == 1 else P[:, 1]


def binary_auc(y: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve for labels y (m,) in {0, 1} and scores (m,); None if one class is absent.

    The Mann-Whitney form: (sum of the positives' ranks - n₊(n₊ + 1)/2) / (n₊ n₋), ties sharing average ranks.
    """
    positives = y == 1
    n_pos = int(positives.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    from scipy.stats import rankdata  # scipy.stats is ~30 MB resident: imported by the first binary AUC

    ranks = rankdata(scores)
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
