"""What a surrogate model is fitted to: each finished trial's metric as a standardised value to minimise."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from app.domain.strategies._base import TrialRecord

POWERS = np.linspace(-2.0, 2.0, 41)
"""The Yeo-Johnson exponents tried; a grid is as good as a 1-D optimiser here and costs one vector op."""


def model_targets(finished: Sequence[TrialRecord], direction: str) -> np.ndarray:
    """One value per trial, lower is better, roughly standard normal; shape (len(finished),).

    Completed trials give their metric (negated when maximising); failed and pruned ones the worst
    completed value, since they ended where the metric was bad or undefined. A Yeo-Johnson power
    transform (as HEBO does) then evens out skew, so that a few disastrous trials (a diverged learning
    rate, a chance-level accuracy) do not flatten the differences among the good ones, which are the
    differences the search needs to see.
    """
    sign = -1.0 if direction == "maximize" else 1.0
    raw = np.array([sign * float(t.value or 0.0) if t.has_result else np.nan for t in finished])
    done = raw[~np.isnan(raw)]
    raw[np.isnan(raw)] = float(np.max(done)) if done.size else 0.0
    standard = _standardised(raw)
    if np.ptp(standard) == 0.0:
        return standard
    return _standardised(_yeo_johnson(standard, _best_power(standard)))


def _yeo_johnson(values: np.ndarray, power: float) -> np.ndarray:
    positive = values >= 0
    out = np.empty_like(values)
    if abs(power) > 1e-9:
        out[positive] = ((values[positive] + 1) ** power - 1) / power
    else:
        out[positive] = np.log1p(values[positive])
    if abs(power - 2) > 1e-9:
        out[~positive] = -((1 - values[~positive]) ** (2 - power) - 1) / (2 - power)
    else:
        out[~positive] = -np.log1p(-values[~positive])
    return out


def _best_power(values: np.ndarray) -> float:
    """The exponent maximising the Gaussian log-likelihood of the transformed values."""
    scores = []
    log_jacobian = np.sum(np.sign(values) * np.log1p(np.abs(values)))
    for power in POWERS:
        variance = float(np.var(_yeo_johnson(values, float(power))))
        if not np.isfinite(variance) or variance <= 0:
            scores.append(-np.inf)
            continue
        scores.append(-0.5 * len(values) * np.log(variance) + (power - 1) * log_jacobian)
    return float(POWERS[int(np.argmax(scores))])


def _standardised(values: np.ndarray) -> np.ndarray:
    spread = float(np.std(values))
    centred = values - float(np.mean(values))
    return centred / spread if spread > 0 else centred
