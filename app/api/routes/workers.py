"""/workers: who is running trials, where, on what, and whether they are still alive."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from app.api.conditional import ETAG_HEADER_DOC, NOT_MODIFIED_DOC, ConditionalDep
from app.api.deps import ReadSessionDep, SettingsDep
from app.api.pagination import decode_cursor
from app.api.params import CursorParam, WorkerSort
from app.api.response_budget import page_response
from app.api.schemas import Page
from app.services import listing
from app.settings import Settings

router = APIRouter(prefix="/workers", tags=["workers"])

WorkerState = Literal["idle", "busy", "stopped"]


class WorkerOut(BaseModel):
    id: str = Field(examples=["host-4711-a1b2c3"])
    host: str
    pid: int
    state: str = Field(description="idle | busy | stopped, as the worker last said.", examples=["busy"])
    current_trial_id: int | None
    objectives: list[str] = Field(
        description="Objectives installed on this worker.", examples=[["gbc", "mlp"]]
    )
    started_at: datetime
    heartbeat_at: datetime
    alive: bool = Field(
        description="Heartbeated within CAVIAR_LEASE_SECONDS and not stopped: it may still run trials."
    )


@router.get(
    "", response_model=Page[WorkerOut], responses={200: {"headers": ETAG_HEADER_DOC}, **NOT_MODIFIED_DOC}
)
def list_workers(
    session: ReadSessionDep,
    settings: SettingsDep,
    conditional: ConditionalDep,
    state: Annotated[list[WorkerState] | None, Query(description="Only workers in these states.")] = None,
    alive: Annotated[bool | None, Query(description="Only live (true) or dead (false) workers.")] = None,
    sort: WorkerSort = None,
    cursor: CursorParam = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    """Every worker that registered; sort by `id` (default), `host`, `started_at` or `heartbeat_at`."""
    states = list(state or ())
    conditional.check(listing.workers_fingerprint(session, settings, states=states), _alive_bucket(settings))
    listed = listing.workers(
        session,
        settings,
        states=states,
        alive=alive,
        page=listing.PageRequest(sort=sort, cursor=decode_cursor(cursor), limit=limit),
    )
    return page_response(
        listed,
        lambda view: (
            WorkerOut.model_validate({**_columns(view.worker), "alive": view.alive})
            .model_dump_json()
            .encode()
        ),
        max_bytes=settings.max_response_bytes,
        headers=conditional.headers,
    )


def _alive_bucket(settings: Settings) -> int:
    # `alive` turns false with time alone, without any row changing: the ETag moves on with the clock.
    return int(listing.alive_cutoff(settings).timestamp() // max(settings.heartbeat_seconds, 1.0))


def _columns(worker: Any) -> dict[str, Any]:
    return {
        name: getattr(worker, name)
        for name in (
            "id",
            "host",
            "pid",
            "state",
            "current_trial_id",
            "objectives",
            "started_at",
            "heartbeat_at",
        )
    }
