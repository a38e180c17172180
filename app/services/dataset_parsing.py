"""Uploads are parsed in a child process: seconds of parsing neither hold the API's GIL nor its memory.

A thread would free the event loop but not the interpreter: a CPU-bound parse in the API process
still slows every other request, and a file that slips past the size checks would exhaust the API's
own memory. One long-lived spawned process parses uploads one after the other.
"""

from __future__ import annotations

import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import Literal

from app.domain.dataset_files import parse_upload
from caviar import Dataset, InvalidParams

_lock = threading.Lock()
_executor: ProcessPoolExecutor | None = None


def _pool() -> ProcessPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))
        return _executor


def _discard(pool: ProcessPoolExecutor) -> None:
    global _executor
    with _lock:
        if _executor is pool:
            _executor = None
    pool.shutdown(wait=False, cancel_futures=True)


def _parse(
    content: bytes, fmt: Literal["npz", "csv"], label_column: str | None, max_bytes: int, max_cells: int
) -> Dataset | tuple[str, str]:
    # InvalidParams does not survive pickling (its constructor takes two arguments): send its parts.
    try:
        return parse_upload(content, fmt, label_column, max_bytes, max_cells=max_cells)
    except InvalidParams as error:
        return error.name, error.message


def parse_isolated(
    content: bytes, fmt: Literal["npz", "csv"], label_column: str | None, max_bytes: int, max_cells: int
) -> Dataset:
    """`parse_upload` in the parser process (blocking: call it from a thread, not the event loop)."""
    pool = _pool()
    try:
        parsed = pool.submit(_parse, content, fmt, label_column, max_bytes, max_cells).result()
    except BrokenProcessPool as error:
        _discard(pool)
        raise InvalidParams("file", "could not be parsed: the parser process died (memory?)") from error
    if isinstance(parsed, tuple):
        raise InvalidParams(*parsed)
    return parsed
