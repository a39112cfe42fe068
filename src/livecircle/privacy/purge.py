"""The daily retention purge (see ``privacy.retention`` for the rules it applies).

``Purger.run`` walks every table of the data map, one short transaction per table, children
before parents; then runs the hooks higher layers registered for tables with rules of their
own (sessions and tokens, raw analytics events, export files, the audit log). Each step only
touches rows still past their window and not yet purged, so a second run changes nothing and
a run cut short by a crash is finished by the next one. The job ``privacy.retention_purge``
runs once a day (one durable job per date, scheduled by the previous run and at start-up).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import JSON, Column, String, Table, Text, UniqueConstraint, cast, delete, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.kit import jobs
from livecircle.kit.clock import utcnow
from livecircle.kit.db import Base, Database, one_sqlite_writer
from livecircle.kit.jobs import JobRunner
from livecircle.privacy import audit
from livecircle.privacy.datamap import PERSONAL, Erase, Personal
from livecircle.privacy.retention import Retention, window_of, windows

log = logging.getLogger(__name__)

PURGE_JOB = "privacy.retention_purge"
RUN_AT = time(3, 30)  # UTC, a quiet hour
LEASE_SECONDS = 1800.0
# The row's time, in this order of preference (a table may name its own: info={"retention_at": ...}).
TIMESTAMPS = (
    "created_at",
    "ts",
    "at",
    "issued_at",
    "joined_at",
    "earned_at",
    "awarded_at",
    "opened_at",
    "credited_at",
    "computed_at",
    "merged_at",
    "applied_at",
    "last_seen_at",
    "updated_at",
)
Windows = dict[Retention, int | None]
HookFn = Callable[[Database, datetime, Windows], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class Hook:
    name: str
    run: HookFn
    tables: frozenset[str]  # the tables it owns: the generic walk leaves them alone


@dataclass
class Report:
    changed: dict[str, int] = field(default_factory=dict)  # table or hook -> rows deleted or rewritten
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.changed.values())


@dataclass(frozen=True, slots=True)
class Step:
    """What the walk does to one table: delete past ``delete_days``, blank columns past theirs."""

    table: Table
    stamp: Column[Any]
    delete_days: int | None
    blanks: tuple[tuple[Column[Any], int], ...]


def _tag(column: Column[Any]) -> Personal | None:
    tag = column.info.get(PERSONAL)
    return tag if isinstance(tag, Personal) else None


def _stamp(table: Table) -> Column[Any] | None:
    name = table.info.get("retention_at")
    names = (name,) if isinstance(name, str) else TIMESTAMPS
    return next((table.c[n] for n in names if n in table.c), None)


def _unique(table: Table, column: Column[Any]) -> bool:
    """Part of a key, a unique constraint or a unique index: two blanks would collide."""
    if column.primary_key or column.unique:
        return True
    groups = [c.columns for c in table.constraints if isinstance(c, UniqueConstraint)]
    groups += [i.columns for i in table.indexes if i.unique]
    return any(column.name in group for group in groups)


def _blankable(table: Table, column: Column[Any]) -> bool:
    """NULL when nullable; else "" or {} for text and JSON, unless unique."""
    if column.primary_key:
        return False
    if column.nullable:
        return True
    return isinstance(column.type, String | Text | JSON) and not _unique(table, column)


def _window(tag: Personal, table: Table, days: Windows) -> int | None:
    """A column's window. ``session`` rows go by their expiry, so only a table that names that
    clock (``info={"retention_at": "expires_at"}``) is purged by the walk; others by a hook."""
    if tag.retention == Retention.SESSION and "retention_at" not in table.info:
        return None
    return window_of(tag.retention, days)


def plan(days: Windows, *, skip: frozenset[str] = frozenset()) -> list[Step]:
    """The steps for every tagged table with a clock and a class that has a window."""
    steps = []
    for table in reversed(Base.metadata.sorted_tables):  # children before parents
        stamp = _stamp(table)
        if table.name in skip or stamp is None:
            continue
        tagged = [(c, t) for c in table.columns if (t := _tag(c)) is not None]
        deleting = [
            w
            for c, t in tagged
            if t.subject and t.erase == Erase.DELETE and (w := _window(t, table, days)) is not None
        ]
        delete_days = max(deleting) if deleting else None
        blanks = tuple(
            (c, w)
            for c, t in tagged
            if (w := _window(t, table, days)) is not None
            and not (t.subject and not c.nullable)
            and _blankable(table, c)
        )
        if delete_days is not None or blanks:
            steps.append(Step(table, stamp, delete_days, blanks))
    return steps


def _not_blank(column: Column[Any]) -> Any:
    if column.nullable:
        return column.is_not(None)
    if isinstance(column.type, JSON):
        return cast(column, String) != "{}"
    return column != ""


def _blank_value(column: Column[Any]) -> Any:
    if column.nullable:
        return None
    return {} if isinstance(column.type, JSON) else ""


async def apply(session: AsyncSession, step: Step, now: datetime) -> int:
    """Run one step in the caller's transaction; returns the rows it changed."""
    changed = 0
    if step.delete_days is not None:
        cutoff = now - timedelta(days=step.delete_days)
        result = await session.execute(delete(step.table).where(step.stamp < cutoff))
        changed += int(getattr(result, "rowcount", 0) or 0)
    for column, days in step.blanks:
        cutoff = now - timedelta(days=days)
        result = await session.execute(
            update(step.table)
            .where(step.stamp < cutoff, _not_blank(column))
            .values({column.name: _blank_value(column)})
        )
        changed += int(getattr(result, "rowcount", 0) or 0)
    return changed


class Purger:
    """One per app: the hooks this process registered, and the run."""

    def __init__(self, db: Database, settings: Any = None) -> None:
        self.db = db
        self.settings = settings
        self.hooks: dict[str, Hook] = {}

    def register_hook(self, name: str, run: HookFn, *, tables: tuple[str, ...] = ()) -> None:
        self.hooks[name] = Hook(name, run, frozenset(tables))

    async def run(self, now: datetime | None = None) -> Report:
        """Purge everything past its window at ``now``; returns what changed."""
        now = now or utcnow()
        days = windows(self.settings)
        owned = frozenset(t for hook in self.hooks.values() for t in hook.tables)
        report = Report()
        for step in plan(days, skip=owned):
            await self._step(step, now, report)
        for hook in self.hooks.values():
            try:
                changed = await hook.run(self.db, now, days)
            except Exception as exc:
                log.exception("retention hook %s failed", hook.name)
                report.failed[hook.name] = f"{type(exc).__name__}: {exc}"[:300]
                continue
            if changed:
                report.changed[hook.name] = changed
        return report

    async def _step(self, step: Step, now: datetime, report: Report) -> None:
        try:
            async with self.db.unit_of_work() as session:
                await one_sqlite_writer(session)
                changed = await apply(session, step, now)
        except DBAPIError as exc:  # e.g. a row still referenced without ON DELETE CASCADE
            log.warning("retention purge of %s failed: %s", step.table.name, exc)
            report.failed[step.table.name] = str(exc.orig)[:300]
            return
        if changed:
            report.changed[step.table.name] = changed

    def register_job(self, runner: JobRunner) -> None:
        async def run(session: AsyncSession, payload: dict[str, Any]) -> None:
            report = await self.run()
            if report.total or report.failed:
                log.info("retention purge: %s", {"changed": report.changed, "failed": report.failed})
                await audit.record(
                    session,
                    action="retention.purge",
                    target="retention",
                    purpose="scheduled purge of personal data past its retention window (PIPL art. 19, 47)",
                    actor_role="system",
                    detail={"changed": report.changed, "failed": report.failed},
                )
            await schedule_next(session, after=utcnow())

        runner.register(PURGE_JOB, run, lease_seconds=LEASE_SECONDS)


def next_run(after: datetime) -> datetime:
    today = after.replace(hour=RUN_AT.hour, minute=RUN_AT.minute, second=0, microsecond=0)
    return today if today > after else today + timedelta(days=1)


async def schedule_next(session: AsyncSession, *, after: datetime) -> None:
    """The next daily run (one job per date: scheduling it twice changes nothing)."""
    run_at = next_run(after)
    await jobs.schedule(session, PURGE_JOB, key=f"{PURGE_JOB}:{run_at:%Y%m%d}", run_at=run_at, payload={})
