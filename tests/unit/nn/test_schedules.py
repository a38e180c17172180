"""Learning-rate decay schedules, per epoch from epoch index 0."""

from __future__ import annotations

import math

import pytest

from workers.nn.schedules import learning_rate_at


def rates(name: str, decay_rate: float, decay_steps: int = 1, epochs: int = 5) -> list[float]:
    return [learning_rate_at(name, 0.1, epoch, decay_rate, decay_steps) for epoch in range(epochs)]


def test_none_keeps_the_learning_rate() -> None:
    assert rates("none", 0.5) == [0.1] * 5


def test_inverse_time_divides_by_one_plus_decay_rate_times_epoch() -> None:
    assert rates("inverse_time", 1.0) == pytest.approx([0.1, 0.1 / 2, 0.1 / 3, 0.1 / 4, 0.1 / 5])


def test_exponential_multiplies_by_decay_rate_each_epoch() -> None:
    assert rates("exponential", 0.5) == pytest.approx([0.1, 0.05, 0.025, 0.0125, 0.00625])


def test_inverse_sqrt_divides_by_the_root_of_the_epoch_number() -> None:
    assert rates("inverse_sqrt", 1.0) == pytest.approx([0.1 / math.sqrt(n) for n in range(1, 6)])


def test_staircase_multiplies_by_decay_rate_every_decay_steps_epochs() -> None:
    assert rates("staircase", 0.5, decay_steps=2, epochs=6) == pytest.approx(
        [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]
    )


def test_unknown_schedule_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown lr_decay"):
        learning_rate_at("cosine", 0.1, 0)
