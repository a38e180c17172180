"""Path and query parameters shared by the routes, with the bounds the databases can hold."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator, BeforeValidator

from app.domain.trial_state import SearchState, TrialState
from app.storage.keyset import MAX_INT

SearchId = Annotated[int, Path(ge=1, le=MAX_INT, description="A search id.", examples=[1])]
TrialId = Annotated[int, Path(ge=1, le=MAX_INT, description="A trial id.", examples=[1])]

SortParam = Annotated[
    str | None,
    Query(
        max_length=101,
        pattern=r"^-?[A-Za-z0-9_.\-]{1,100}$",
        description="Field to sort by, `-` in front for descending; NULLs always come last.",
    ),
]

SearchSort = Annotated[
    str | None,
    Query(
        pattern=r"^-?(id|name|created_at|updated_at|finished_at)$",
        description="`id`, `name`, `created_at`, `updated_at` or `finished_at`; `-` in front for descending.",
    ),
]
WorkerSort = Annotated[
    str | None,
    Query(
        pattern=r"^-?(id|host|started_at|heartbeat_at)$",
        description="`id`, `host`, `started_at` or `heartbeat_at`; `-` in front for descending.",
    ),
]
CursorParam = Annotated[
    str | None,
    Query(max_length=2000, description="`next_cursor` of the previous page, with the same `sort`."),
]
TrialStates = Annotated[
    list[TrialState] | None, Query(description="Only trials in these states (repeat the parameter).")
]
SearchStates = Annotated[
    list[SearchState] | None, Query(description="Only searches in these states (repeat the parameter).")
]


def _utc_instant(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    try:
        return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError as error:
        raise ValueError("instant out of range") from error


def _iso_only(raw: object) -> object:
    # Pydantic would read "1700000000" as a Unix time; the contract says ISO 8601 (format date-time).
    if isinstance(raw, str) and raw.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError("expected an ISO 8601 timestamp such as 2026-11-24T10:00:00Z")
    return raw


UpdatedSince = Annotated[
    datetime | None,
    BeforeValidator(_iso_only),
    AfterValidator(_utc_instant),
    Query(
        description="Only trials whose `updated_at` is at or after this ISO 8601 instant (UTC if no offset). "
        "Pass the newest `updated_at` you saw, minus a few seconds, and de-duplicate by `id`.",
        examples=["2026-11-24T10:00:00Z"],
    ),
]
NameFilter = Annotated[str | None, Query(min_length=1, max_length=200)]


def state_values(states: list[TrialState] | list[SearchState] | None) -> list[str]:
    return [state.value for state in states or ()]
