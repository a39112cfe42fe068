"""One shape for the process's periodic background work (batched writes, counters, recorders)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
Step = Callable[[], Awaitable[None]]
K = TypeVar("K", bound=Hashable)


class Periodic:
    """Run ``step`` every ``interval`` seconds until stopped, then ``final`` once.

    A failing step is logged and retried; the wait doubles after each failure, up to
    ``max_backoff``, and returns to ``interval`` after a success.
    """

    def __init__(
        self, name: str, interval: float, step: Step, *, final: Step | None = None, max_backoff: float = 5.0
    ) -> None:
        self.name = name
        self.interval = interval
        self.step = step
        self.final = final
        self.max_backoff = max(max_backoff, interval)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.final is not None:
            await self.final()

    async def _run(self) -> None:
        wait = self.interval
        while True:
            await asyncio.sleep(wait)
            try:
                await self.step()
                wait = self.interval
            except Exception:
                log.exception("%s failed; retrying", self.name)
                wait = min(wait * 2, self.max_backoff)


class Coalescer(Generic[K]):
    """Run ``action(key)`` at most once per ``every`` seconds per key, however often the key
    is touched: a vote storm becomes one results broadcast per interval, and the last touch
    is always followed by a run. Also a per-key delay: touches while one is pending are one.
    ``every`` may be a function, read at each touch (a rule that may change at run time).

    Runs of one key never overlap: a run touched while the previous one still works (reads the
    database, publishes) waits for it, so what it publishes always comes after, and is newer
    than, what the previous run published (a snapshot read before a change can no longer land
    after the snapshot read after it)."""

    def __init__(self, action: Callable[[K], Awaitable[None]], *, every: float | Callable[[], float]) -> None:
        self.action = action
        self.every = every
        self._pending: set[K] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._locks: dict[K, tuple[asyncio.Lock, int]] = {}  # per key: its lock, runs holding or waiting

    def touch(self, key: K) -> None:
        if key in self._pending:
            return
        self._pending.add(key)
        task = asyncio.create_task(self._run(key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, key: K) -> None:
        await asyncio.sleep(self.every() if callable(self.every) else self.every)
        self._pending.discard(key)
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                await self.action(key)
        except Exception:
            log.exception("coalesced action for %s failed", key)
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)
