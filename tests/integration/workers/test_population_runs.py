"""Population Based Training through the service: HTTP in, a real worker, members exploited as branches."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from app.api.main import create_app
from app.settings import Settings
from app.storage.db import session_scope
from app.storage.models import Event
from tests.integration.helpers import quick_spec
from workers.worker import run_worker

POPULATION = 4
SPEC = quick_spec(
    space={
        # From stalled to diverging: some members fall behind early and are replaced.
        "learning_rate": {"type": "float", "low": 1e-5, "high": 1.0, "scale": "log"},
        "keep_prob": {"type": "float", "low": 0.7, "high": 1.0},
        "hidden_units": 16,
        "optimizer": "adam",
        "epochs": 8,
        "batch_size": 64,
    },
    strategy={"kind": "pbt", "population": POPULATION, "interval": 2},
    budget={"max_trials": POPULATION, "max_parallel": POPULATION},
    seed=11,
)


def events(settings: Settings, search_id: int, kind: str) -> list[dict[str, Any]]:
    with session_scope(settings.database_url) as session:
        rows = session.query(Event).filter_by(search_id=search_id, kind=kind).order_by(Event.id).all()
        return [{"trial_id": row.trial_id, **row.payload} for row in rows]


def test_bottom_members_are_replaced_by_perturbed_branches_of_top_ones(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        created = client.post("/searches", json=SPEC)
        assert created.status_code == 201, created.text
        search_id = created.json()["id"]
        run_worker(settings, burst=True)
        search = client.get(f"/searches/{search_id}").json()
        trials = {t["id"]: t for t in client.get(f"/searches/{search_id}/trials?limit=500").json()["items"]}
    exploited = events(settings, search_id, "trial_exploited")
    branched = {event["trial_id"]: event for event in events(settings, search_id, "trial_branched")}

    assert search["state"] == "completed"
    assert search["strategy"]["kind"] == "pbt"
    assert exploited, "no member was ever in the bottom quantile"
    for event in exploited:
        member, branch = trials[event["trial_id"]], trials[event["branch_trial_id"]]
        assert (member["state"], member["pruned_step"]) == ("pruned", event["step"])
        assert event["step"] % 2 == 0 and event["step"] < 8  # judged every 2 epochs, never after the last
        assert (branch["parent_trial_id"], branch["branch_step"]) == (
            event["donor_trial_id"],
            event["from_step"],
        )
        assert branch["branch_params"] == event["changes"]
        assert set(event["changes"]) <= {"learning_rate", "keep_prob"}  # live and tuned: explored
        assert 1e-5 <= branch["params"]["learning_rate"] <= 1.0 and 0.7 <= branch["params"]["keep_prob"] <= 1
        assert branched[branch["id"]]["by"] == "pbt"
    # Each replacement ends one lineage and continues another: the population keeps its size to the end.
    assert len(trials) == POPULATION + len(exploited)
    assert sum(t["state"] == "completed" for t in trials.values()) == POPULATION
    assert {t["params"]["epochs"] for t in trials.values()} == {8}
