"""Long durable jobs (reports, tagging runs): claimed with a lease in a short transaction,
run in a transaction of their own that also marks them done. The batch transaction, and on
SQLite the one writer, stay free while they run; a claim whose node died expires and the job
runs again; a failure rolls the job's writes back and retries later."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.kit import jobs
from livecircle.kit.clock import utcnow
from livecircle.kit.db import one_sqlite_writer
from livecircle.kit.jobs import Job, JobRunner
from livecircle.kit.tracking import AnalyticsEvent, event_row, insert_rows
from tests.conftest import RunningServer


async def plan(server: RunningServer, name: str, key: str) -> None:
    async with server.db.unit_of_work() as session:
        await jobs.schedule(session, name, key=key, run_at=utcnow(), payload={"key": key})


async def job(server: RunningServer, key: str) -> Job:
    async with server.db.sessionmaker() as session:
        found = await jobs.get(session, key)
        assert found is not None
        return found


async def events_with(server: RunningServer, event_id: str) -> int:
    async with server.db.sessionmaker() as session:
        count = await session.scalar(select(func.count()).where(AnalyticsEvent.event_id == event_id))
        return int(count or 0)


async def test_a_long_job_leaves_the_writer_free_and_commits_with_its_done_mark(
    server: RunningServer,
) -> None:
    name, key = f"test.long.{uuid.uuid4().hex[:8]}", f"long:{uuid.uuid4().hex}"
    runner = JobRunner(server.db)
    seen: list[dict[str, Any]] = []

    async def other_writer() -> None:
        async with server.db.unit_of_work() as session:
            await one_sqlite_writer(session)
            await insert_rows(session, [event_row("share", event_id=f"{key}:other", tenant_id=1)])

    async def long_job(session: AsyncSession, payload: dict[str, Any]) -> None:
        # Another transaction writes while this job runs: it would wait forever (SQLite) if
        # the runner still held the writer for the claim.
        await asyncio.wait_for(other_writer(), timeout=5)
        await one_sqlite_writer(session)
        await insert_rows(session, [event_row("share", event_id=f"{key}:job", tenant_id=1)])
        seen.append(payload)

    runner.register(name, long_job, lease_seconds=60)
    await plan(server, name, key)
    assert await runner.run_due() == 1
    assert seen == [{"key": key}]
    assert (await job(server, key)).state == "done"
    assert await events_with(server, f"{key}:other") == await events_with(server, f"{key}:job") == 1
    assert await runner.run_due() == 0  # done: never again


async def test_a_claim_whose_node_died_expires_and_a_failure_retries_without_its_writes(
    server: RunningServer,
) -> None:
    name, key = f"test.long.{uuid.uuid4().hex[:8]}", f"long:{uuid.uuid4().hex}"
    attempts: list[int] = []

    async def flaky(session: AsyncSession, payload: dict[str, Any]) -> None:
        attempts.append(1)
        await one_sqlite_writer(session)
        await insert_rows(session, [event_row("share", event_id=f"{key}:{len(attempts)}", tenant_id=1)])
        if len(attempts) == 1:
            raise RuntimeError("the first run fails")

    runner = JobRunner(server.db, backoff_seconds=30)
    runner.register(name, flaky, lease_seconds=60)
    await plan(server, name, key)
    assert await runner.run_due() == 1
    failed = await job(server, key)
    assert (failed.state, failed.attempts) == ("pending", 1)
    assert failed.last_error is not None
    assert "first run fails" in failed.last_error
    assert await events_with(server, f"{key}:1") == 0  # the failed run's writes rolled back
    assert await runner.run_due() == 0  # backing off
    assert await runner.run_due(utcnow() + timedelta(seconds=31)) == 1
    assert (await job(server, key)).state == "done"
    assert await events_with(server, f"{key}:2") == 1

    # A node claims a job and dies before running it: the lease expires, another node runs it.
    key2 = f"long:{uuid.uuid4().hex}"
    await plan(server, name, key2)
    async with server.db.unit_of_work() as session:
        claimed = await jobs.get(session, key2)
        assert claimed is not None
        claimed.attempts, claimed.run_at = 1, utcnow() + timedelta(seconds=60)  # what a claim does
    assert await runner.run_due() == 0
    assert await runner.run_due(utcnow() + timedelta(seconds=61)) == 1
    assert (await job(server, key2)).state == "done"


async def test_done_jobs_are_deleted_after_the_keep_window_and_nothing_else(server: RunningServer) -> None:
    tag = uuid.uuid4().hex[:8]
    name = f"test.prune.{tag}"
    runner = JobRunner(server.db, keep_done_days=7)

    async def fails(session: AsyncSession, payload: dict[str, Any]) -> None:
        if payload["key"].endswith(":failed"):
            raise RuntimeError("planted failure")

    runner.register(name, fails)
    runner.max_attempts = 1
    for what in ("old", "recent", "failed"):
        await plan(server, name, f"prune:{tag}:{what}")
    await plan(server, name + ".pending", f"prune:{tag}:pending")  # no handler here: stays pending
    assert await runner.run_due() == 3
    async with server.db.unit_of_work() as session:
        old = await jobs.get(session, f"prune:{tag}:old")
        assert old is not None
        assert old.done_at is not None
        old.done_at -= timedelta(days=8)
    assert await runner.prune_done() >= 1
    left = {k.rsplit(":", 1)[1]: (await job(server, k)).state for k in
            (f"prune:{tag}:{w}" for w in ("recent", "failed", "pending"))}  # fmt: skip
    assert left == {"recent": "done", "failed": "failed", "pending": "pending"}
    async with server.db.sessionmaker() as session:
        assert await jobs.get(session, f"prune:{tag}:old") is None
