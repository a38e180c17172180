"""Hyperparameter importance ranks what drives the metric above what does not."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.domain.importance import REPEATS, TREES, TREES_PER_BATCH, hyperparameter_importance
from app.domain.space import SearchSpace
from app.domain.strategies import TrialRecord
from app.errors import Conflict

SPACE = SearchSpace.from_spec(
    {
        "learning_rate": {"type": "float", "low": 1e-4, "high": 1.0, "scale": "log"},
        "noise": {"type": "float", "low": 0.0, "high": 1.0},
        "optimizer": {"type": "categorical", "choices": ["sgd", "adam"]},
        "epochs": 5,
    }
)


def _history(count: int, seed: int = 0) -> list[TrialRecord]:
    rng = np.random.default_rng(seed)
    history = []
    for number in range(count):
        params = SPACE.from_unit(rng.random(len(SPACE.names)))
        value = -((math.log10(params["learning_rate"]) + 2) ** 2) + 0.01 * rng.standard_normal()
        history.append(TrialRecord(number, params, "completed", value))
    return history


def test_parameter_that_determines_the_metric_ranks_above_noise() -> None:
    result = hyperparameter_importance(SPACE, _history(60), seed=1)
    importances = result["importances"]
    assert list(importances)[0] == "learning_rate"
    assert importances["learning_rate"] > 0.8
    assert sum(importances.values()) == pytest.approx(1.0)
    assert result["n_trials"] == 60 and "random forest" in result["method"]


def test_importance_is_deterministic_for_a_seed() -> None:
    history = _history(30)
    assert hyperparameter_importance(SPACE, history, seed=4) == hyperparameter_importance(
        SPACE, history, seed=4
    )


def test_importance_needs_enough_completed_trials() -> None:
    history = _history(8)
    history = [
        TrialRecord(t.number, t.params, "failed" if t.number > 3 else t.state, t.value) for t in history
    ]
    with pytest.raises(Conflict, match="need at least 5 completed trials"):
        hyperparameter_importance(SPACE, history, seed=0)


def test_constant_metric_gives_every_parameter_zero() -> None:
    history = [TrialRecord(t.number, t.params, "completed", 1.0) for t in _history(10)]
    assert set(hyperparameter_importance(SPACE, history, seed=0)["importances"].values()) == {0.0}


def test_a_full_fit_says_it_is_complete_and_what_it_stands_on() -> None:
    result = hyperparameter_importance(SPACE, _history(30), seed=2)
    assert result["complete"] is True
    assert (result["n_trees"], result["n_repeats"]) == (TREES, REPEATS)


def test_stop_ends_the_forest_early_and_the_answer_says_so() -> None:
    asked = []

    def stop_at_third_question() -> bool:
        asked.append(1)
        return len(asked) >= 3

    result = hyperparameter_importance(SPACE, _history(30), seed=2, stop=stop_at_third_question)
    assert result["complete"] is False
    assert result["n_trees"] == 2 * TREES_PER_BATCH, "two batches grown before the third question"
    assert result["n_repeats"] == 1, "one shuffle of every parameter, then stopped"
    assert set(result["importances"]) == set(SPACE.names)
    assert sum(result["importances"].values()) == pytest.approx(1.0)


def test_stop_from_the_start_still_answers_from_one_batch_of_each() -> None:
    result = hyperparameter_importance(SPACE, _history(30), seed=2, stop=lambda: True)
    assert (result["complete"], result["n_trees"], result["n_repeats"]) == (False, TREES_PER_BATCH, 1)
    assert list(result["importances"])[0] == "learning_rate"


class Abandoned(Exception):
    pass


def test_an_exception_from_stop_abandons_the_fit_at_once() -> None:
    asked = []

    def client_leaves_at_third_question() -> bool:
        asked.append(1)
        if len(asked) == 3:
            raise Abandoned
        return False

    with pytest.raises(Abandoned):
        hyperparameter_importance(SPACE, _history(30), seed=2, stop=client_leaves_at_third_question)
    assert len(asked) == 3, "no batch was started after the exception"
