"""`caviar keys create|list|revoke`: API keys, managed in the database directly (as `caviar db upgrade`).

They need `DATABASE_URL`, not a key: whoever can write to the database is trusted anyway, and the first
admin key of a fresh deployment has to come from somewhere.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.cli_common import ListFormat, console, errors, fail, print_table, terminal_width
from app.cli_output import json_lines
from app.cli_render import records_table
from app.domain.api_keys import Scope
from app.errors import CaviarError
from app.services import api_keys as service
from app.settings import get_settings
from app.storage.db import session_scope
from app.storage.models import ApiKey

keys_app = typer.Typer(
    help="API keys (in the database at DATABASE_URL; no key needed to manage them).", no_args_is_help=True
)


@contextmanager
def _database() -> Iterator[Session]:
    url = get_settings().database_url
    try:
        with session_scope(url) as session:
            yield session
    except CaviarError as error:
        fail(error.message)
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        fail(f"database error: {reason}; is DATABASE_URL right, and was `caviar db upgrade` run?")


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


def _record(key: ApiKey) -> dict[str, object]:
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "scope": key.scope,
        "created_at": key.created_at.isoformat(),
        "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="Shown on every search the key creates; unique.")],
    scope: Annotated[Scope, typer.Option(help="read: GETs; submit: + own searches, ask/tell; admin: all.")],
) -> None:
    """Create a key and print it once on stdout (only its hash is stored: copy it now)."""
    with _database() as session:
        key, token = service.create_key(session, name, scope)
    described = f"key {key.name!r} (id {key.id}, scope {key.scope})"
    sys.stdout.write(token + "\n")
    errors.print(
        f"{described} created; it is shown only this once. Use it as `Authorization: Bearer <key>` or "
        "CAVIAR_API_KEY.",
        soft_wrap=True,
        highlight=False,
    )


@keys_app.command("list")
def list_(output: ListFormat = "table") -> None:
    """Every key: name, prefix, scope, when it was created, last used and revoked (never the secret)."""
    with _database() as session:
        keys = service.list_keys(session)
    if output == "json":
        sys.stdout.write(json_lines([_record(key) for key in keys]))
        return
    rows = [
        [k.id, k.name, k.prefix, k.scope, _when(k.created_at), _when(k.last_used_at), _when(k.revoked_at)]
        for k in keys
    ]
    columns = ("id", "name", "prefix", "scope", "created", "last used", "revoked")
    print_table(records_table("API keys", columns, rows, width=terminal_width()))


@keys_app.command("revoke")
def revoke(
    name_or_id: Annotated[str, typer.Argument(help="The key's name (or id).", show_default=False)],
) -> None:
    """Revoke a key: the API refuses it from the next request on."""
    with _database() as session:
        key = service.revoke_key(session, name_or_id)
    console.print(f"key {key.name!r} revoked", highlight=False)
