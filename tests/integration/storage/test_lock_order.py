"""Row locks that writers take must not block the foreign-key checks of other writers (PostgreSQL).

A search lock taken with plain `FOR UPDATE` conflicts with the `FOR KEY SHARE` lock PostgreSQL takes on
the search row whenever a row referencing it is inserted (an event, a curve point's trial). A cancel
holding the search and waiting for a trial, while the worker holding that trial inserts an event, was a
deadlock (reported to the user as a 503). The locks are `FOR NO KEY UPDATE`: no key is ever changed.
"""

from __future__ import annotations

import pytest

from app.services.trial_runs import claim_trial, record_epoch
from app.storage.db import session_scope
from app.storage.repositories import SearchRepository
from tests.integration.storage.factories import add_search_with_trials

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

METRICS = {"dev_accuracy": 0.5, "dev_cost": 0.5}


def test_an_epoch_report_goes_through_while_the_search_row_is_locked(database_url: str) -> None:
    with session_scope(database_url) as session:
        search, (trial,) = add_search_with_trials(session)
        run = claim_trial(session, trial.id, "w1")
        assert run is not None

    with session_scope(database_url) as holder:
        assert SearchRepository(holder).get_for_update(search.id) is not None
        with session_scope(database_url) as worker:
            worker.connection().exec_driver_sql("SET LOCAL lock_timeout = '3s'")
            verdict = record_epoch(worker, run, 1, METRICS, {}, checkpoint=b"weights")
    assert not verdict.claim_lost
