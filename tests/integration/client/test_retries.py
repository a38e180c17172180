"""Retries of the clients against a real HTTP server that answers 503 or is not up yet."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
import tenacity

from app.embedded_redis import free_loopback_port as free_port
from caviar import AsyncCaviarClient, CaviarAPIError, CaviarClient, RetryPolicy
from caviar._calls import Call
from tests.integration.client.scripted_server import UNAVAILABLE, Answer, Script, scripted_server

FAST = RetryPolicy(attempts=20, initial_wait=0.01, max_wait=0.05, max_total=30.0)
SEARCH = {"id": 1, "state": "running"}


def test_a_get_answered_503_is_retried_until_it_succeeds() -> None:
    script = Script([UNAVAILABLE, UNAVAILABLE, Answer(200, SEARCH)])
    with scripted_server(script) as url, CaviarClient(url, retry=FAST) as client:
        assert client.search(1) == SEARCH
    assert [path for _, path, _ in script.seen] == ["/searches/1"] * 3


def test_submit_is_retried_on_503_with_one_idempotency_key() -> None:
    script = Script([UNAVAILABLE, Answer(201, SEARCH)])
    with scripted_server(script) as url, CaviarClient(url, retry=FAST) as client:
        client.submit({"dataset": "digits"})
    keys = {headers["idempotency-key"] for _, _, headers in script.seen}
    assert len(script.seen) == 2 and len(keys) == 1


def test_a_post_that_is_not_safe_to_repeat_is_not_retried_on_503() -> None:
    script = Script([UNAVAILABLE, Answer(200, SEARCH)])
    with scripted_server(script) as url, CaviarClient(url, retry=FAST) as client:
        with pytest.raises(CaviarAPIError) as raised:
            client.ask(1)  # a second ask would claim a second trial
    assert raised.value.status_code == 503
    assert len(script.seen) == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("cancel", "/searches/1/cancel"),
        ("pause", "/trials/1/pause"),
        ("resume", "/trials/1/resume"),
        ("stop", "/trials/1/stop"),
    ],
)
def test_posts_that_answer_a_repeat_alike_are_retried_on_503(method: str, path: str) -> None:
    script = Script([UNAVAILABLE, UNAVAILABLE, Answer(200, SEARCH)])
    with scripted_server(script) as url, CaviarClient(url, retry=FAST) as client:
        assert getattr(client, method)(1) == SEARCH
    assert [(verb, seen) for verb, seen, _ in script.seen] == [("POST", path)] * 3


def test_the_last_503_is_raised_when_the_attempts_run_out() -> None:
    script = Script([UNAVAILABLE])
    policy = RetryPolicy(attempts=3, initial_wait=0.01, max_wait=0.01)
    with scripted_server(script) as url, CaviarClient(url, retry=policy) as client:
        with pytest.raises(CaviarAPIError) as raised:
            client.search(1)
    assert raised.value.code == "unavailable"
    assert len(script.seen) == 3


def test_a_refused_connection_is_retried_until_the_server_is_up() -> None:
    port = free_port()
    script = Script([Answer(200, SEARCH)])
    started = threading.Event()

    def start_later() -> None:
        time.sleep(0.3)
        with scripted_server(script, port):
            started.set()
            time.sleep(5.0)

    threading.Thread(target=start_later, daemon=True).start()
    with CaviarClient(f"http://127.0.0.1:{port}", retry=FAST) as client:
        assert client.cancel(1) == SEARCH  # a POST too: a refused connection reached nobody
    assert started.is_set()


def test_the_async_client_retries_a_503_the_same_way() -> None:
    script = Script([UNAVAILABLE, Answer(200, [SEARCH])])

    async def best() -> list[dict[str, object]]:
        async with AsyncCaviarClient(url, retry=FAST) as client:
            return await client.best(1)

    with scripted_server(script) as url:
        assert asyncio.run(best()) == [SEARCH]
    assert len(script.seen) == 2


def test_the_async_client_retries_a_pause_answered_503() -> None:
    script = Script([UNAVAILABLE, Answer(202, SEARCH)])

    async def pause() -> dict[str, object]:
        async with AsyncCaviarClient(url, retry=FAST) as client:
            return await client.pause(1)

    with scripted_server(script) as url:
        assert asyncio.run(pause()) == SEARCH
    assert [path for _, path, _ in script.seen] == ["/trials/1/pause"] * 2


def test_a_503_waits_its_retry_after_seconds_capped_by_the_policy() -> None:
    wait = RetryPolicy(max_wait=10.0).options(Call("GET", "/searches/1"))["wait"]

    def state_after(error: BaseException) -> tenacity.RetryCallState:
        state = tenacity.RetryCallState(tenacity.Retrying(), None, (), {})
        state.set_exception((type(error), error, None))
        return state

    def unavailable(retry_after: float) -> CaviarAPIError:
        return CaviarAPIError(503, "unavailable", "draining", None, retry_after=retry_after)

    assert wait(state_after(unavailable(3.0))) == 3.0
    assert wait(state_after(unavailable(120.0))) == 10.0
