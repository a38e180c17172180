"""A real uvicorn server on a loopback port, in a thread of the test process: for streaming and the CLI."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from app.api.main import create_app
from app.embedded_redis import free_loopback_port
from app.settings import Settings


@contextmanager
def serve(settings: Settings) -> Iterator[str]:
    """The API for `settings`, listening until the block ends; yields its base URL."""
    port = free_loopback_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_config=None, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-api", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API server did not start"
        time.sleep(0.02)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
