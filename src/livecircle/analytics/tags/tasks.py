"""The hourly tagging run per tenant (a durable job that schedules the next one)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.analytics.store import EventStore
from livecircle.analytics.tags import service
from livecircle.kit.clock import utcnow
from livecircle.kit.jobs import JobRunner


def register_jobs(runner: JobRunner, store: EventStore) -> None:
    async def run(session: AsyncSession, payload: dict[str, Any]) -> None:
        tenant_id = int(payload["tenant_id"])
        now = utcnow()
        await service.do_run_tags(session, store, tenant_id=tenant_id, as_of=now)
        await service.schedule_next_run(session, tenant_id=tenant_id, after=now)

    runner.register(service.RUN_JOB, run, lease_seconds=600.0)  # long: the writer is not held meanwhile
