"""A loading cache for hot paths: one load per key at a time, stale values served while refreshing.

A chat room takes hundreds of lines a second. When its cached context expires, the
naive cache lets every line in flight start its own database load, and the loads
queue behind each other; the lines wait seconds. Here:

- a missing key is loaded once, and every caller asking meanwhile awaits that load;
- a key older than ``ttl`` is still returned at once, while one background load
  replaces it;
- ``forget`` drops a key for good: the next caller loads afresh, and a load that
  began before the ``forget`` does not store its (possibly stale) result;
- with ``max_entries``, the key loaded longest ago goes when a new one would pass it: keys
  that callers choose (API tokens, valid or not) cannot grow the cache without bound.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

K = TypeVar("K")
V = TypeVar("V")


class LoadingCache(Generic[K, V]):
    def __init__(
        self, ttl: float, *, clock: Callable[[], float] = time.monotonic, max_entries: int | None = None
    ) -> None:
        self.ttl = ttl
        self.clock = clock
        self.max_entries = max_entries
        self._values: dict[K, tuple[V, float]] = {}
        self._loading: dict[K, asyncio.Task[V]] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        entry = self._values.get(key)
        if entry is not None:
            value, loaded_at = entry
            if self.clock() - loaded_at >= self.ttl and key not in self._loading:
                self._start(key, load)  # refresh behind the caller's back
            return value
        task = self._loading.get(key) or self._start(key, load)
        # shield: a caller that is cancelled must not cancel the load the others await.
        return await asyncio.shield(task)

    def peek(self, key: K) -> V | None:
        entry = self._values.get(key)
        return entry[0] if entry is not None else None

    def forget(self, key: K) -> None:
        self._values.pop(key, None)
        self._loading.pop(key, None)  # an older load finishes for its callers but stores nothing

    def forget_where(self, matches: Callable[[K], bool]) -> None:
        for key in [k for k in (*self._values, *self._loading) if matches(k)]:
            self.forget(key)

    def __len__(self) -> int:
        return len(self._values)

    def _start(self, key: K, load: Callable[[], Awaitable[V]]) -> asyncio.Task[V]:
        task = asyncio.create_task(self._load(key, load))
        self._loading[key] = task
        task.add_done_callback(functools.partial(self._finished, key))
        return task

    async def _load(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        value = await load()
        if self._loading.get(key) is asyncio.current_task():
            self._values.pop(key, None)  # to the end: the order is the order of loading
            self._values[key] = (value, self.clock())
            while self.max_entries is not None and len(self._values) > self.max_entries:
                del self._values[next(iter(self._values))]
        return value

    def _finished(self, key: K, task: asyncio.Task[V]) -> None:
        if self._loading.get(key) is task:
            del self._loading[key]
        if not task.cancelled() and task.exception() is not None:
            # Awaiting callers see the error themselves; a background refresh is only logged,
            # and the old value stays until the next attempt.
            log.debug("cache load failed", exc_info=task.exception())
