"""Durable jobs: work due at a time (an unpaid order's timeout, a reminder), kept in the
database so that a restart or a crash loses none and runs none twice.

``schedule`` adds the job inside the caller's transaction: a request that rolls back
schedules nothing, and one that commits cannot lose its job (enqueue-on-commit for free).
``JobRunner`` takes due jobs with ``FOR UPDATE SKIP LOCKED`` (several nodes share the
table without running a job twice) and runs each handler inside the same transaction that
marks the job done, so the handler's writes and "done" commit together or not at all: a
node killed mid-job leaves the job pending, and the next runner does it again from
scratch. A failing handler is retried with back-off and given up after ``max_attempts``.
Done jobs are deleted ``keep_done_days`` after they ran (periodic work schedules a job a
minute; their keys are never scheduled again that late), failed ones are kept for a look.

Why not a library: APScheduler 3's job stores are synchronous, pickle callables and do
not support several schedulers on one store; arq, saq and procrastinate need Redis or
PostgreSQL, and the embedded default is SQLite. None enqueues inside our transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from livecircle.kit.clock import utcnow
from livecircle.kit.db import Base, Database, UtcDateTime, dialect_insert, one_sqlite_writer

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, dict[str, Any]], Awaitable[None]]
PRUNE_EVERY_SECONDS = 3600.0


class Job(Base):
    __tablename__ = "kit_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    # One job per key: scheduling the same key again changes nothing.
    key: Mapped[str] = mapped_column(String(255), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending, done, failed
    run_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


async def schedule(
    session: AsyncSession, name: str, *, key: str, run_at: datetime, payload: Mapping[str, Any]
) -> None:
    """Schedule ``name`` with ``payload`` at ``run_at``, once per ``key``, in the caller's
    transaction."""
    await session.execute(
        dialect_insert(session, Job)
        .values(name=name, key=key, run_at=run_at, payload=dict(payload))
        .on_conflict_do_nothing(index_elements=["key"])
    )


async def schedule_many(
    session: AsyncSession, name: str, due: Sequence[tuple[str, datetime, Mapping[str, Any]]]
) -> None:
    """``schedule`` of several (key, run_at, payload) in one statement."""
    rows = [
        {"name": name, "key": key, "run_at": run_at, "payload": dict(payload)} for key, run_at, payload in due
    ]
    if rows:
        await session.execute(
            dialect_insert(session, Job).on_conflict_do_nothing(index_elements=["key"]), rows
        )


async def cancel(session: AsyncSession, key: str) -> None:
    """Drop a pending job (the thing it would have done happened another way)."""
    await session.execute(
        update(Job).where(Job.key == key, Job.state == "pending").values(state="done", done_at=utcnow())
    )


async def get(session: AsyncSession, key: str) -> Job | None:
    return await session.scalar(select(Job).where(Job.key == key))


class JobRunner:
    """Runs due jobs every ``every`` seconds, ``batch`` at a time, in one transaction."""

    def __init__(
        self,
        db: Database,
        *,
        every: float = 0.5,
        batch: int = 50,
        max_attempts: int = 8,
        backoff_seconds: float = 2.0,
        keep_done_days: float = 7.0,
    ) -> None:
        self.db = db
        self.keep_done = timedelta(days=keep_done_days)
        self._pruned_at = 0.0
        self.every = every
        self.batch = batch
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.handlers: dict[str, Handler] = {}
        self.leases: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    def register(self, name: str, handler: Handler, *, lease_seconds: float | None = None) -> None:
        """``lease_seconds``: a long job (a report, a tagging run). It is claimed for that
        long in a short transaction, then runs in a transaction of its own that also marks it
        done: the batch's transaction (and on SQLite the one writer) is not held meanwhile.
        A node that dies mid-run leaves the claim to expire, and the job runs again."""
        self.handlers[name] = handler
        if lease_seconds is not None:
            self.leases[name] = lease_seconds

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="job-runner")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                ran = await self.run_due()
                if loop.time() - self._pruned_at > PRUNE_EVERY_SECONDS:
                    self._pruned_at = loop.time()
                    await self.prune_done()
            except Exception:
                log.exception("job runner pass failed")
                ran = 0
            if ran < self.batch:
                await asyncio.sleep(self.every)

    async def prune_done(self, now: datetime | None = None) -> int:
        """Delete the jobs done more than ``keep_done_days`` ago; returns how many."""
        cutoff = (now or utcnow()) - self.keep_done
        async with self.db.unit_of_work() as session:
            await one_sqlite_writer(session)
            result = await session.execute(
                delete(Job).where(Job.state == "done", Job.done_at < cutoff),
                execution_options={"synchronize_session": False},
            )
        return int(getattr(result, "rowcount", 0) or 0)

    async def run_due(self, now: datetime | None = None) -> int:
        """Run the jobs due at ``now``; returns how many were taken."""
        now = now or utcnow()
        short = [name for name in self.handlers if name not in self.leases]
        taken = await self._run_batch(now, short) if short else 0
        if self.leases:
            taken += await self._run_leased(now)
        return taken

    async def _run_leased(self, now: datetime) -> int:
        due = (Job.state == "pending") & (Job.run_at <= now) & Job.name.in_(list(self.leases))
        async with self.db.unit_of_work() as session:
            if await session.scalar(select(Job.id).where(due).limit(1)) is None:
                return 0
            await one_sqlite_writer(session)
            job = await session.scalar(
                select(Job).where(due).order_by(Job.run_at, Job.id).limit(1).with_for_update(skip_locked=True)
            )
            if job is None:
                return 0
            job.attempts += 1
            job.run_at = now + timedelta(seconds=self.leases[job.name])
            claimed = (job.id, job.name, dict(job.payload), job.attempts)
        job_id, name, payload, attempts = claimed
        try:
            async with self.db.unit_of_work() as session:
                await self.handlers[name](session, payload)
                await session.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.state == "pending")
                    .values(state="done", done_at=utcnow())
                )
        except Exception as exc:
            log.exception("job %s (%s) failed", job_id, name)
            await self._failed(job_id, attempts, exc, now)
        return 1

    async def _failed(self, job_id: int, attempts: int, exc: Exception, now: datetime) -> None:
        retry_at = now + timedelta(seconds=self.backoff_seconds * 2 ** (attempts - 1))
        async with self.db.unit_of_work() as session:
            await one_sqlite_writer(session)
            await session.execute(
                update(Job)
                .where(Job.id == job_id, Job.state == "pending")
                .values(
                    last_error=f"{type(exc).__name__}: {exc}"[:2000],
                    state="failed" if attempts >= self.max_attempts else "pending",
                    run_at=retry_at,
                )
            )

    async def _run_batch(self, now: datetime, names: list[str]) -> int:
        due = (Job.state == "pending") & (Job.run_at <= now) & Job.name.in_(names)
        async with self.db.unit_of_work() as session:
            # Most passes find nothing: ask first, so an idle pass never queues for SQLite's writer.
            if await session.scalar(select(Job.id).where(due).limit(1)) is None:
                return 0
            await one_sqlite_writer(session)
            jobs = (
                await session.scalars(
                    select(Job)
                    .where(due)
                    .order_by(Job.run_at, Job.id)
                    .limit(self.batch)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for job in jobs:
                await self._run_one(session, job, now)
        return len(jobs)

    async def _run_one(self, session: AsyncSession, job: Job, now: datetime) -> None:
        job.attempts += 1
        queued = {name: len(session.info.get(name, ())) for name in ("effects", "events")}
        try:
            async with session.begin_nested():
                await self.handlers[job.name](session, dict(job.payload))
        except Exception as exc:
            log.exception("job %s (%s) failed", job.key, job.name)
            for name, count in queued.items():  # what the failed handler queued did not happen
                del session.info.get(name, [])[count:]
            job.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if job.attempts >= self.max_attempts:
                job.state = "failed"
            else:
                job.run_at = now + timedelta(seconds=self.backoff_seconds * 2 ** (job.attempts - 1))
            return
        job.state, job.done_at = "done", utcnow()
