"""`client.optimize` against a live API: exceptions fail trials with their last line, Ctrl-C hands the
trial back, `TrialPruned` prunes, and several jobs run a search to the end."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.settings import Settings
from caviar import CaviarClient, TrialPruned
from tests.integration.live_server import serve


@pytest.fixture
def client(settings: Settings) -> Iterator[CaviarClient]:
    with serve(settings) as url, CaviarClient(url) as api_client:
        yield api_client


def external(client: CaviarClient, **budget: int) -> int:
    spec = {
        "objective": "external",
        "metric": "loss",
        "direction": "minimize",
        "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
        "budget": {"max_trials": 6, "max_parallel": 3, **budget},
        "seed": 2,
    }
    search_id: int = client.submit(spec)["id"]
    return search_id


def test_two_jobs_run_an_external_search_to_completion(client: CaviarClient) -> None:
    search_id = external(client)

    def objective(trial: Any) -> dict[str, float]:
        trial.report(1, loss=trial.params["x"])
        return {"loss": trial.params["x"] ** 2}

    told = client.optimize(search_id, objective, n_jobs=2)
    assert sorted(trial["number"] for trial in told) == list(range(6))
    search = client.search(search_id)
    assert search["state"] == "completed" and search["counts"]["completed"] == 6


def test_an_exception_fails_the_trial_with_the_last_line_of_its_traceback(client: CaviarClient) -> None:
    search_id = external(client, max_failed_trials=2)

    def objective(trial: Any) -> dict[str, float]:
        raise ValueError(f"bad x {trial.number}")

    told = client.optimize(search_id, objective)
    assert [trial["error"] for trial in told] == ["ValueError: bad x 0", "ValueError: bad x 1"]
    search = client.search(search_id)
    assert search["state"] == "failed" and search["error"] == "trial 0 failed: ValueError: bad x 0"


def test_trial_pruned_prunes_and_n_trials_bounds_the_loop(client: CaviarClient) -> None:
    search_id = external(client)

    def objective(trial: Any) -> dict[str, float]:
        trial.report(1, loss=0.5)
        raise TrialPruned()

    told = client.optimize(search_id, objective, n_trials=2)
    assert [(trial["state"], trial["pruned_step"]) for trial in told] == [("pruned", 1)] * 2


def test_ctrl_c_hands_the_trial_back_for_the_next_ask(client: CaviarClient) -> None:
    search_id = external(client, max_parallel=1)

    def interrupted(trial: Any) -> dict[str, float]:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        client.optimize(search_id, interrupted)
    asked = client.ask(search_id)
    assert (asked["number"], asked["attempt"]) == (0, 2)
