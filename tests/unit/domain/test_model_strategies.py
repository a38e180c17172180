"""Model-based strategies (`bayes`, `coarse_to_fine` with the model sampler): determinism, pending
trials, conditional and categorical spaces, resuming from the stored state, and the zoom that follows
the results."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from app.domain.space import SearchSpace
from app.domain.strategies import Box, CoarseToFineStrategy, Strategy, TrialRecord, build_strategy
from app.domain.strategies._model import exploiting
from tests.unit.domain.helpers import example_space, run_sequentially

SPACE = example_space()
MODEL_STRATEGIES = [
    {"kind": "bayes"},
    {"kind": "coarse_to_fine", "trials_per_round": 6},
    {"kind": "coarse_to_fine", "trials_per_round": 6, "sampler": "model+tpe"},
]
IDS = ["bayes", "coarse_to_fine-model", "coarse_to_fine-model+tpe"]


def _build(
    raw: Mapping[str, Any], seed: int = 5, max_trials: int = 40, space: SearchSpace = SPACE
) -> Strategy:
    return build_strategy(dict(raw), space, seed=seed, direction="maximize", max_trials=max_trials)


def _objective(params: Mapping[str, Any]) -> float:
    """Best at learning_rate = 1e-2, beta1 = 0.99, with adam; a categorical and a conditional matter."""
    score = -((math.log10(params["learning_rate"]) + 2) ** 2) - (math.log10(1 - params["beta1"]) + 2) ** 2
    score -= 1.5 * (params["optimizer"] != "adam")
    if "beta2" in params:
        score -= 0.5 * (math.log10(1 - params["beta2"]) + 3) ** 2
    return score


def _completed(history: list[TrialRecord]) -> list[TrialRecord]:
    return [TrialRecord(t.number, t.params, "completed", _objective(t.params), t.round) for t in history]


def _warmed_up(
    raw: Mapping[str, Any], count: int = 12, seed: int = 5
) -> tuple[Strategy, list[TrialRecord], dict]:
    strategy = _build(raw, seed=seed)
    history, state = run_sequentially(_build({**raw}, seed=seed, max_trials=count), _objective, batch=3)
    return strategy, history, state


@pytest.mark.parametrize("raw", MODEL_STRATEGIES, ids=IDS)
def test_same_seed_and_history_give_the_same_proposals(raw: dict[str, Any]) -> None:
    first, history, state = _warmed_up(raw)
    second, _, _ = _warmed_up(raw)
    assert first.propose(history, state, 3) == second.propose(history, state, 3)


@pytest.mark.parametrize("raw", MODEL_STRATEGIES, ids=IDS)
def test_different_seeds_give_different_proposals(raw: dict[str, Any]) -> None:
    _, history, state = _warmed_up(raw)
    assert (
        _build(raw, seed=5).propose(history, state, 2)[0] != _build(raw, seed=6).propose(history, state, 2)[0]
    )


@pytest.mark.parametrize(
    "raw",
    [
        {"kind": "bayes"},
        {"kind": "coarse_to_fine", "trials_per_round": 8, "advance_when": 0.1},
        {"kind": "coarse_to_fine", "trials_per_round": 8, "advance_when": 0.1, "sampler": "model+tpe"},
    ],
    ids=IDS,
)
def test_eight_proposals_while_trials_run_are_distinct(raw: dict[str, Any]) -> None:
    strategy, history, state = _warmed_up(raw)
    running = [
        TrialRecord(len(history) + i, p.params, "running", None, p.round)
        for i, p in enumerate(strategy.propose(history, state, 4)[0])
    ]
    proposals, _ = strategy.propose([*history, *running], state, 8)
    configs = [json.dumps(p.params, sort_keys=True) for p in proposals]
    taken = {json.dumps(t.params, sort_keys=True) for t in [*history, *running]}
    assert len(proposals) == 8
    assert len(set(configs)) == 8 and not set(configs) & taken


@pytest.mark.parametrize("raw", MODEL_STRATEGIES, ids=IDS)
def test_a_pending_trial_changes_the_next_proposal(raw: dict[str, Any]) -> None:
    strategy, history, state = _warmed_up(raw)
    (alone,), _ = strategy.propose(history, state, 1)
    pending = TrialRecord(len(history), alone.params, "running", None, alone.round)
    (beside,), _ = strategy.propose([*history, pending], state, 1)
    assert beside.params != alone.params


@pytest.mark.parametrize("raw", MODEL_STRATEGIES, ids=IDS)
def test_a_restarted_strategy_continues_the_same_sequence(raw: dict[str, Any]) -> None:
    strategy, history, state = _warmed_up(raw)
    stored = json.loads(json.dumps(state))
    rebuilt = _build(json.loads(json.dumps(strategy.to_spec())))
    for _ in range(3):
        expected, state = strategy.propose(history, state, 2)
        got, stored = rebuilt.propose(history, stored, 2)
        assert got == expected
        stored = json.loads(json.dumps(stored))
        history = [
            *history,
            *_completed(
                [
                    TrialRecord(len(history) + i, p.params, "running", None, p.round)
                    for i, p in enumerate(expected)
                ]
            ),
        ]


@pytest.mark.parametrize("raw", MODEL_STRATEGIES, ids=IDS)
def test_proposals_respect_conditions_and_choices(raw: dict[str, Any]) -> None:
    history, _ = run_sequentially(_build(raw, max_trials=30), _objective, batch=4)
    for trial in history:
        assert SPACE.validate_params(trial.params, "params") == trial.params
        assert ("beta2" in trial.params) == (trial.params["optimizer"] in ("rmsprop", "adam"))
    late = [t.params["optimizer"] for t in history[15:]]
    assert late.count("adam") > len(late) / 2, "the model learns which choice is best"


@pytest.mark.parametrize("raw", MODEL_STRATEGIES, ids=IDS)
def test_model_beats_its_own_initial_design(raw: dict[str, Any]) -> None:
    history, _ = run_sequentially(_build(raw, max_trials=30), _objective, batch=1)
    design = max(t.value or -math.inf for t in history[:6])
    assert max(t.value or -math.inf for t in history) > design + 0.5


@pytest.mark.parametrize("raw", MODEL_STRATEGIES, ids=IDS)
def test_failed_trials_are_learned_from_not_crashed_on(raw: dict[str, Any]) -> None:
    def diverges_at_high_rates(params: Mapping[str, Any]) -> float:
        return math.nan if params["learning_rate"] > 0.05 else _objective(params)

    strategy = _build(raw, max_trials=40)
    history: list[TrialRecord] = []
    state: dict[str, Any] = {}
    while not strategy.is_exhausted(history, state):
        proposals, state = strategy.propose(history, state, 2)
        for proposal in proposals:
            value = diverges_at_high_rates(proposal.params)
            failed = math.isnan(value)
            history.append(
                TrialRecord(
                    len(history),
                    proposal.params,
                    "failed" if failed else "completed",
                    None if failed else value,
                    proposal.round,
                )
            )
    # A third of the learning-rate axis (log scale) diverges: uniform sampling would fail ~5 of 15.
    late_failures = sum(t.state == "failed" for t in history[-15:])
    assert late_failures <= 2


def test_a_tiny_discrete_space_is_covered_then_any_point_will_do() -> None:
    space = SearchSpace.from_spec(
        {
            "units": {"type": "int", "low": 1, "high": 3},
            "act": {"type": "categorical", "choices": ["relu", "tanh"]},
        }
    )
    strategy = _build({"kind": "bayes", "n_initial": 2}, max_trials=8, space=space)
    history, _ = run_sequentially(strategy, lambda p: p["units"] + (p["act"] == "relu"), batch=1)
    configs = [json.dumps(t.params, sort_keys=True) for t in history]
    assert len(set(configs)) == 6, "every configuration is tried"
    assert len(history) == 8


def test_describe_reports_the_lengthscales_the_model_learned() -> None:
    strategy, history, state = _warmed_up({"kind": "bayes"})
    _, state = strategy.propose(history, state, 1)
    described = json.loads(json.dumps(strategy.describe(state)))
    assert set(described["lengthscales"]) == set(SPACE.names)
    assert all(value > 0 for value in described["lengthscales"].values())


def _zooming(max_trials: int = 60, sampler: str = "model") -> CoarseToFineStrategy:
    raw = {"kind": "coarse_to_fine", "trials_per_round": 6, "sampler": sampler}
    strategy = _build(raw, max_trials=max_trials)
    assert isinstance(strategy, CoarseToFineStrategy)
    return strategy


def test_model_rounds_keep_every_categorical_choice_and_record_why_the_box_moved() -> None:
    history, state = run_sequentially(_zooming(), _objective, batch=6)
    rounds = state["rounds"]
    assert rounds[1]["reason"] == "zoom"
    assert {r["reason"] for r in rounds[2:]} <= {"grow", "shrink", "restart"}
    for entry in rounds[1:]:
        assert entry["box"]["choices"]["optimizer"] == [0, 1, 2]
        values = Box.from_json(entry["box"]).in_user_units(SPACE)
        for number in set(entry["trials"]) - set(entry.get("global", [])):
            _assert_inside(history[number].params, values)


def test_model_tpe_gives_every_third_point_of_a_round_to_tpe_over_the_whole_space_not_the_tail() -> None:
    strategy = _zooming(sampler="model+tpe")
    history, state = run_sequentially(strategy, _objective, batch=6)
    tail = {t.number for t in history if exploiting(t.number, strategy.max_trials)}
    for entry in state["rounds"][1:]:
        expected = [n for i, n in enumerate(entry["trials"]) if i % 3 == 2 and n not in tail]
        assert entry.get("global", []) == expected
    described = strategy.describe(state)["rounds"]
    assert [r["tpe_trials"] for r in described] == [r.get("global", []) for r in state["rounds"]]
    outside = [
        n
        for entry in state["rounds"][1:]
        for n in entry.get("global", [])
        if not _inside(history[n].params, Box.from_json(entry["box"]).in_user_units(SPACE))
    ]
    assert outside, "TPE looks beyond the box"
    _, plain = run_sequentially(_zooming(), _objective, batch=6)
    assert not any(entry.get("global") for entry in plain["rounds"]), "the model sampler alone"


def _inside(params: Mapping[str, Any], box_values: Mapping[str, Any]) -> bool:
    try:
        _assert_inside(params, box_values)
    except AssertionError:
        return False
    return True


def _assert_inside(params: Mapping[str, Any], box_values: Mapping[str, Any]) -> None:
    """Within the box as users read it (an integer's unit bucket may straddle the box's unit edge)."""
    for name, value in params.items():
        if name in box_values and not isinstance(value, str | bool) and name in SPACE.names:
            low, high = box_values[name]
            assert low * (1 - 1e-9) <= value <= high * (1 + 1e-9), (name, value, low, high)


def test_box_grows_after_a_round_that_improved_and_shrinks_after_one_that_did_not() -> None:
    history, state = run_sequentially(_zooming(), _objective, batch=6)
    rounds = state["rounds"]
    for before, after in zip(rounds[1:], rounds[2:], strict=False):
        if after["reason"] == "restart":
            continue
        ratio = {name: after["widths"][name] / before["widths"][name] for name in before["widths"]}
        expected = 2.0 if after["reason"] == "grow" else 0.5
        assert all(r == pytest.approx(expected) or after["widths"][n] == 1.0 for n, r in ratio.items())


def test_a_converged_box_restarts_on_the_whole_space() -> None:
    def flat(params: Mapping[str, Any]) -> float:
        return 1.0 if params["optimizer"] == "adam" else 0.0

    strategy = _build({"kind": "coarse_to_fine", "trials_per_round": 3}, max_trials=90)
    _, state = run_sequentially(strategy, flat, batch=3)
    restarts = [r for r in state["rounds"] if r.get("reason") == "restart"]
    assert restarts, "a search that stops improving must restart"
    assert Box.from_json(restarts[0]["box"]) == Box.whole(SPACE)


def test_coarse_round_is_a_sobol_design_over_the_whole_space() -> None:
    proposals, state = _zooming().propose([], {}, 6)
    assert [p.round for p in proposals] == [0] * 6
    assert Box.from_json(state["rounds"][0]["box"]) == Box.whole(SPACE)
    units = np.array([SPACE.to_unit(p.params) for p in proposals])
    assert np.nanmin(units[:, SPACE.names.index("learning_rate")]) < 0.25
    assert np.nanmax(units[:, SPACE.names.index("learning_rate")]) > 0.75
