"""Population Based Training's decisions: who is exploited, whom it copies, how it explores."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest

from app.domain.space import SearchSpace
from app.domain.strategies import build_strategy
from app.domain.strategies._pbt import (
    Peer,
    PopulationBasedTraining,
    choose_donor,
    exploit_rng,
    explore,
    judged_at,
    quantile_size,
)
from app.errors import InvalidSpec

SPACE = SearchSpace.from_spec(
    {
        "learning_rate": {"type": "float", "low": 1e-4, "high": 1.0, "scale": "log"},
        "beta": {"type": "float", "low": 0.8, "high": 0.999, "scale": "log1m"},
        "hidden_units": {"type": "int", "low": 4, "high": 64},
        "optimizer": {"type": "categorical", "choices": ["gd", "momentum", "adam"]},
        "epochs": 20,
    }
)
PARAMS: dict[str, Any] = {
    "learning_rate": 0.01,
    "beta": 0.9,
    "hidden_units": 16,
    "optimizer": "momentum",
    "epochs": 20,
}


def pbt(**options: Any) -> PopulationBasedTraining:
    strategy = build_strategy({"kind": "pbt", **options}, SPACE, seed=3, direction="maximize", max_trials=40)
    assert isinstance(strategy, PopulationBasedTraining)
    return strategy


def test_the_population_is_proposed_once_and_then_nothing() -> None:
    strategy = pbt(population=6)
    first, state = strategy.propose([], {}, 4)
    rest, state = strategy.propose([], state, 10)
    more, state = strategy.propose([], state, 10)
    assert (len(first), len(rest), more) == (4, 2, [])
    assert strategy.is_exhausted([], state)
    assert len({tuple(sorted(p.params.items())) for p in first + rest}) == 6  # six distinct members


def test_the_population_is_the_same_for_the_same_seed() -> None:
    assert pbt().propose([], {}, 8)[0] == pbt().propose([], {}, 8)[0]


@pytest.mark.parametrize(
    ("option", "value", "field"),
    [
        ("population", 1, "strategy.population"),
        ("population", 41, "strategy.population"),
        ("interval", 0, "strategy.interval"),
        ("quantile", 0.6, "strategy.quantile"),
        ("resample_probability", 1.5, "strategy.resample_probability"),
        ("rounds", 3, "strategy.rounds"),
    ],
)
def test_bad_options_name_their_field(option: str, value: Any, field: str) -> None:
    with pytest.raises(InvalidSpec) as caught:
        pbt(**{option: value})
    assert caught.value.field == field


def test_members_are_judged_every_interval_but_never_after_the_last_epoch() -> None:
    options = pbt(interval=4).pbt
    assert [step for step in range(1, 21) if judged_at(step, options, 20)] == [4, 8, 12, 16]


@pytest.mark.parametrize(("members", "size"), [(2, 1), (3, 1), (4, 1), (5, 2), (8, 2), (9, 3)])
def test_the_quantile_is_a_ceiling_and_at_most_half(members: int, size: int) -> None:
    assert quantile_size(members, 0.25) == size


def test_a_bottom_member_copies_a_top_one_and_a_middle_one_continues() -> None:
    peers = [Peer(1, 0.9), Peer(2, 0.8), Peer(3, 0.5), Peer(4, 0.4), Peer(5, 0.3), Peer(6, 0.2), Peer(7, 0.1)]
    donors = Counter(
        choose_donor(
            Peer(8, 0.05), peers, quantile=0.25, direction="maximize", rng=np.random.default_rng(seed)
        )
        for seed in range(200)
    )
    assert set(donors) == {1, 2}  # the top quarter of eight
    middle = choose_donor(
        Peer(8, 0.45), peers, quantile=0.25, direction="maximize", rng=np.random.default_rng(0)
    )
    assert middle is None


def test_minimizing_flips_the_ranking_and_a_diverged_member_is_the_worst() -> None:
    peers = [Peer(1, 0.1), Peer(2, 5.0), Peer(3, 1.0)]
    assert (
        choose_donor(Peer(4, None), peers, quantile=0.25, direction="minimize", rng=np.random.default_rng(0))
        == 1
    )
    assert (
        choose_donor(Peer(4, 0.05), peers, quantile=0.25, direction="minimize", rng=np.random.default_rng(0))
        is None
    )


def test_alone_a_member_continues() -> None:
    assert (
        choose_donor(Peer(1, 0.0), [], quantile=0.5, direction="maximize", rng=np.random.default_rng(0))
        is None
    )


def test_explore_moves_live_values_by_the_factors_on_their_own_quantity() -> None:
    seen: dict[str, set[Any]] = {
        "learning_rate": set(),
        "beta": set(),
        "hidden_units": set(),
        "optimizer": set(),
    }
    for seed in range(100):
        changes = explore(
            PARAMS, SPACE, list(seen), resample_probability=0.0, rng=np.random.default_rng(seed)
        )
        for name, value in changes.items():
            seen[name].add(value)
    assert sorted(seen["learning_rate"]) == pytest.approx([0.008, 0.012])
    assert sorted(seen["beta"]) == pytest.approx([0.88, 0.92])  # 1 - β moves, β stays below 1
    assert seen["hidden_units"] == {13, 19}
    assert seen["optimizer"] == {"gd", "adam"}


def test_explore_touches_only_live_tunable_params_and_stays_in_range() -> None:
    edge = {**PARAMS, "learning_rate": 1.0, "beta": 0.999}
    for seed in range(50):
        changes = explore(
            edge,
            SPACE,
            ["learning_rate", "beta", "epochs", "l2"],
            resample_probability=0.5,
            rng=np.random.default_rng(seed),
        )
        assert set(changes) <= {"learning_rate", "beta"}
        assert all(SPACE.tunable(name).coerce(value) == value for name, value in changes.items())


def test_a_decision_draws_the_same_numbers_for_the_same_trial_and_epoch() -> None:
    assert exploit_rng(1, 5, 8).random() == exploit_rng(1, 5, 8).random() != exploit_rng(1, 5, 12).random()
