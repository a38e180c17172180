"""A bounded map that keeps the entries used most recently: the per-process caches of results that
are expensive to compute again (a verified API key, a parameter-importance fit)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

Value = TypeVar("Value")


class RecentlyUsed(Generic[Value]):
    """At most `size` entries; the least recently read or written goes first. Safe across threads
    (requests run in several)."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"`size` must be at least 1, got {size}")
        self._size = size
        self._entries: OrderedDict[Hashable, Value] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Value | None:
        with self._lock:
            if key not in self._entries:
                return None
            self._entries.move_to_end(key)
            return self._entries[key]

    def put(self, key: Hashable, value: Value) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
