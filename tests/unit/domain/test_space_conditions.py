"""Conditional parameters exist only when their condition holds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.space import SearchSpace
from tests.unit.domain.helpers import example_space

SPACE = example_space()
OPTIMIZER_AXIS = SPACE.names.index("optimizer")


def _point_with_optimizer(choice_index: int) -> list[float]:
    point = [0.5] * len(SPACE.names)
    point[OPTIMIZER_AXIS] = (choice_index + 0.5) / 3
    return point


def test_conditional_parameter_is_absent_when_its_condition_fails() -> None:
    params = SPACE.from_unit(_point_with_optimizer(0))
    assert params["optimizer"] == "momentum"
    assert "beta2" not in params


@pytest.mark.parametrize("choice_index", [1, 2])
def test_conditional_parameter_is_present_when_its_condition_holds(choice_index: int) -> None:
    params = SPACE.from_unit(_point_with_optimizer(choice_index))
    assert 0.9 <= params["beta2"] <= 0.9999


def test_to_unit_gives_nan_for_an_inactive_parameter() -> None:
    unit = SPACE.to_unit(SPACE.from_unit(_point_with_optimizer(0)))
    assert np.isnan(unit[SPACE.names.index("beta2")])
    assert not np.isnan(np.delete(unit, SPACE.names.index("beta2"))).any()


def test_inactive_coordinate_may_be_nan_in_from_unit() -> None:
    point = _point_with_optimizer(0)
    point[SPACE.names.index("beta2")] = float("nan")
    assert "beta2" not in SPACE.from_unit(point)


def test_nan_coordinate_of_an_active_parameter_is_an_error() -> None:
    point = _point_with_optimizer(2)
    point[SPACE.names.index("beta2")] = float("nan")
    with pytest.raises(ValueError, match="beta2"):
        SPACE.from_unit(point)


CHAINED = SearchSpace.from_spec(
    {
        "model": {"type": "categorical", "choices": ["linear", "mlp"]},
        "activation": {"type": "categorical", "choices": ["relu", "tanh"], "when": {"model": ["mlp"]}},
        "leak": {"type": "float", "low": 0.0, "high": 0.3, "when": {"activation": ["relu"]}},
    }
)


@settings(deadline=None)
@given(point=st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3))
def test_a_parameter_conditional_on_an_inactive_one_is_inactive(point: list[float]) -> None:
    params = CHAINED.from_unit(point)
    assert ("activation" in params) == (params["model"] == "mlp")
    assert ("leak" in params) == (params.get("activation") == "relu")


def test_condition_may_refer_to_a_fixed_parameter() -> None:
    space = SearchSpace.from_spec(
        {
            "optimizer": "adam",
            "beta2": {"type": "float", "low": 0.9, "high": 0.99, "when": {"optimizer": ["adam"]}},
        }
    )
    assert "beta2" in space.from_unit([0.5])
    assert space.to_spec()["beta2"]["when"] == {"optimizer": ["adam"]}
