"""Random and quasi-random (Sobol') search over the whole space."""

from __future__ import annotations

from typing import Any

from app.domain.strategies._base import PointwiseStrategy
from app.domain.strategies._box import Box
from app.domain.strategies._uniforms import sobol_points


class RandomStrategy(PointwiseStrategy):
    """Independent uniform draws in unit space, i.e. uniform on each parameter's own scale.

    Random search beats grid search at the same budget because only a few parameters usually matter
    (Bergstra & Bengio, 2012): n grid points try only n^(1/d) values of the important parameter,
    while n random points try n distinct values of every parameter.
    """

    kind = "random"

    def point(self, index: int, number: int) -> dict[str, Any]:
        uniforms = self.trial_rng(number).random(len(self.space.names))
        return self.space.from_unit(Box.whole(self.space).sample(self.space, uniforms))


class SobolStrategy(PointwiseStrategy):
    """A scrambled Sobol' sequence: like random search, but covering the cube more evenly.

    The k-th sampled trial takes the sequence's k-th point, whatever order the trials are asked for in.
    """

    kind = "sobol"

    def point(self, index: int, number: int) -> dict[str, Any]:
        uniforms = sobol_points([self.seed], index, 1, len(self.space.names))[0]
        return self.space.from_unit(Box.whole(self.space).sample(self.space, uniforms))
