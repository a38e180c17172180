"""Waiting out an outage of Redis or the database: one loop, backing off, logged once each way."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import TypeVar

from workers.runtime import WorkerRuntime

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRY_SECONDS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0)
"""Waits between tries while Redis or the database is unreachable (the last repeats)."""


class StopRequested(Exception):
    """The worker was asked to stop while it waited for Redis or the database to answer."""


def retry_until_it_works(
    runtime: WorkerRuntime,
    action: Callable[[], T],
    errors: type[Exception] | tuple[type[Exception], ...],
    *,
    outage: str,
    recovered: str,
) -> T:
    """`action()`'s result, calling it again while it raises one of `errors`, waiting RETRY_SECONDS
    between tries; one log line when the outage starts (`outage`) and one when it is over (`recovered`).
    Raises StopRequested if the worker is asked to stop meanwhile."""
    for attempt in itertools.count():
        try:
            result = action()
        except errors as error:
            if attempt == 0:
                first_line = str(error).splitlines()[0] if str(error) else ""
                log.warning(
                    "worker %s: %s (%s: %s); retrying until it answers",
                    runtime.worker_id,
                    outage,
                    type(error).__name__,
                    first_line,
                )
            if runtime.shutdown.wait(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)]):
                raise StopRequested(outage) from error
            continue
        if attempt:
            log.warning("worker %s: %s", runtime.worker_id, recovered)
        return result
    raise AssertionError("unreachable")
