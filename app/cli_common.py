"""What every client command of `caviar` shares: the API URL option, one-line errors, table output."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn, ParamSpec, TypeVar

import httpx
import typer
from rich.console import Console, RenderableType
from rich.text import Text

from caviar import DEFAULT_API_URL, CaviarAPIError, CaviarClient

ApiUrl = Annotated[str, typer.Option("--api-url", envvar="CAVIAR_API_URL", help="Where the API listens.")]
ListFormat = Annotated[
    Literal["table", "json"], typer.Option("--format", "-f", help="table (rich) or json (one per line).")
]
SearchId = Annotated[int, typer.Argument(help="The search.", show_default=False)]
P = ParamSpec("P")
R = TypeVar("R")

console = Console()
errors = Console(stderr=True)

__all__ = [
    "DEFAULT_API_URL",
    "ApiUrl",
    "ListFormat",
    "SearchId",
    "call",
    "client",
    "fail",
    "load_spec",
    "print_table",
    "terminal_width",
]


def client(api_url: str) -> CaviarClient:
    return CaviarClient(api_url)


def print_table(renderable: RenderableType) -> None:
    """Print a table: fitted to the terminal's width, or at its natural width into a pipe or file."""
    if console.is_terminal:
        console.print(renderable)
    else:
        Console(width=10_000, no_color=True, highlight=False).print(renderable, crop=False)


def terminal_width() -> int | None:
    """The width tables must fit: the terminal's, or None when output goes to a pipe or a file."""
    return console.width if console.is_terminal else None


def fail(message: str) -> NoReturn:
    """One red line on stderr (never read as markup: messages hold brackets), exit code 1."""
    errors.print(Text(message, style="red"), soft_wrap=True)
    raise typer.Exit(1)


def load_spec(path: Path) -> dict[str, Any]:
    """A spec file's JSON object, or a one-line error that says where the file is broken."""
    try:
        spec = json.loads(path.read_text())
    except OSError as error:
        fail(f"{path}: cannot read it ({error.strerror or error})")
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        fail(f"{path}: not valid JSON ({error})")
    if not isinstance(spec, dict):
        fail(f"{path}: a search spec is a JSON object {{...}}, got {type(spec).__name__}")
    return spec


def call(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a client call; API errors and an unreachable API become a one-line message and exit code 1."""
    try:
        return function(*args, **kwargs)
    except CaviarAPIError as error:
        fail(str(error))
    except httpx.TimeoutException as error:
        fail(f"the API did not answer in time ({type(error).__name__}: {error})")
    except httpx.TransportError as error:
        where = error.request.url.copy_with(path="/", query=None) if _has_request(error) else "the API"
        fail(
            f"cannot reach {where} ({error}); is `caviar up` or `caviar api` running there? "
            "Point at it with --api-url or CAVIAR_API_URL."
        )


def _has_request(error: httpx.TransportError) -> bool:
    try:
        error.request  # noqa: B018 - httpx raises RuntimeError when the error carries no request
    except RuntimeError:
        return False
    return True
