"""Notification background work: the reminder job on the runner, and the worker that
re-plans show reminders and sends deliveries (``delivery.Sender``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.config import Settings
from livecircle.growth.notify import activity_reminders, reminders
from livecircle.growth.notify.delivery import Sender
from livecircle.kit.clock import utcnow
from livecircle.kit.db import Database
from livecircle.kit.i18n import Translator
from livecircle.kit.jobs import JobRunner

log = logging.getLogger(__name__)
Remind = Callable[..., Awaitable[int]]
STOP_GRACE_SECONDS = 5.0  # a send under way may finish when the node stops


def register_jobs(runner: JobRunner, settings: Settings, translator: Translator) -> None:
    """The show and activity reminders. Settings are read when a job runs (they may change)."""

    def translate(message: str) -> str:
        return translator.gettext(settings.default_locale, message)

    def handler(remind: Remind) -> Callable[[AsyncSession, dict[str, Any]], Awaitable[None]]:
        async def run(session: AsyncSession, payload: dict[str, Any]) -> None:
            await remind(session, payload, translate=translate, email=bool(settings.growth.smtp.host))

        return run

    runner.register(reminders.REMIND_JOB, handler(reminders.on_remind_job))
    runner.register(activity_reminders.REMIND_JOB, handler(activity_reminders.on_remind_job))


class NotifyWorker:
    """Two loops per node: re-plan show reminders every ``growth.reminder_sync_seconds``, and
    send due deliveries. Settings are read on every pass (they may change at run time)."""

    def __init__(self, db: Database, settings: Settings, translator: Translator, runner: JobRunner) -> None:
        self.db = db
        self.settings = settings
        self.sender = Sender(
            db,
            settings,
            translator,
            backoff_seconds=runner.backoff_seconds,
            max_attempts=runner.max_attempts,
        )
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await self.sender.open()
        self._stop = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self._every(self.sync_reminders, self._sync_seconds), name="notify-sync"),
            asyncio.create_task(
                self._every(self._send, lambda: self.sender.every, hurry=True), name="notify-send"
            ),
        ]

    async def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=STOP_GRACE_SECONDS)
            for task in pending:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._tasks = []
        await self.sender.close()

    def wake(self) -> None:
        """Re-plan reminders now rather than at the next interval."""
        self._wake.set()

    async def sync_reminders(self) -> int:
        lead = timedelta(minutes=self.settings.growth.reminder_lead_minutes)
        async with self.db.unit_of_work() as session:
            return await reminders.do_sync_reminders(session, lead=lead, now=utcnow())

    async def _send(self) -> int:
        sent = await self.sender.run_due()
        return 0 if sent < self.settings.growth.delivery_batch else sent  # a full batch: go on at once

    def _sync_seconds(self) -> float:
        return self.settings.growth.reminder_sync_seconds

    async def _every(
        self, step: Callable[[], Awaitable[int]], seconds: Callable[[], float], *, hurry: bool = False
    ) -> None:
        """Run ``step`` until stopped, ``seconds()`` apart; with ``hurry``, at once again while
        it reports more work."""
        while not self._stop.is_set():
            busy = 0
            try:
                busy = await step()
            except Exception:
                log.exception("notification pass %s failed", step.__name__)
            if hurry and busy:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=seconds())
            self._wake.clear()
