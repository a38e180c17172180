"""Points of [0, 1)^d: independent uniforms per trial, or a scrambled Sobol' sequence by index."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def sobol_points(seed_parts: Sequence[int], start: int, count: int, dimensions: int) -> np.ndarray:
    """Points `start .. start + count - 1` of the scrambled Sobol' sequence seeded by `seed_parts`.

    The whole prefix up to the next power of two is drawn at once (`random_base2`), which keeps the
    sequence's balance properties and gives every index the same point however the calls are batched.
    Shape (count, dimensions).
    """
    if dimensions == 0 or count == 0:
        return np.zeros((count, dimensions))
    # scipy.stats is ~30 MB resident: a worker imports it with the first Sobol' proposal, not at start.
    from scipy.stats import qmc

    end = start + count
    engine = qmc.Sobol(dimensions, scramble=True, rng=np.random.default_rng(list(seed_parts)))
    prefix = engine.random_base2(max(0, math.ceil(math.log2(end))))
    return np.asarray(prefix[start:end], dtype=float)
