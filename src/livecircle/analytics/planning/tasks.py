"""The suggestion job (hourly per tenant once the tenant has looked at its suggestions, and
soon after each show ends) and the hook that marks a topic used when its show goes live."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.analytics.planning import service, suggest
from livecircle.analytics.store import EventStore
from livecircle.kit.clock import utcnow
from livecircle.kit.db import Database, one_sqlite_writer
from livecircle.kit.jobs import JobRunner
from livecircle.live.events import ShowEnded, ShowStarted

# The show's last chat lines and orders are stored (and replicated) by then.
AFTER_SHOW = timedelta(seconds=30)
LEASE_SECONDS = 300.0


def register(db: Database, runner: JobRunner, store: EventStore) -> None:
    async def run(session: AsyncSession, payload: dict[str, Any]) -> None:
        tenant_id = int(payload["tenant_id"])
        await suggest.do_refresh(session, store, tenant_id=tenant_id)
        if payload.get("chain"):
            await suggest.schedule_next(session, tenant_id=tenant_id, after=utcnow())

    async def on_commit(session: AsyncSession) -> None:
        queued = session.info.get("events", ())
        started = [e.show_id for e in queued if isinstance(e, ShowStarted)]
        ended = [e for e in queued if isinstance(e, ShowEnded)]
        if started:
            await service.do_mark_used(session, started)
        if ended:
            await one_sqlite_writer(session)
        for event in ended:
            at, tenant_id = utcnow() + AFTER_SHOW, event.tenant_id
            await suggest.schedule_after_show(session, tenant_id=tenant_id, show_id=event.show_id, at=at)

    db.before_commit.append(on_commit)
    runner.register(suggest.RUN_JOB, run, lease_seconds=LEASE_SECONDS)
