"""Request-scoped dependencies: settings, and a unit of work that commits, then enqueues.

FastAPI runs a plain `def` dependency in its thread pool, and a generator's start and its end each
there too: a hand-off to a thread and back for each, two wake-ups that wait for a CPU on a busy machine.
Dependencies that do no I/O are `async def`, so they run on the event loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated

import anyio
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.queue import TrialQueues, enqueue_after_commit, trial_queues
from app.services.ask_tell import Enqueue
from app.settings import Settings
from app.storage.db import get_read_session_factory, read_session_scope, session_scope


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


class UnitOfWork:
    """A session plus the trial ids to enqueue once it has committed (never before)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.to_enqueue: Enqueue = []

    def enqueue_after_commit(self, trials: Enqueue) -> None:
        self.to_enqueue += trials


def queues_of(settings: Settings) -> TrialQueues | None:
    """None when the API runs without Redis: trials wait in the database for a worker's reconciler."""
    return trial_queues(settings.redis_url, settings.queue_name) if settings.redis_url else None


def get_uow(settings: SettingsDep) -> Iterator[UnitOfWork]:
    with session_scope(settings.database_url) as session:
        uow = UnitOfWork(session)
        yield uow
    enqueue_after_commit(queues_of(settings), uow.to_enqueue, timeout_seconds=settings.trial_timeout_seconds)


# scope="function": commit (and enqueue) before the response goes out, so a client that reads right
# after a 201 finds what it created.
UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_uow, scope="function")]


async def get_read_session(settings: SettingsDep) -> AsyncIterator[Session]:
    """`read_session_scope` with one thread hand-off instead of two: a session connects on its first
    statement, so opening one does no I/O and happens on the event loop; closing it ends the transaction
    and returns the connection to the pool (I/O), in the thread pool."""
    session = get_read_session_factory(settings.database_url)()
    try:
        yield session
    finally:
        # A limiter of its own, as FastAPI gives a generator's end: returning a connection must never wait
        # for one of the pool's threads, which may all be held by requests waiting for a connection.
        await anyio.to_thread.run_sync(session.close, limiter=anyio.CapacityLimiter(1))


def streamed_read(settings: Settings, produce: Callable[[Session], Iterator[str]]) -> Iterator[str]:
    """A streamed body (`StreamingResponse`) read in a read session of its own: the request's session is
    closed once the route returns, before the body is sent."""
    with read_session_scope(settings.database_url) as session:
        yield from produce(session)


# For GET routes: a snapshot that takes no write lock on SQLite and is READ ONLY on PostgreSQL.
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]
