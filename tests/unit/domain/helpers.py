"""Spaces and an ask-tell loop shared by the domain tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from app.domain.space import SearchSpace
from app.domain.strategies import Strategy, TrialRecord

EXAMPLE_SPACE: dict[str, Any] = {
    "learning_rate": {"type": "float", "low": 0.0001, "high": 1.0, "scale": "log"},
    "beta1": {"type": "float", "low": 0.8, "high": 0.999, "scale": "log1m"},
    "hidden_units": {"type": "int", "low": 16, "high": 256, "scale": "log"},
    "n_layers": {"type": "int", "low": 1, "high": 4},
    "optimizer": {"type": "categorical", "choices": ["momentum", "rmsprop", "adam"]},
    "batch_norm": {"type": "categorical", "choices": [True, False]},
    "beta2": {
        "type": "float",
        "low": 0.9,
        "high": 0.9999,
        "scale": "log1m",
        "when": {"optimizer": ["rmsprop", "adam"]},
    },
    "epochs": 20,
    "batch_size": 64,
}

ADAM_CONFIG: dict[str, Any] = {
    "learning_rate": 0.01,
    "beta1": 0.9,
    "hidden_units": 64,
    "n_layers": 2,
    "optimizer": "adam",
    "batch_norm": True,
    "beta2": 0.999,
}


def example_space() -> SearchSpace:
    return SearchSpace.from_spec(EXAMPLE_SPACE)


def run_sequentially(
    strategy: Strategy,
    objective: Callable[[Mapping[str, Any]], float],
    *,
    batch: int = 1,
    limit: int = 1000,
) -> tuple[list[TrialRecord], dict[str, Any]]:
    """Ask for `batch` proposals, complete them with `objective`, repeat until the strategy is exhausted."""
    history: list[TrialRecord] = []
    state: dict[str, Any] = {}
    while not strategy.is_exhausted(history, state) and len(history) < limit:
        proposals, state = strategy.propose(history, state, batch)
        assert proposals, "a strategy whose trials all finished must propose or be exhausted"
        for proposal in proposals:
            value = objective(proposal.params)
            history.append(TrialRecord(len(history), proposal.params, "completed", value, proposal.round))
    return history, state
