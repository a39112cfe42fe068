"""Plugs consent and retention into the app: their routers, the guardian's mail job, and the
daily retention purge with its hooks (scheduled at start-up: one durable job per date)."""

from __future__ import annotations

from fastapi import APIRouter

from livecircle.analytics.store import EventStore
from livecircle.config import Settings
from livecircle.kit.clock import utcnow
from livecircle.kit.db import Database
from livecircle.kit.i18n import Translator
from livecircle.kit.jobs import JobRunner
from livecircle.privacy.purge import Purger, schedule_next
from livecircle.web import consent_api, consent_pages, guardian_pages, retention_hooks

ROUTERS: tuple[APIRouter, ...] = (consent_api.router, consent_pages.router, guardian_pages.router)


async def install(
    db: Database, runner: JobRunner, settings: Settings, translator: Translator, store: EventStore | None
) -> Purger:
    """Register the jobs on ``runner`` and schedule the next purge; returns the app's purger."""
    guardian_pages.register_jobs(runner, settings, translator)
    purger = Purger(db, settings)
    retention_hooks.install(purger, settings, store)
    purger.register_job(runner)
    async with db.unit_of_work() as session:
        await schedule_next(session, after=utcnow())
    return purger
