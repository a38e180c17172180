"""The client commands fail with one line, not a traceback, when the API is not where they look."""

from __future__ import annotations

import socket

import pytest
from typer.testing import CliRunner

from app.cli import app


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port  # closed again on leaving: nothing listens there


@pytest.mark.parametrize("command", [["best", "1"], ["trials", "1"]])
def test_an_unreachable_api_is_one_line_naming_where_and_how_to_point_elsewhere(command: list[str]) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    result = CliRunner().invoke(app, [*command, "--api-url", url], terminal_width=200)
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"cannot reach {url}/" in result.output
    assert "CAVIAR_API_URL" in result.output
    assert "Traceback" not in result.output
