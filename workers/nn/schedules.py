"""Learning-rate decay per epoch: α_e for epoch index e = 0, 1, 2, … (the first epoch uses α_0 = α)."""

from __future__ import annotations

import math
from collections.abc import Callable

Schedule = Callable[[float, int, float, int], float]


def constant(lr: float, epoch: int, decay_rate: float, decay_steps: int) -> float:
    """α_e = α."""
    return lr


def inverse_time(lr: float, epoch: int, decay_rate: float, decay_steps: int) -> float:
    """α_e = α / (1 + decay_rate · e)."""
    return lr / (1.0 + decay_rate * epoch)


def exponential(lr: float, epoch: int, decay_rate: float, decay_steps: int) -> float:
    """α_e = α · decay_rate^e (decay_rate in (0, 1])."""
    return lr * decay_rate**epoch


def inverse_sqrt(lr: float, epoch: int, decay_rate: float, decay_steps: int) -> float:
    """α_e = α / √(1 + decay_rate · e); decay_rate = 1 gives k/√(epoch number), k = α, epochs from 1."""
    return lr / math.sqrt(1.0 + decay_rate * epoch)


def staircase(lr: float, epoch: int, decay_rate: float, decay_steps: int) -> float:
    """α_e = α · decay_rate^⌊e / decay_steps⌋: multiplied by decay_rate every decay_steps epochs."""
    return lr * decay_rate ** (epoch // decay_steps)


SCHEDULES: dict[str, Schedule] = {
    "none": constant,
    "inverse_time": inverse_time,
    "exponential": exponential,
    "inverse_sqrt": inverse_sqrt,
    "staircase": staircase,
}


def learning_rate_at(
    name: str, lr: float, epoch: int, decay_rate: float = 1.0, decay_steps: int = 1
) -> float:
    """The learning rate of 0-based epoch `epoch` under schedule `name`."""
    try:
        schedule = SCHEDULES[name]
    except KeyError:
        raise ValueError(f"unknown lr_decay {name!r}; use one of {', '.join(SCHEDULES)}") from None
    return schedule(lr, epoch, decay_rate, decay_steps)
