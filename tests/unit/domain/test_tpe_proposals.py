"""coarse_to_fine's global proposals by TPE (app/domain/strategies/_tpe.py): valid configurations of a
conditional space, deterministic, aware of the trials still running, and bounded in what they read."""

from __future__ import annotations

import math

import numpy as np

from app.domain.strategies import TrialRecord
from app.domain.strategies._tpe import MAX_TPE_TRIALS, _shown, tpe_point
from tests.unit.domain.helpers import example_space

SPACE = example_space()


def _history(count: int, seed: int = 0) -> list[TrialRecord]:
    rng = np.random.default_rng(seed)
    history = []
    for number in range(count):
        params = SPACE.from_unit(rng.random(len(SPACE.names)))
        value = -((math.log10(params["learning_rate"]) + 2) ** 2) - 2.0 * (params["optimizer"] != "adam")
        history.append(TrialRecord(number, params, "completed", value))
    return history


def test_a_tpe_point_is_a_valid_configuration_with_its_conditions_held() -> None:
    history = _history(30)
    for seed in range(8):
        point = tpe_point(SPACE, history, "maximize", seed)
        params = SPACE.from_unit(np.nan_to_num(point, nan=0.5))
        assert SPACE.validate_params(params, "params") == params
        active = SPACE.active_names(params)
        for axis, name in enumerate(SPACE.names):
            assert math.isnan(point[axis]) == (name not in active), name


def test_the_same_history_and_seed_give_the_same_point_and_another_seed_another() -> None:
    history = _history(30)
    first = tpe_point(SPACE, history, "maximize", 3)
    np.testing.assert_array_equal(first, tpe_point(SPACE, history, "maximize", 3))
    assert not np.array_equal(np.nan_to_num(first), np.nan_to_num(tpe_point(SPACE, history, "maximize", 4)))


def test_trials_still_running_change_the_point() -> None:
    history = _history(30)
    alone = tpe_point(SPACE, history, "maximize", 3)
    params = SPACE.from_unit(np.nan_to_num(alone, nan=0.5))
    running = [*history, TrialRecord(30, params, "running", None)]
    assert not np.array_equal(np.nan_to_num(alone), np.nan_to_num(tpe_point(SPACE, running, "maximize", 3)))


def test_tpe_reads_at_most_its_cap_of_finished_trials_but_every_running_one() -> None:
    running = [TrialRecord(400 + i, t.params, "running", None) for i, t in enumerate(_history(5, seed=1))]
    history = [*_history(400), *running]
    shown = _shown(history, "maximize")
    finished = [t for t in shown if t.state == "completed"]
    assert len(finished) == MAX_TPE_TRIALS
    assert sum(t.state == "running" for t in shown) == 5
    best = sorted(history[:400], key=lambda t: -(t.value or 0.0))[: MAX_TPE_TRIALS // 2]
    assert {t.number for t in best} <= {t.number for t in finished}
    assert [t.number for t in shown] == sorted(t.number for t in shown)
