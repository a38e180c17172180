"""Parameter value objects: unit-space round trips, bounds, and the JSON round trip of whole spaces."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.space import CategoricalParam, FixedParam, FloatParam, IntParam, ParamError, SearchSpace
from tests.unit.domain.helpers import EXAMPLE_SPACE, example_space

units = st.floats(min_value=0.0, max_value=1.0)

FLOATS = [
    FloatParam(-3.0, 5.0),
    FloatParam(1e-4, 1.0, "log"),
    FloatParam(0.8, 0.999, "log1m"),
    FloatParam(-1.0, 0.5, "log1m"),
]


@pytest.mark.parametrize("param", FLOATS, ids=lambda p: p.scale)
@settings(deadline=None)
@given(unit=units)
def test_float_from_unit_then_to_unit_returns_the_unit_coordinate(param: FloatParam, unit: float) -> None:
    value = param.from_unit(unit)
    assert param.low <= value <= param.high
    assert param.to_unit(value) == pytest.approx(unit, abs=1e-9)


@pytest.mark.parametrize("param", FLOATS, ids=lambda p: p.scale)
def test_float_unit_ends_map_to_the_bounds(param: FloatParam) -> None:
    assert param.from_unit(0.0) == pytest.approx(param.low)
    assert param.from_unit(1.0) == pytest.approx(param.high)


def test_log1m_midpoint_is_the_geometric_midpoint_of_one_minus_beta() -> None:
    param = FloatParam(0.9, 0.999, "log1m")
    assert param.from_unit(0.5) == pytest.approx(1 - math.sqrt(0.1 * 0.001))


@pytest.mark.parametrize(
    "param", [IntParam(1, 4), IntParam(16, 256, "log"), IntParam(1, 1000, "log")], ids=str
)
@settings(deadline=None)
@given(data=st.data())
def test_int_to_unit_then_from_unit_returns_the_value(param: IntParam, data: st.DataObject) -> None:
    value = data.draw(st.integers(param.low, param.high))
    assert param.from_unit(param.to_unit(value)) == value


@settings(deadline=None)
@given(unit=units)
def test_int_from_unit_stays_within_bounds(unit: float) -> None:
    for param in (IntParam(1, 4), IntParam(16, 256, "log")):
        assert param.low <= param.from_unit(unit) <= param.high


def test_every_int_of_a_linear_range_owns_an_equal_share_of_the_unit_interval() -> None:
    param = IntParam(1, 4)
    assert [param.from_unit(u) for u in (0.1, 0.3, 0.6, 0.9)] == [1, 2, 3, 4]


@settings(deadline=None)
@given(unit=units)
def test_categorical_round_trips_through_its_slice_centre(unit: float) -> None:
    param = CategoricalParam(("momentum", "rmsprop", "adam"))
    choice = param.from_unit(unit)
    assert param.from_unit(param.to_unit(choice)) == choice


def test_categorical_keeps_true_apart_from_one() -> None:
    param = CategoricalParam((1, True, None))
    assert param.index(True) == 1
    assert param.index(1) == 0
    assert param.from_unit(param.to_unit(None)) is None


def test_value_objects_are_validated_in_the_constructor() -> None:
    with pytest.raises(ParamError, match=r"`low <= high` must hold, got low=2, high=1"):
        FloatParam(2, 1)


def test_fixed_param_keeps_its_value() -> None:
    assert FixedParam([64, 32]).to_spec() == [64, 32]
    assert FixedParam({"a": 1}).to_spec() == {"type": "fixed", "value": {"a": 1}}


def test_space_round_trips_through_its_canonical_json() -> None:
    space = example_space()
    canonical = json.loads(json.dumps(space.to_spec()))
    assert SearchSpace.from_spec(canonical) == space
    assert canonical["n_layers"]["scale"] == "linear"
    assert canonical["epochs"] == 20


def test_axes_do_not_depend_on_the_order_of_the_spec_keys() -> None:
    reversed_spec = dict(reversed(list(EXAMPLE_SPACE.items())))
    assert SearchSpace.from_spec(reversed_spec).names == example_space().names


def test_names_are_the_tunable_parameters_and_fixed_holds_the_rest() -> None:
    space = example_space()
    assert set(space.names) == {
        "learning_rate",
        "beta1",
        "hidden_units",
        "n_layers",
        "optimizer",
        "batch_norm",
        "beta2",
    }
    assert space.fixed() == {"epochs": 20, "batch_size": 64}


@settings(deadline=None)
@given(point=st.lists(units, min_size=7, max_size=7))
def test_space_from_unit_then_to_unit_is_stable(point: list[float]) -> None:
    space = example_space()
    params = space.from_unit(point)
    assert space.from_unit(list(space.to_unit(params))) == params
