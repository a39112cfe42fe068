"""The node's marketing machinery: the scheduler pass as a durable job, once a minute.

Every node makes sure the job of the current minute exists (``kit.jobs.schedule`` with one
key per minute: several nodes schedule it once); the job runner runs it on one node. The
pass itself is idempotent, so a retried or doubled pass sends nothing twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.analytics.store import EventStore
from livecircle.kit import jobs
from livecircle.kit.background import Periodic
from livecircle.kit.clock import utcnow
from livecircle.kit.db import Database
from livecircle.kit.jobs import JobRunner
from livecircle.marketing.engine import Scheduler

TICK_JOB = "marketing.tick"
TICK_SECONDS = 60
LEASE_SECONDS = 600.0


def tick_key(now: datetime) -> str:
    return f"{TICK_JOB}:{now:%Y%m%d%H%M}"


class Marketing:
    """``automatic``: whether this node's ticks run passes (tests drive passes themselves,
    with their own clock, and switch it off)."""

    def __init__(self, db: Database, store: EventStore, *, secret: str) -> None:
        self.db = db
        self.scheduler = Scheduler(db, store, secret=secret)
        self.automatic = True
        self._ensure = Periodic(TICK_JOB, TICK_SECONDS / 2, self.ensure_tick)

    def register_jobs(self, runner: JobRunner) -> None:
        runner.register(TICK_JOB, self._tick, lease_seconds=LEASE_SECONDS)

    async def _tick(self, session: AsyncSession, payload: dict[str, Any]) -> None:
        if self.automatic:
            await self.scheduler.run_pass()

    async def ensure_tick(self) -> None:
        """The job of this minute, scheduled once whatever the number of nodes."""
        now = utcnow().replace(second=0, microsecond=0)
        async with self.db.unit_of_work() as session:
            await jobs.schedule(session, TICK_JOB, key=tick_key(now), run_at=now, payload={})

    async def start(self) -> None:
        await self.ensure_tick()
        self._ensure.start()

    async def stop(self) -> None:
        await self._ensure.stop()
