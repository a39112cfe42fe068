"""The report job: scheduled in the same transaction that ends a show (so a crash can lose
neither), run ``REPORT_DELAY_SECONDS`` later by the durable job runner, once per show."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.analytics.report import service
from livecircle.analytics.report.errors import ShowNotEnded
from livecircle.analytics.store import EventStore
from livecircle.kit import jobs
from livecircle.kit.clock import utcnow
from livecircle.kit.db import Database, one_sqlite_writer
from livecircle.kit.jobs import JobRunner
from livecircle.live.events import ShowEnded

JOB = "analytics.build_report"
# Viewers' last events (their sockets closing, the last like tick) arrive just after the end.
REPORT_DELAY_SECONDS = 2.0
# A build takes seconds (up to ~10 s beside 10M events); a claim older than this is retried.
LEASE_SECONDS = 120.0


def job_key(show_id: int) -> str:
    return f"analytics.report:{show_id}"


def register(db: Database, runner: JobRunner, store: EventStore) -> None:
    """Schedule a report whenever a show ends, and run the job that builds it."""

    async def schedule_reports(session: AsyncSession) -> None:
        ended = [e for e in session.info.get("events", ()) if isinstance(e, ShowEnded)]
        if ended:
            await one_sqlite_writer(session)
        for event in ended:
            run_at = utcnow() + timedelta(seconds=REPORT_DELAY_SECONDS)
            await jobs.schedule(
                session, JOB, key=job_key(event.show_id), run_at=run_at, payload={"show_id": event.show_id}
            )

    async def build(session: AsyncSession, payload: dict[str, Any]) -> None:
        try:
            await service.do_build_and_store(session, store, int(payload["show_id"]))
        except ShowNotEnded:  # only an ended show has a report; nothing to retry
            return

    db.before_commit.append(schedule_reports)
    runner.register(JOB, build, lease_seconds=LEASE_SECONDS)
