"""The trial page marks where a run changed course: nudges, resumes, and branches (from and to)."""

from __future__ import annotations

import httpx
import pytest
from selenium import webdriver
from sqlalchemy import update

from app.storage.db import session_scope
from app.storage.models import Event, Trial, utcnow
from tests.e2e.browser import chromium_available, console_errors, open_page
from tests.e2e.conftest import Stack, wait_finished
from tests.integration.helpers import quick_spec

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not chromium_available(), reason="needs Debian's chromium and chromium-driver"),
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

SPEC = quick_spec(budget={"max_trials": 1, "max_parallel": 1}, checkpoint_every=1)


@pytest.fixture
def stack_extra_env() -> dict[str, str]:
    return {"CAVIAR_CHECKPOINT_MIN_SECONDS": "0"}  # a checkpoint after every epoch: a step to branch from


def marks(browser: webdriver.Chrome) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = browser.execute_script(
        "return [...document.querySelectorAll('#marks li')].map((li) => [li.dataset.kind, li.textContent])"
    )
    return [(kind, text) for kind, text in found]


def shapes_drawn(browser: webdriver.Chrome) -> int:
    count: int = browser.execute_script("return document.querySelector('#curve-0').layout.shapes.length")
    return count


def test_a_branch_and_its_parent_show_their_lineage_nudges_and_resumes(
    stack: Stack, browser: webdriver.Chrome
) -> None:
    created = httpx.post(f"{stack.api_url}/searches", json=SPEC, timeout=30)
    assert created.status_code == 201, created.text
    search_id = created.json()["id"]
    assert wait_finished(stack, search_id)["state"] == "completed"
    [parent] = httpx.get(f"{stack.api_url}/searches/{search_id}/trials").json()["items"]
    donor, step = parent["id"], 2
    answer = httpx.post(
        f"{stack.api_url}/trials/{donor}/branch", json={"from_step": step, "params": {"learning_rate": 0.002}}
    )
    assert answer.status_code == 201, answer.text
    branch = answer.json()
    assert wait_finished(stack, search_id)["state"] == "completed"
    # A nudge and a lost worker's resume need a live trial caught at the right epoch (test_nudge_live and
    # test_checkpoint_resume do that); here the donor gets the rows their workers write.
    with session_scope(stack.env["DATABASE_URL"]) as session:
        nudge = {
            "step": 3,
            "changes": {"learning_rate": {"old": 0.01, "new": 0.001}},
            "by": "anyone",
            "requested_at": utcnow().isoformat(),
            "at": utcnow().isoformat(),
        }
        session.execute(update(Trial).where(Trial.id == donor).values(nudges=[nudge]))
        session.add(
            Event(
                search_id=search_id,
                kind="trial_resumed",
                trial_id=donor,
                payload={"attempt": 2, "step": 5, "from_attempt": 1},
            )
        )

    open_page(browser, f"{stack.api_url}/#/trial/{branch['id']}", f"trial-{branch['id']}")
    [(kind, text)] = marks(browser)
    assert (
        kind == "origin" and f"after step {step}: branched from trial {donor}: learning_rate = 0.002" in text
    )
    assert shapes_drawn(browser) == 1

    open_page(browser, f"{stack.api_url}/#/trial/{donor}", f"trial-{donor}")
    shown = marks(browser)
    kinds = [kind for kind, _ in shown]
    assert {"nudge", "resume", "branch"} <= set(kinds)
    assert any("from step 3: learning_rate 0.01 → 0.001 (by anyone)" in text for _, text in shown)
    assert any("after step 5: attempt 2 resumed from attempt 1's checkpoint" in text for _, text in shown)
    assert any(f"trial {branch['id']} branched from here" in text for _, text in shown)
    assert shapes_drawn(browser) == len(shown)
    assert not console_errors(browser)
