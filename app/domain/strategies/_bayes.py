"""Bayesian optimisation: a Gaussian process learns the metric from the trials so far and picks the next.

The first trials come from a scrambled Sobol' design (after any warm-start configs); from then on each
proposal maximises log expected improvement under the GP (`Surrogate`), over the whole space; the
last tenth of the budget takes the point the model predicts best.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from app.domain.strategies._acquisition import Region
from app.domain.strategies._base import Proposal, Strategy, TrialRecord
from app.domain.strategies._features import FeatureMap
from app.domain.strategies._model import FittedState, Surrogate, exploiting, learnable, lengthscales
from app.domain.strategies._uniforms import sobol_points


class BayesStrategy(Strategy):
    """GP-based Bayesian optimisation over the whole space, `n_initial` Sobol' trials first."""

    kind = "bayes"

    def __init__(self, *args: Any, n_initial: int | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.n_initial = n_initial if n_initial is not None else default_initial_trials(len(self.space.names))
        self.features = FeatureMap(self.space)

    def propose(
        self, history: Sequence[TrialRecord], state: Mapping[str, Any], n: int
    ) -> tuple[list[Proposal], dict[str, Any]]:
        proposals: list[Proposal] = []
        new_state = dict(state or {})
        surrogate: Surrogate | None = None
        for number in range(len(history), len(history) + self.room(history, n)):
            if number < len(self.initial_configs):
                proposals.append(Proposal(dict(self.initial_configs[number])))
                continue
            if number < max(self.n_initial, len(self.initial_configs)) or not learnable(history):
                proposals.append(Proposal(self.design_point(number)))
                continue
            if surrogate is None:
                proposed = [p.params for p in proposals]
                surrogate = Surrogate.for_proposal(self.features, history, proposed, self.direction, state)
                new_state.update(surrogate.fitted.to_json())
            point = surrogate.next_point(
                self.trial_rng(number),
                Region.whole(len(self.space.names)),
                exploit=exploiting(number, self.max_trials),
            )
            proposals.append(Proposal(self.space.from_unit(np.nan_to_num(point, nan=0.5))))
        return proposals, new_state

    def design_point(self, number: int) -> dict[str, Any]:
        """Trial `number` of the scrambled Sobol' design over the whole space."""
        uniforms = sobol_points([self.seed], number, 1, len(self.space.names))[0]
        return self.space.from_unit(uniforms)

    def is_exhausted(self, history: Sequence[TrialRecord], state: Mapping[str, Any]) -> bool:
        return len(history) >= self.max_trials

    def describe(self, state: Mapping[str, Any]) -> dict[str, Any]:
        described: dict[str, Any] = {"kind": self.kind, "n_initial": self.n_initial}
        fitted = FittedState.from_state(state, self.features.width)
        if fitted.hyper is not None:
            described["lengthscales"] = lengthscales(self.features, self.space.names, fitted.hyper)
        return described

    def options(self) -> dict[str, Any]:
        return {"n_initial": self.n_initial}


def default_initial_trials(dimensions: int) -> int:
    """Sobol' trials before the model takes over: d + 1, at least 5 and at most 10 (TPE starts after 10)."""
    return min(10, max(5, dimensions + 1))
