"""Numbers the dashboard's JavaScript repeats from the server must stay the server's."""

from __future__ import annotations

import re
from pathlib import Path

from app.domain.importance import MIN_COMPLETED_TRIALS

SEARCH_JS = Path(__file__).resolve().parents[3] / "app" / "dashboard" / "static" / "js" / "search.js"


def test_the_search_page_asks_for_importance_only_when_the_api_can_answer() -> None:
    match = re.search(r"IMPORTANCE_MIN_COMPLETED = (\d+)", SEARCH_JS.read_text())
    assert match is not None
    assert int(match.group(1)) == MIN_COMPLETED_TRIALS
