"""Which exceptions are the platform's (Redis, the database), not the objective's."""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from app.errors import InfrastructureError

DATABASE_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,  # connection lost, server restarting, SQLite locked
    InterfaceError,
    DisconnectionError,
    PoolTimeoutError,
)
"""The database's transient failures: the same statement may work once the server answers again."""

PLATFORM_ERRORS: tuple[type[Exception], ...] = (
    *DATABASE_ERRORS,
    RedisConnectionError,
    RedisTimeoutError,
    InfrastructureError,
)
"""Transient failures of the infrastructure. A DataError or IntegrityError is not among them: the same
data would fail the same way on every attempt."""


def platform_error(error: BaseException) -> BaseException | None:
    """The platform error `error` is or was raised from (its cause or context chain), else None."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, PLATFORM_ERRORS):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
