"""What a real HTTP server answers to bytes a polite client never sends (TestClient can't send them)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from app.settings import Settings
from tests.integration.live_server import serve


@pytest.fixture
def address(settings: Settings) -> Iterator[tuple[str, int]]:
    with serve(settings) as url:
        parts = urlsplit(url)
        assert parts.hostname is not None and parts.port is not None
        yield parts.hostname, parts.port


def exchange(address: tuple[str, int], head: bytes, body: bytes = b"") -> bytes:
    """Send a request head (and the start of a body); the whole answer, read until the server closes."""
    with socket.create_connection(address, timeout=10) as connection:
        connection.sendall(head + b"\r\n\r\n" + body)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
            if b"\r\n\r\n" in answer and b'"error"' in answer and answer.rstrip().endswith(b"}}"):
                break
        return answer


def test_a_100_mb_json_body_is_refused_413_from_its_content_length(address: tuple[str, int]) -> None:
    head = (
        b"POST /searches HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 104857600"
    )
    answer = exchange(address, head, b'{"name": "')  # the other 100 MB are never sent
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"payload_too_large"' in answer


@pytest.mark.parametrize(
    "header", [b"Last-Event-ID: \xc3\xa9", b"Idempotency-Key: cl\xc3\xa9", b"Idempotency-Key: " + b"k" * 201]
)
def test_non_ascii_or_long_headers_get_a_422_not_a_reset(address: tuple[str, int], header: bytes) -> None:
    if header.startswith(b"Last-Event-ID"):
        head = b"GET /searches/1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + header
        body = b""
    else:
        body = b"{}"
        head = (
            b"POST /searches HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            b"Content-Type: application/json\r\nContent-Length: 2\r\n" + header
        )
    answer = exchange(address, head, body)
    assert answer.startswith((b"HTTP/1.1 422", b"HTTP/1.1 404")), answer[:300]
    assert b'"error"' in answer
