"""Median and ASHA pruning decisions on hand-made learning curves, in both directions."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.pruners import AshaPruner, CurveRecord, MedianPruner, NoPruner, build_pruner
from app.errors import InvalidSpec


def _completed(*values_at_step_2: float) -> list[CurveRecord]:
    return [CurveRecord("completed", {1: v, 2: v, 3: v}) for v in values_at_step_2]


def test_median_prunes_an_accuracy_below_the_median_when_maximizing() -> None:
    pruner = build_pruner({"kind": "median"}, direction="maximize")
    assert pruner.should_prune(2, {1: 0.5, 2: 0.5}, _completed(0.6, 0.65, 0.7, 0.75, 0.8))
    assert not pruner.should_prune(2, {1: 0.72, 2: 0.72}, _completed(0.6, 0.65, 0.7, 0.75, 0.8))


def test_median_prunes_a_loss_above_the_median_when_minimizing() -> None:
    pruner = build_pruner({"kind": "median"}, direction="minimize")
    assert pruner.should_prune(2, {2: 0.9}, _completed(0.6, 0.65, 0.7, 0.75, 0.8))
    assert not pruner.should_prune(2, {2: 0.68}, _completed(0.6, 0.65, 0.7, 0.75, 0.8))


def test_median_never_prunes_during_warmup() -> None:
    pruner = MedianPruner("maximize", warmup_steps=2)
    assert not pruner.should_prune(2, {2: 0.0}, _completed(0.6, 0.65, 0.7, 0.75, 0.8))
    assert pruner.should_prune(3, {3: 0.0}, _completed(0.6, 0.65, 0.7, 0.75, 0.8))


def test_median_waits_for_min_trials_completed_trials_at_that_step() -> None:
    pruner = MedianPruner("maximize", min_trials=3)
    others = [*_completed(0.6, 0.7), CurveRecord("running", {2: 0.9}), CurveRecord("completed", {1: 0.9})]
    assert not pruner.should_prune(2, {2: 0.0}, others)
    assert pruner.should_prune(2, {2: 0.0}, [*others, *_completed(0.8)])


def test_median_ignores_a_missing_own_value() -> None:
    assert not MedianPruner("maximize").should_prune(2, {1: 0.1}, _completed(0.6, 0.65, 0.7, 0.75, 0.8))


def _at(step: int, *values: float, state: str = "running") -> list[CurveRecord]:
    return [CurveRecord(state, {step: v}) for v in values]


def test_asha_only_decides_at_rungs() -> None:
    pruner = AshaPruner("maximize", reduction_factor=3, min_resource=1, max_resource=20)
    assert [s for s in range(1, 30) if pruner.is_rung(s)] == [1, 3, 9]


def test_asha_keeps_the_top_third_of_trials_at_a_rung_when_maximizing() -> None:
    pruner = AshaPruner("maximize")
    others = _at(3, 0.9, 0.8, 0.7, 0.6, 0.5)  # with this trial, 6 at the rung: keep the best 2
    assert not pruner.should_prune(3, {3: 0.85}, others)
    assert pruner.should_prune(3, {3: 0.75}, others)
    assert not pruner.should_prune(2, {2: 0.0}, others)


def test_asha_keeps_the_lowest_losses_when_minimizing() -> None:
    pruner = AshaPruner("minimize")
    others = _at(9, 0.1, 0.2, 0.3, 0.4, 0.5, state="completed")
    assert not pruner.should_prune(9, {9: 0.15}, others)
    assert pruner.should_prune(9, {9: 0.25}, others)


def test_asha_lets_the_first_trial_at_a_rung_continue() -> None:
    assert not AshaPruner("maximize").should_prune(1, {1: 0.0}, [])


def test_asha_counts_pruned_trials_that_reached_the_rung() -> None:
    others = [*_at(3, 0.9, state="pruned"), *_at(3, 0.8, state="failed")]
    assert AshaPruner("maximize").should_prune(3, {3: 0.5}, others)


def test_asha_does_not_prune_at_or_beyond_max_resource() -> None:
    pruner = AshaPruner("maximize", max_resource=9)
    assert not pruner.should_prune(9, {9: 0.0}, _at(9, 0.9, 0.8, 0.7))


def test_no_pruner_never_prunes() -> None:
    assert build_pruner(None, direction="maximize") == NoPruner()
    assert not build_pruner({"kind": "none"}, direction="minimize").should_prune(5, {5: 9.0}, _completed(0.1))


@pytest.mark.parametrize(
    ("raw", "spec"),
    [
        (None, {"kind": "none"}),
        ({"kind": "median"}, {"kind": "median", "warmup_steps": 1, "min_trials": 5}),
        ({"kind": "asha"}, {"kind": "asha", "reduction_factor": 3, "min_resource": 1, "max_resource": None}),
        (
            {"kind": "asha", "max_resource": 20},
            {"kind": "asha", "reduction_factor": 3, "min_resource": 1, "max_resource": 20},
        ),
    ],
)
def test_pruner_spec_has_defaults_filled_and_round_trips(raw: Any, spec: dict[str, Any]) -> None:
    pruner = build_pruner(raw, direction="maximize")
    assert pruner.to_spec() == spec
    assert build_pruner(spec, direction="maximize") == pruner


BAD_PRUNERS: list[tuple[str, Any, str]] = [
    ("not an object", "median", "pruner"),
    ("unknown kind", {"kind": "hyperband"}, "pruner.kind"),
    ("unknown option", {"kind": "median", "patience": 2}, "pruner.patience"),
    ("reduction factor 1", {"kind": "asha", "reduction_factor": 1}, "pruner.reduction_factor"),
    ("bool reduction factor", {"kind": "asha", "reduction_factor": True}, "pruner.reduction_factor"),
    ("NaN min resource", {"kind": "asha", "min_resource": float("nan")}, "pruner.min_resource"),
    ("max below min resource", {"kind": "asha", "min_resource": 3, "max_resource": 2}, "pruner.max_resource"),
    ("negative warmup", {"kind": "median", "warmup_steps": -1}, "pruner.warmup_steps"),
    ("zero min trials", {"kind": "median", "min_trials": 0}, "pruner.min_trials"),
]


@pytest.mark.parametrize(("raw", "field"), [c[1:] for c in BAD_PRUNERS], ids=[c[0] for c in BAD_PRUNERS])
def test_invalid_pruner_names_the_field(raw: Any, field: str) -> None:
    with pytest.raises(InvalidSpec) as caught:
        build_pruner(raw, direction="maximize")
    assert caught.value.field == field


def test_pruners_say_at_which_steps_they_judge() -> None:
    assert [MedianPruner("maximize", warmup_steps=2).judges_at(s) for s in (1, 2, 3)] == [False, False, True]
    asha = AshaPruner("maximize", reduction_factor=3, min_resource=1, max_resource=9)
    assert [s for s in range(1, 12) if asha.judges_at(s)] == [1, 3]
    assert not any(NoPruner().judges_at(s) for s in range(1, 5))
