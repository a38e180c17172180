"""A surrogate of a search's metric: a GP fitted to its finished trials, believing its pending ones.

Shared by the model-based strategies (`bayes` over the whole space, `coarse_to_fine` inside its box).
Failed and pruned trials count as the worst result seen, so the model learns to stay away from where
they happened. Trials still running are "believed" at the model's own prediction (the Kriging
believer): that removes the uncertainty there and sends the next proposal elsewhere, so 8 trials in
flight get 8 distinct points. (Believing them at the worst result instead, the constant liar that
Optuna's TPE uses, did worse on the benchmark with 8 in flight.) Everything is a deterministic function
of the history and the state.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from app.domain.strategies._acquisition import (
    Region,
    log_expected_improvement,
    maximise,
    point_key,
    point_keys,
)
from app.domain.strategies._base import TrialRecord
from app.domain.strategies._features import FeatureMap
from app.domain.strategies._gp import GaussianProcess, Hyperparameters, fit_hyperparameters
from app.domain.strategies._targets import model_targets

PENDING_STATES = frozenset({"queued", "running", "paused"})
FINISHED_STATES_FOR_MODEL = frozenset({"completed", "failed", "pruned"})
MAX_MODEL_POINTS = 200
"""The GP conditions on at most this many finished trials (the best half, then the most recent), which
bounds a proposal's cost however long a search runs; far-off, old, poor trials add little."""
MAX_FIT_POINTS = 100
"""Hyperparameters are fitted on at most this many of the model's points, chosen the same way."""
FIT_ITERATIONS = 50
REFIT_ITERATIONS = 20
"""A warm-started fit starts next to its optimum: a few steps suffice, and they are what the slowest
proposals of a long search cost."""
REFIT_EVERY = 0.05
"""A warm-started fit runs again once the finished trials grew by this fraction since the last fit (at
least one trial): the hyperparameters barely move from one trial to the next in a long search."""

EXPLOIT_FRACTION = 0.1
"""The last tenth of a budget goes to the point the model predicts best: no later trial can profit from
what exploring would teach, and with a noisy metric more trials near the optimum mean a better best."""

_BLAS = ThreadpoolController()
"""The matrices here are small: one BLAS thread is fastest, and on a busy machine several are far slower."""


@dataclass(frozen=True)
class FittedState:
    """The last fitted hyperparameters and how many finished trials they were fitted on (strategy state)."""

    hyper: Hyperparameters | None
    count: int

    def to_json(self) -> dict[str, Any]:
        assert self.hyper is not None
        return {"hyper": self.hyper.to_vector().tolist(), "fitted_on": self.count}

    @classmethod
    def from_state(cls, state: Mapping[str, Any] | None, width: int) -> FittedState:
        vector = (state or {}).get("hyper")
        if not vector or len(vector) != width + 2 or not all(math.isfinite(v) for v in vector):
            return cls(None, 0)
        hyper = Hyperparameters.from_vector(np.asarray(vector, dtype=float))
        return cls(hyper, int((state or {}).get("fitted_on", 0)))

    def is_due(self, finished: int) -> bool:
        return self.hyper is None or finished >= self.count + max(1, int(REFIT_EVERY * self.count))


class Surrogate:
    """The model of one proposal call: fit (or reuse) hyperparameters, then condition and score."""

    def __init__(
        self,
        features: FeatureMap,
        history: Sequence[TrialRecord],
        direction: str,
        fitted: FittedState,
    ) -> None:
        self.features = features
        units = features.history_units([t.params for t in history])
        self.taken = point_keys(units)
        self.taken_points = units
        """Every tried or pending point (snapped units), which a proposal keeps its distance from."""
        finished = [i for i, t in enumerate(history) if t.state in FINISHED_STATES_FOR_MODEL]
        targets = model_targets([history[i] for i in finished], direction)
        keep = kept_rows(targets, MAX_MODEL_POINTS)
        self.units = units[finished][keep]
        x = features.features(self.units)
        y = targets[keep]
        with _BLAS.limit(limits=1):
            if fitted.is_due(len(finished)):
                rows = kept_rows(y, MAX_FIT_POINTS)
                iterations = FIT_ITERATIONS if fitted.hyper is None else REFIT_ITERATIONS
                fitted = FittedState(
                    fit_hyperparameters(x[rows], y[rows], fitted.hyper, iterations), len(finished)
                )
            assert fitted.hyper is not None
            self.gp = GaussianProcess(x, y, fitted.hyper)
            mean, _ = self.gp.predict(x)
            pending = [i for i, t in enumerate(history) if t.state in PENDING_STATES]
            self._believe(units[pending])
        self.fitted = fitted
        self.best = float(np.min(mean))
        order = np.argsort(mean, kind="stable")
        self.incumbents = np.nan_to_num(self.units[order[:5]], nan=0.5)

    @classmethod
    def for_proposal(
        cls,
        features: FeatureMap,
        history: Sequence[TrialRecord],
        proposed: Sequence[Mapping[str, Any]],
        direction: str,
        state: Mapping[str, Any] | None,
    ) -> Surrogate:
        """The model of a proposal call: the history, the params already `proposed` in this call
        (pending like running trials), and the fit stored in the strategy `state`."""
        pending = [TrialRecord(-1, params, "queued", None) for params in proposed]
        fitted = FittedState.from_state(state, features.width)
        return cls(features, [*history, *pending], direction, fitted)

    def _believe(self, units: np.ndarray) -> None:
        if len(units):
            x = self.features.features(units)
            mean, _ = self.gp.predict(x)
            self.gp = self.gp.conditioned_on(x, mean)

    def expected_improvement(self, x: np.ndarray) -> np.ndarray:
        mean, std = self.gp.predict(x)
        return log_expected_improvement(mean, std, self.best)

    def predicted_best(self, x: np.ndarray) -> np.ndarray:
        mean, _ = self.gp.predict(x)
        return np.asarray(-mean)

    def next_point(
        self, rng: np.random.Generator, region: Region, *, exploit: bool = False, separate: bool = False
    ) -> np.ndarray:
        """The snapped unit point to try next inside `region`, by expected improvement or, when
        `exploit`, by the predicted value alone; it is believed pending from now on. With `separate`,
        it keeps `MIN_SEPARATION` from every tried or pending point where a candidate does."""
        score = self.predicted_best if exploit else self.expected_improvement
        apart_from = self.taken_points if separate else None
        with _BLAS.limit(limits=1):
            point = maximise(score, self.features, rng, self.incumbents, region, self.taken, apart_from)
            if point is None:  # every candidate was tried already (a tiny discrete space): any will do
                point = self.features.snap(region.uniform(rng, 1))[0]
        self.note_pending(point)
        return point

    def note_pending(self, point: np.ndarray) -> None:
        """A snapped unit point proposed in this call (by this model or another sampler): believed at the
        model's prediction and kept out of later proposals, like a running trial."""
        with _BLAS.limit(limits=1):
            self._believe(point.reshape(1, -1))
        self.taken.add(point_key(point))
        self.taken_points = np.vstack([self.taken_points, point.reshape(1, -1)])


def kept_rows(targets: np.ndarray, limit: int) -> np.ndarray:
    """Indices of at most `limit` rows: the best half, then the most recent; in their original order."""
    if len(targets) <= limit:
        return np.arange(len(targets))
    best = np.argsort(targets, kind="stable")[: limit // 2]
    chosen = set(best.tolist())
    recent = [i for i in range(len(targets) - 1, -1, -1) if i not in chosen][: limit - len(best)]
    return np.sort(np.concatenate([best, np.array(recent, dtype=int)]))


def exploiting(number: int, max_trials: int) -> bool:
    """Whether trial `number` belongs to the budget's exploitation tail."""
    return number >= max_trials - max(1, math.ceil(EXPLOIT_FRACTION * max_trials - 1e-9))


MIN_MODEL_RESULTS = 5
"""Completed results before a model chooses: fitted on fewer (as when 8 trials start at once and the
first few finish), its hyperparameters are noise, and later fits start from them."""


def learnable(history: Sequence[TrialRecord]) -> bool:
    """A model needs `MIN_MODEL_RESULTS` completed results, not all alike."""
    values = [t.value for t in history if t.has_result]
    return len(values) >= MIN_MODEL_RESULTS and len(set(values)) >= 2


def lengthscales(features: FeatureMap, names: Sequence[str], hyper: Hyperparameters) -> dict[str, float]:
    """The model's lengthscale per parameter in unit space: the smaller, the faster the metric changes."""
    scales = np.exp(hyper.log_lengthscales)
    return {name: round(float(np.min(scales[features.columns[axis]])), 4) for axis, name in enumerate(names)}
