"""Classic coarse-to-fine (sampler sobol): rounds open on results, boxes stay in bounds and hold the best."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from app.domain.strategies import Box, CoarseToFineStrategy, TrialRecord, build_strategy, zoom
from tests.unit.domain.helpers import example_space, run_sequentially

SPACE = example_space()
D = len(SPACE.names)


def _strategy(max_trials: int = 30, **options: Any) -> CoarseToFineStrategy:
    raw = {"kind": "coarse_to_fine", "rounds": 3, "trials_per_round": 10, "sampler": "sobol", **options}
    strategy = build_strategy(raw, SPACE, seed=3, direction="maximize", max_trials=max_trials)
    assert isinstance(strategy, CoarseToFineStrategy)
    return strategy


def _objective(params: Mapping[str, Any]) -> float:
    """Best at learning_rate = 1e-2 with adam."""
    return -abs(math.log10(params["learning_rate"]) + 2) - 2.0 * (params["optimizer"] != "adam")


unit_points = arrays(np.float64, st.tuples(st.integers(1, 6), st.just(D)), elements=st.floats(0.0, 1.0))


@settings(deadline=None)
@given(points=unit_points, margin=st.floats(0.0, 1.0), lo=st.floats(0.0, 0.5), width=st.floats(0.0, 0.5))
def test_zoom_box_lies_inside_the_unit_cube_and_contains_the_best_points(
    points: np.ndarray, margin: float, lo: float, width: float
) -> None:
    whole = Box.whole(SPACE)
    parent = Box({name: (lo, lo + width) for name in whole.intervals}, whole.choices)
    box = zoom(SPACE, parent, points, margin)
    for low, high in box.intervals.values():
        assert 0.0 <= low <= high <= 1.0
    for point in points:
        assert box.contains(SPACE, point)


def test_zoom_ignores_inactive_coordinates_and_keeps_the_parent_range_for_unused_axes() -> None:
    points = np.full((2, D), 0.5)
    points[:, SPACE.names.index("beta2")] = np.nan
    box = zoom(SPACE, Box.whole(SPACE), points, margin=0.1)
    assert box.intervals["beta2"] == (0.0, 1.0)
    assert box.intervals["learning_rate"] == (0.4, 0.6)


def test_next_round_samples_inside_a_box_around_the_best_trials() -> None:
    history, state = run_sequentially(_strategy(), _objective, batch=4)
    rounds = state["rounds"]
    assert [r["round"] for r in rounds] == [0, 1, 2]
    assert [len(r["trials"]) for r in rounds] == [10, 10, 10]
    for entry in rounds[1:]:
        box = Box.from_json(entry["box"])
        best = [history[number] for number in entry["best"]]
        assert all(box.contains(SPACE, SPACE.to_unit(t.params)) for t in best)
        members = [history[number] for number in entry["trials"]]
        assert all(
            t.round == entry["round"] and box.contains(SPACE, SPACE.to_unit(t.params)) for t in members
        )
    widths = [np.diff(Box.from_json(r["box"]).intervals["learning_rate"])[0] for r in rounds]
    assert widths[2] <= widths[1] < widths[0] == 1.0


def test_categoricals_narrow_to_the_choices_seen_among_the_best() -> None:
    history, state = run_sequentially(_strategy(top_k=2), _objective, batch=10)
    assert state["rounds"][1]["box"]["choices"]["optimizer"] == [2]
    assert {t.params["optimizer"] for t in history if t.round == 1} == {"adam"}


def test_next_round_opens_once_advance_when_of_the_round_has_finished() -> None:
    strategy = _strategy(advance_when=0.8)
    proposals, state = strategy.propose([], {}, 20)
    assert len(proposals) == 10
    history = [TrialRecord(i, p.params, "running", None, p.round) for i, p in enumerate(proposals)]

    def finish(count: int) -> list[TrialRecord]:
        return [
            TrialRecord(t.number, t.params, "completed", _objective(t.params), t.round)
            if t.number < count
            else t
            for t in history
        ]

    assert strategy.propose(finish(7), state, 5)[0] == []
    opened, state = strategy.propose(finish(8), state, 5)
    assert [p.round for p in opened] == [1] * 5
    assert state["rounds"][1]["best"] and set(state["rounds"][1]["best"]) <= set(range(8))


def test_strategy_waits_rather_than_exhausts_while_the_round_runs() -> None:
    strategy = _strategy()
    proposals, state = strategy.propose([], {}, 10)
    running = [TrialRecord(i, p.params, "running", None, 0) for i, p in enumerate(proposals)]
    assert strategy.propose(running, state, 4) == ([], state)
    assert not strategy.is_exhausted(running, state)


def test_failed_and_pruned_trials_finish_a_round_but_are_never_best() -> None:
    strategy = _strategy(top_k=1)
    proposals, state = strategy.propose([], {}, 10)
    history = [
        TrialRecord(i, p.params, "failed" if i < 5 else "pruned" if i < 9 else "completed", None, 0)
        for i, p in enumerate(proposals)
    ]
    history[9] = TrialRecord(9, proposals[9].params, "completed", 0.5, 0)
    _, state = strategy.propose(history, state, 1)
    assert state["rounds"][1]["best"] == [9]


def test_round_with_no_completed_trial_keeps_the_previous_box() -> None:
    strategy = _strategy()
    proposals, state = strategy.propose([], {}, 10)
    history = [TrialRecord(i, p.params, "failed", None, 0) for i, p in enumerate(proposals)]
    _, state = strategy.propose(history, state, 1)
    assert state["rounds"][1]["box"] == state["rounds"][0]["box"]


def test_a_restarted_strategy_resumes_with_the_stored_state() -> None:
    strategy = _strategy()
    history, state = run_sequentially(_strategy(max_trials=15), _objective, batch=5)
    stored = json.loads(json.dumps(state))
    rebuilt = build_strategy(
        json.loads(json.dumps(strategy.to_spec())), SPACE, seed=3, direction="maximize", max_trials=30
    )
    assert rebuilt.propose(history, stored, 5) == strategy.propose(history, state, 5)


def test_exhausted_after_the_last_round_is_full() -> None:
    strategy = _strategy()
    history, state = run_sequentially(strategy, _objective, batch=7)
    assert len(history) == 30
    assert strategy.is_exhausted(history, state)
    assert strategy.propose(history, state, 5)[0] == []


def test_describe_reports_each_round_with_its_box_and_trials() -> None:
    strategy = _strategy()
    _, state = run_sequentially(strategy, _objective, batch=10)
    described = json.loads(json.dumps(strategy.describe(state)))
    assert described["kind"] == "coarse_to_fine"
    second = described["rounds"][1]
    assert second["trials"] == list(range(10, 20))
    low, high = second["box"]["values"]["learning_rate"]
    assert 1e-4 <= low < high <= 1.0
    assert second["box"]["unit"]["intervals"]["learning_rate"][0] >= 0.0


def test_warm_start_configs_belong_to_round_zero() -> None:
    config = SPACE.from_unit([0.5] * D)
    strategy = _strategy(initial_configs=[config])
    proposals, _ = strategy.propose([], {}, 12)
    assert proposals[0].params == config
    assert [p.round for p in proposals] == [0] * 10


def _spec_for(raw: dict[str, Any], max_trials: int) -> dict[str, Any]:
    return build_strategy(raw, SPACE, seed=1, direction="minimize", max_trials=max_trials).to_spec()


def test_default_rounds_are_rounds_of_ten_until_the_budget_is_spent() -> None:
    spec = _spec_for({"kind": "coarse_to_fine"}, 64)
    assert (spec["rounds"], spec["trials_per_round"], spec["top_fraction"]) == (7, 10, 0.3)


def test_given_rounds_split_the_budget_evenly() -> None:
    spec = _spec_for({"kind": "coarse_to_fine", "rounds": 3}, 64)
    assert (spec["rounds"], spec["trials_per_round"]) == (3, 22)


def test_top_fraction_counts_against_the_round_size() -> None:
    strategy = _strategy(top_fraction=0.2)
    assert strategy.top_count == 2
    history, state = run_sequentially(strategy, _objective, batch=10)
    assert [len(r["best"]) for r in state["rounds"]] == [0, 2, 2]
