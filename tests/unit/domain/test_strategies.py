"""Random, Sobol' and grid strategies: seeding, warm starts, coverage, exhaustion, and their spec checks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.domain.space import SearchSpace
from app.domain.strategies import Strategy, TrialRecord, build_strategy
from app.errors import InvalidSpec
from tests.unit.domain.helpers import ADAM_CONFIG, EXAMPLE_SPACE, example_space, run_sequentially

KINDS = ["random", "sobol", "grid", "coarse_to_fine", "bayes"]


def _build(
    raw: dict[str, Any], seed: int = 7, max_trials: int = 30, space: SearchSpace | None = None
) -> Strategy:
    return build_strategy(
        raw, space or example_space(), seed=seed, direction="maximize", max_trials=max_trials
    )


def _first_proposals(raw: dict[str, Any], seed: int, n: int = 10) -> list[dict[str, Any]]:
    proposals, _ = _build(raw, seed).propose([], {}, n)
    return [p.params for p in proposals]


@pytest.mark.parametrize("kind", ["random", "sobol", "coarse_to_fine"])
def test_same_seed_gives_the_same_proposals(kind: str) -> None:
    assert _first_proposals({"kind": kind}, 7) == _first_proposals({"kind": kind}, 7)


@pytest.mark.parametrize("kind", ["random", "sobol", "coarse_to_fine"])
def test_different_seeds_give_different_proposals(kind: str) -> None:
    assert _first_proposals({"kind": kind}, 7) != _first_proposals({"kind": kind}, 8)


@pytest.mark.parametrize("kind", ["random", "sobol"])
def test_proposals_do_not_depend_on_how_they_are_batched(kind: str) -> None:
    strategy = _build({"kind": kind})
    one_go, _ = strategy.propose([], {}, 6)
    history: list[TrialRecord] = []
    for _ in range(6):
        (proposal,), _ = strategy.propose(history, {}, 1)
        history.append(TrialRecord(len(history), proposal.params, "running", None))
    assert [p.params for p in one_go] == [t.params for t in history]


@pytest.mark.parametrize("kind", KINDS)
def test_initial_configs_come_first(kind: str) -> None:
    second = {**ADAM_CONFIG, "optimizer": "momentum"}
    del second["beta2"]
    proposals, _ = _build({"kind": kind, "initial_configs": [ADAM_CONFIG, second]}).propose([], {}, 4)
    assert proposals[0].params == {**ADAM_CONFIG, "epochs": 20, "batch_size": 64}
    assert proposals[1].params["optimizer"] == "momentum" and "beta2" not in proposals[1].params
    assert proposals[2].params not in (proposals[0].params, proposals[1].params)


@pytest.mark.parametrize("kind", KINDS)
def test_proposals_lie_in_the_space(kind: str) -> None:
    space = example_space()
    history, _ = run_sequentially(
        _build({"kind": kind}, max_trials=30), lambda p: p["learning_rate"], batch=4
    )
    assert len(history) == 30
    for trial in history:
        assert space.validate_params(trial.params, "params") == trial.params


@pytest.mark.parametrize("kind", KINDS)
def test_strategy_spec_round_trips_with_defaults_filled(kind: str) -> None:
    strategy = _build({"kind": kind, "initial_configs": [ADAM_CONFIG]})
    canonical = json.loads(json.dumps(strategy.to_spec()))
    assert canonical["kind"] == kind
    assert canonical["initial_configs"][0]["epochs"] == 20
    assert _build(canonical).to_spec() == canonical


def test_no_proposals_beyond_the_trial_budget() -> None:
    strategy = _build({"kind": "random"}, max_trials=3)
    proposals, state = strategy.propose([], {}, 10)
    assert len(proposals) == 3
    history = [TrialRecord(i, p.params, "queued", None) for i, p in enumerate(proposals)]
    assert strategy.is_exhausted(history, state)


GRID_SPACE = {
    "lr": {"type": "float", "low": 1e-3, "high": 1e-1, "scale": "log"},
    "layers": {"type": "int", "low": 1, "high": 2},
    "optimizer": {"type": "categorical", "choices": ["sgd", "adam"]},
    "beta2": {"type": "float", "low": 0.9, "high": 0.99, "when": {"optimizer": ["adam"]}},
}


def test_grid_covers_every_point_once_in_a_fixed_order_then_exhausts() -> None:
    space = SearchSpace.from_spec(GRID_SPACE)
    strategy = build_strategy(
        {"kind": "grid", "points_per_axis": 3}, space, seed=1, direction="minimize", max_trials=100
    )
    history, state = run_sequentially(strategy, lambda p: p["lr"], batch=5)
    configs = [json.dumps(t.params, sort_keys=True) for t in history]
    # sgd: 3 lr x 2 layers; adam: 3 lr x 2 layers x 3 beta2 (beta2 is not varied where inactive).
    assert len(configs) == len(set(configs)) == 6 + 18
    assert sorted({t.params["lr"] for t in history}) == pytest.approx([1e-3, 1e-2, 1e-1])
    assert strategy.is_exhausted(history, state)
    assert strategy.propose(history, state, 5)[0] == []
    again, _ = run_sequentially(strategy, lambda p: p["lr"], batch=3)
    assert [t.params for t in again] == [t.params for t in history]


def test_grid_describe_lists_the_axis_values() -> None:
    space = SearchSpace.from_spec(GRID_SPACE)
    strategy = build_strategy(
        {"kind": "grid", "points_per_axis": 3}, space, seed=1, direction="minimize", max_trials=5
    )
    described = strategy.describe({})
    assert described["size"] == 24
    assert described["axes"]["layers"] == [1, 2]


BAD_STRATEGIES: list[tuple[str, Any, str]] = [
    ("not an object", "random", "strategy"),
    ("unknown kind", {"kind": "bayes-magic"}, "strategy.kind"),
    ("unknown option", {"kind": "random", "rounds": 3}, "strategy.rounds"),
    ("zero points per axis", {"kind": "grid", "points_per_axis": 0}, "strategy.points_per_axis"),
    ("zero rounds", {"kind": "coarse_to_fine", "rounds": 0}, "strategy.rounds"),
    ("bool rounds", {"kind": "coarse_to_fine", "rounds": True}, "strategy.rounds"),
    (
        "fractional trials per round",
        {"kind": "coarse_to_fine", "trials_per_round": 2.5},
        "strategy.trials_per_round",
    ),
    ("top fraction above 1", {"kind": "coarse_to_fine", "top_fraction": 1.5}, "strategy.top_fraction"),
    ("top fraction 0", {"kind": "coarse_to_fine", "top_fraction": 0}, "strategy.top_fraction"),
    ("NaN top fraction", {"kind": "coarse_to_fine", "top_fraction": float("nan")}, "strategy.top_fraction"),
    ("both top options", {"kind": "coarse_to_fine", "top_fraction": 0.2, "top_k": 3}, "strategy.top_k"),
    ("zero top k", {"kind": "coarse_to_fine", "top_k": 0}, "strategy.top_k"),
    ("negative margin", {"kind": "coarse_to_fine", "margin": -0.1}, "strategy.margin"),
    ("infinite margin", {"kind": "coarse_to_fine", "margin": float("inf")}, "strategy.margin"),
    ("advance_when 0", {"kind": "coarse_to_fine", "advance_when": 0}, "strategy.advance_when"),
    ("unknown sampler", {"kind": "coarse_to_fine", "sampler": "tpe"}, "strategy.sampler"),
    ("zero initial trials", {"kind": "bayes", "n_initial": 0}, "strategy.n_initial"),
    ("fractional initial trials", {"kind": "bayes", "n_initial": 2.5}, "strategy.n_initial"),
    ("classic option on bayes", {"kind": "bayes", "top_k": 3}, "strategy.top_k"),
    ("initial configs not a list", {"kind": "random", "initial_configs": {}}, "strategy.initial_configs"),
    (
        "initial config outside the space",
        {"kind": "sobol", "initial_configs": [ADAM_CONFIG, {**ADAM_CONFIG, "optimizer": "sgd"}]},
        "strategy.initial_configs[1].optimizer",
    ),
    (
        "more initial configs than trials",
        {"kind": "random", "initial_configs": [ADAM_CONFIG] * 31},
        "strategy.initial_configs",
    ),
]


@pytest.mark.parametrize(
    ("raw", "field"), [c[1:] for c in BAD_STRATEGIES], ids=[c[0] for c in BAD_STRATEGIES]
)
def test_invalid_strategy_names_the_field(raw: Any, field: str) -> None:
    with pytest.raises(InvalidSpec) as caught:
        _build(raw)
    assert caught.value.field == field
    assert caught.value.message


def test_fixed_params_may_be_omitted_from_initial_configs() -> None:
    assert "epochs" not in ADAM_CONFIG and EXAMPLE_SPACE["epochs"] == 20
    strategy = _build({"kind": "random", "initial_configs": [ADAM_CONFIG]})
    assert strategy.initial_configs[0]["epochs"] == 20
