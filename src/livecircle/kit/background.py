"""One shape for the process's periodic background work (batched writes, counters, recorders)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)
Step = Callable[[], Awaitable[None]]


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
