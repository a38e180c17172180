"""A burst of requests waits its turn before the routes, and one that waited too long is a 503 with
Retry-After, not a thread holding (or waiting for) a database connection."""

from __future__ import annotations

import threading
import time

import httpx
from sqlalchemy.pool import QueuePool

from app.settings import Settings
from app.storage.db import POOL_TIMEOUT_SECONDS, get_engine
from tests.integration.live_server import serve


def test_requests_beyond_the_limit_wait_their_turn_then_get_503_with_retry_after(settings: Settings) -> None:
    limited = settings.model_copy(update={"max_concurrent_requests": 2, "admission_timeout_seconds": 0.5})
    engine = get_engine(settings.database_url)
    pool = engine.pool
    assert isinstance(pool, QueuePool)
    with serve(limited) as url:
        assert httpx.get(f"{url}/searches").status_code == 200
        # Every connection held: the two admitted requests wait in the routes (for POOL_TIMEOUT_SECONDS).
        held = [engine.connect() for _ in range(pool.size() + pool._max_overflow)]
        answers: list[int] = []
        admitted = [
            threading.Thread(
                target=lambda: answers.append(httpx.get(f"{url}/searches", timeout=30).status_code)
            )
            for _ in range(2)
        ]
        try:
            for thread in admitted:
                thread.start()
            time.sleep(0.3)
            started = time.monotonic()
            turned_away = httpx.get(f"{url}/searches/1", timeout=30)
            waited = time.monotonic() - started
            # Not counted: the probe and the dashboard's files hold no database connection.
            assert httpx.get(f"{url}/healthz", timeout=30).status_code in (200, 503)
            assert httpx.get(f"{url}/dashboard/static/app.css", timeout=30).status_code == 200
        finally:
            for connection in held:
                connection.close()
            for thread in admitted:
                thread.join(timeout=30)
        assert turned_away.status_code == 503, turned_away.text
        assert turned_away.headers["retry-after"] == "2"
        assert turned_away.json()["error"]["code"] == "busy"
        assert "2 requests in progress" in turned_away.json()["error"]["message"]
        assert 0.5 <= waited < POOL_TIMEOUT_SECONDS, "turned away by the admission limit, not the pool"
        assert httpx.get(f"{url}/searches").status_code == 200, "its turn comes once the others end"
