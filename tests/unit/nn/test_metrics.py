"""Accuracy and AUC."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

from workers.nn.metrics import accuracy, binary_auc, predicted_labels


def test_auc_matches_scikit_learn_with_ties() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=300)
    scores = np.round(rng.random(300) + 0.3 * y, 1)

    assert abs(binary_auc(y, scores) - roc_auc_score(y, scores)) < 1e-12


def test_auc_is_undefined_with_a_single_class() -> None:
    assert binary_auc(np.zeros(5, dtype=np.int64), np.linspace(0, 1, 5)) is None


def test_predicted_labels_use_argmax_for_softmax_and_half_for_sigmoid() -> None:
    softmax = np.array([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]])
    sigmoid = np.array([[0.2], [0.8], [0.5]])

    assert predicted_labels(softmax).tolist() == [1, 0]
    assert predicted_labels(sigmoid).tolist() == [0, 1, 0]


def test_accuracy_is_the_fraction_of_correct_predictions() -> None:
    P = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])

    assert accuracy(np.array([0, 1, 1, 1]), P) == 0.75
