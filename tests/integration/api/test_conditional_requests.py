"""ETags on lists and details: an unchanged poll is a 304 without a body; any change gives a new ETag."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.settings import Settings
from app.storage.db import session_scope
from app.storage.repositories import TrialRepository
from tests.integration.api.results import queued_search, record


def test_unchanged_trials_poll_is_304_without_a_body(client: TestClient) -> None:
    search_id, _ = queued_search(client, 3)
    first = client.get(f"/searches/{search_id}/trials")
    again = client.get(f"/searches/{search_id}/trials", headers={"If-None-Match": first.headers["etag"]})
    assert first.headers["etag"].startswith('W/"')
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]


def test_a_finished_trial_changes_the_trials_etag(client: TestClient, settings: Settings) -> None:
    search_id, trials = queued_search(client, 3)
    etag = client.get(f"/searches/{search_id}/trials").headers["etag"]
    record(settings, trials[2]["id"], metrics={"dev_accuracy": 0.9}, value=0.9)
    after = client.get(f"/searches/{search_id}/trials", headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert after.headers["etag"] != etag
    assert after.json()["items"][2]["state"] == "completed"


def test_etag_depends_on_the_query(client: TestClient) -> None:
    search_id, _ = queued_search(client, 3)
    etag = client.get(f"/searches/{search_id}/trials").headers["etag"]
    sorted_page = client.get(
        f"/searches/{search_id}/trials", params={"sort": "-number"}, headers={"If-None-Match": etag}
    )
    assert sorted_page.status_code == 200


def test_search_detail_is_304_until_it_is_cancelled(client: TestClient) -> None:
    search_id, _ = queued_search(client, 2)
    etag = client.get(f"/searches/{search_id}").headers["etag"]
    assert client.get(f"/searches/{search_id}", headers={"If-None-Match": etag}).status_code == 304
    client.post(f"/searches/{search_id}/cancel", json={})
    after = client.get(f"/searches/{search_id}", headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert after.json()["state"] == "cancelled"


def test_search_list_etag_changes_when_a_search_is_created(client: TestClient) -> None:
    queued_search(client, 1)
    etag = client.get("/searches").headers["etag"]
    assert client.get("/searches", headers={"If-None-Match": etag}).status_code == 304
    queued_search(client, 1)
    assert client.get("/searches", headers={"If-None-Match": etag}).status_code == 200


def test_trial_detail_etag_changes_with_a_new_learning_curve_point(
    client: TestClient, settings: Settings
) -> None:
    _, trials = queued_search(client, 1)
    trial_id = trials[0]["id"]
    etag = client.get(f"/trials/{trial_id}").headers["etag"]
    assert client.get(f"/trials/{trial_id}", headers={"If-None-Match": etag}).status_code == 304
    with session_scope(settings.database_url) as session:
        TrialRepository(session).add_curve_point(trial_id, 1, {"dev_accuracy": 0.5})
    after = client.get(f"/trials/{trial_id}", headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert after.json()["curve"] == [{"step": 1, "metrics": {"dev_accuracy": 0.5}}]


def test_if_none_match_takes_a_list_and_the_star(client: TestClient) -> None:
    search_id, _ = queued_search(client, 1)
    etag = client.get(f"/searches/{search_id}/trials").headers["etag"]
    listed = client.get(f"/searches/{search_id}/trials", headers={"If-None-Match": f'W/"other", {etag}'})
    star = client.get(f"/searches/{search_id}/trials", headers={"If-None-Match": "*"})
    assert (listed.status_code, star.status_code) == (304, 304)


def test_csv_export_and_workers_list_carry_etags_too(client: TestClient) -> None:
    search_id, _ = queued_search(client, 1)
    for path in (f"/searches/{search_id}/trials.csv", "/trials", "/workers"):
        # /workers' ETag moves on with a clock bucket (`alive` changes with time alone); on a busy
        # machine two requests may straddle a bucket boundary, so a few tries are allowed.
        statuses = []
        for _ in range(3):
            etag = client.get(path).headers["etag"]
            statuses.append(client.get(path, headers={"If-None-Match": etag}).status_code)
            if statuses[-1] == 304:
                break
        assert statuses[-1] == 304, (path, statuses)
