"""The server's entry point (`caviar` command, `python -m caviar._server`), not part of the public API.

The wheel installs one top-level package, `caviar`, and ships the server's folders inside it as
`caviar/_server/app` and `caviar/_server/workers`, so that it never collides with a user's `app` package.
The server code imports them as `app` and `workers`: this module puts their folder first on `sys.path`.
From a source checkout (editable install, Docker image) they are at the repository root instead.
"""

from __future__ import annotations

import sys
from pathlib import Path

_WHEEL_ROOT = Path(__file__).resolve().parent
_SOURCE_ROOT = _WHEEL_ROOT.parents[1]


def server_root() -> Path:
    """The folder holding `app/` and `workers/` for this installation."""
    return _WHEEL_ROOT if (_WHEEL_ROOT / "app").is_dir() else _SOURCE_ROOT


def _put_server_first() -> None:
    root = str(server_root())
    if root in sys.path:
        sys.path.remove(root)
    sys.path.insert(0, root)  # ahead of the working directory: a user's `app/` there never shadows ours


def main() -> None:
    """The `caviar` command."""
    _put_server_first()
    from app.cli import main as cli_main

    cli_main()
