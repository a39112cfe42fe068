"""The erasure runner: an account's personal data goes everywhere, driven by the data map.

For every table with a linking column (``privacy.subjects``), children before parents and
the account's own row last, in one short transaction per table:

- rows found through an ``Erase.DELETE`` column are deleted (rows of other tables that point
  at them without ``ON DELETE`` are deleted or unlinked first);
- rows found through an ``Erase.ANONYMISE`` column stay: that column and the row's other
  personal columns get placeholders (``privacy.anonymise``);
- rows found through an ``Erase.LEGAL_HOLD`` column stay for the law: they get a hold record
  (``privacy.legal_hold``) and the subject's pseudonym in place of their id; the other
  personal fields the law needs (amounts, payment references) stay, the rest are blanked.

Each step only touches rows that still name the subject, so the run is idempotent: a run
cut short (a crash, a restart) is finished by running it again, which the durable job does.
Domains above ``privacy`` add what the database does not hold (caches, ring buffers, the
analytics replicas) through ``ErasureHooks``; a replicated table's rewritten rows are written
to ``privacy_replica_rewrite`` for every node to re-read.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Column, ColumnElement, MetaData, Table, delete, insert, null, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.config import Settings
from livecircle.kit.clock import utcnow
from livecircle.kit.db import Base, Database, one_sqlite_writer
from livecircle.privacy import audit, kit_tags
from livecircle.privacy.anonymise import DELETED_NAME, KEEP, Placeholders, other_value, subject_value
from livecircle.privacy.datamap import Erase, tag_of, tagged
from livecircle.privacy.legal_hold import hold_rows
from livecircle.privacy.models import DONE, RUNNING, DeletionRequest, ReplicaRewrite
from livecircle.privacy.pseudonym import opaque, pseudonym_key, pseudonyms
from livecircle.privacy.retention import Retention, window_of, windows
from livecircle.privacy.subjects import Link, Subject, aliases_of, links, walk_tables

log = logging.getLogger(__name__)

ERASE_JOB = "privacy.erase"
LEASE_SECONDS = 900.0
REWRITE_CHUNK = 2000
_OWN_TABLES = ("privacy_deletion",)  # the request itself: finished last, kept as proof
assert kit_tags.TAGS  # the kit tables are tagged before the map is walked


@dataclass(frozen=True, slots=True)
class ErasureContext:
    request_id: int
    user_id: int
    tenant_id: int
    pseudonym: int
    aliases: frozenset[str]
    placeholders: Placeholders


Before = Callable[[AsyncSession, ErasureContext], Awaitable[None]]
After = Callable[[ErasureContext], Awaitable[None]]


@dataclass
class ErasureHooks:
    """What domains above ``privacy`` add to an erasure: ``before`` runs in a transaction of its
    own ahead of the table walk (while the rows still name the subject), ``after`` once the
    erasure committed; ``replicated`` names tables other nodes copy (they re-read the rows)."""

    before: list[Before] = field(default_factory=list)
    after: list[After] = field(default_factory=list)
    replicated: set[str] = field(default_factory=set)


class Eraser:
    def __init__(
        self, db: Database, settings: Settings, hooks: ErasureHooks, metadata: MetaData | None = None
    ) -> None:
        self.db = db
        self.settings = settings
        self.hooks = hooks
        self.metadata = metadata or Base.metadata
        self.key = pseudonym_key(settings.secret_key)

    async def run(self, request_id: int) -> bool:
        """Erase the account of request ``request_id``; False when there was nothing to do."""
        context = await self._start(request_id)
        if context is None:
            return False
        for hook in self.hooks.before:
            async with self.db.unit_of_work() as session:
                await hook(session, context)
        totals: dict[str, int] = {}
        walk = self.tables()
        for table in walk[:-1]:
            async with self.db.unit_of_work() as session:
                await one_sqlite_writer(session)
                changed = await self.erase_table(session, table, context)
            if changed:
                totals[table.name] = changed
        await self._finish(context, walk[-1], totals)
        for after in self.hooks.after:
            try:
                await after(context)
            except Exception:
                log.exception("erasure hook failed (request %s)", request_id)
        return True

    def tables(self) -> list[Table]:
        """The walk: children first, the accounts' own table (its key names the subject) last."""
        walk = walk_tables(self.metadata, skip=_OWN_TABLES)
        own = [t for t in walk if _is_account_table(t)]
        assert len(own) == 1, "the data map names one table of accounts (a subject primary key)"
        return [t for t in walk if t is not own[0]] + own

    async def _start(self, request_id: int) -> ErasureContext | None:
        async with self.db.unit_of_work() as session:
            await one_sqlite_writer(session)
            request = await session.get(DeletionRequest, request_id)
            if request is None or request.status not in ("scheduled", RUNNING) or request.user_id is None:
                return None
            user_id = request.user_id
            if request.aliases is None:
                request.aliases = sorted(await aliases_of(session, self.metadata, user_id))
            pseudonym = (await pseudonyms(session, self.key, [user_id]))[user_id]
            request.status, request.pseudonym = RUNNING, pseudonym
            request.started_at = request.started_at or utcnow()
            placeholders = Placeholders(
                pseudonym=pseudonym,
                text_pseudonym=opaque(self.key, f"user:{user_id}"),
                deleted_name=DELETED_NAME[self.settings.default_locale],
            )
            await self._tombstone(session, placeholders)
            return ErasureContext(
                request_id=request.id,
                user_id=user_id,
                tenant_id=request.tenant_id,
                pseudonym=pseudonym,
                aliases=frozenset(request.aliases),
                placeholders=placeholders,
            )

    async def _tombstone(self, session: AsyncSession, p: Placeholders) -> None:
        """The placeholder account the pseudonym stands for, so that columns that must name an
        account (foreign keys that may not be empty) can name it: no e-mail, no password."""
        for table in self.tables()[-1:]:
            key = next(iter(table.primary_key.columns))
            if await session.scalar(select(key).where(key == p.pseudonym)) is not None:
                continue
            values: dict[str, Any] = {key.name: p.pseudonym}
            for column in table.columns:
                if column.primary_key or column.nullable or column.default is not None:
                    continue
                values[column.name] = _tombstone_value(column, p)
            await session.execute(insert(table).values(values))

    async def erase_table(self, session: AsyncSession, table: Table, context: ErasureContext) -> int:
        """One table's step, in the caller's transaction; returns the rows deleted or rewritten."""
        found = links(table, Subject(context.user_id, context.aliases))
        if not found:
            return 0
        if table.name in self.hooks.replicated:
            await self._note_rewrites(session, table, or_(*(link.condition for link in found)))
        changed = 0
        for link in found:
            if link.tag.erase == Erase.DELETE:
                changed += await self._delete(session, table, link.condition)
        for link in found:
            if link.tag.erase != Erase.DELETE:
                changed += await self._keep(session, table, link, context)
        return changed

    async def _keep(self, session: AsyncSession, table: Table, link: Link, context: ErasureContext) -> int:
        if link.tag.erase == Erase.LEGAL_HOLD:
            await hold_rows(
                session,
                table,
                link.condition,
                pseudonym=context.pseudonym,
                reason=link.tag.purpose,
                until=utcnow() + timedelta(days=self._hold_days(link.tag.retention)),
            )
        values = self._new_values(table, link, context.placeholders)
        if not values:
            return 0
        result = await session.execute(update(table).where(link.condition).values(values))
        return int(getattr(result, "rowcount", 0) or 0)

    def _new_values(self, table: Table, link: Link, p: Placeholders) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if link.tag.subject or link.tag.alias:
            values[link.column.name] = _sql_null(link.column, subject_value(link.column, link.tag, p))
        for column, tag in tagged(table):
            if column is link.column or tag.links:
                continue  # other people's ids stay; the row's parent link is no identifier
            value = other_value(table, column, tag, p)
            if value is not KEEP:
                values[column.name] = _sql_null(column, value)
        return values

    def _hold_days(self, retention: str) -> int:
        days = windows(self.settings)
        return window_of(retention, days) or days[Retention.COMMERCE] or 1095

    async def _delete(
        self, session: AsyncSession, table: Table, condition: ColumnElement[bool], depth: int = 0
    ) -> int:
        """Delete the rows, first freeing rows that point at them without ``ON DELETE``."""
        for child in self.metadata.sorted_tables:
            for fk in child.foreign_keys:
                cascades = (fk.ondelete or "NO ACTION").upper() in ("CASCADE", "SET NULL")
                if fk.column.table is not table or cascades or depth > 3:
                    continue
                pointing = fk.parent.in_(select(fk.column).where(condition))
                if fk.parent.nullable:
                    await session.execute(update(child).where(pointing).values({fk.parent.name: None}))
                else:
                    await self._delete(session, child, pointing, depth + 1)
        result = await session.execute(delete(table).where(condition))
        return int(getattr(result, "rowcount", 0) or 0)

    async def _note_rewrites(
        self, session: AsyncSession, table: Table, condition: ColumnElement[bool]
    ) -> None:
        key = next(iter(table.primary_key.columns))
        keys = [int(k) for k in await session.scalars(select(key).where(condition).order_by(key))]
        for start in range(0, len(keys), REWRITE_CHUNK):
            session.add(ReplicaRewrite(table_name=table.name, keys=keys[start : start + REWRITE_CHUNK]))
        await session.flush()

    async def _finish(self, context: ErasureContext, own: Table, totals: dict[str, int]) -> None:
        """The account's own row goes in the transaction that marks the request done: a crash
        before it leaves the request with its account to finish from."""
        async with self.db.unit_of_work() as session:
            await one_sqlite_writer(session)
            if changed := await self.erase_table(session, own, context):
                totals[own.name] = changed
            request = await session.get(DeletionRequest, context.request_id)
            if request is None:
                return
            request.status, request.completed_at = DONE, utcnow()
            request.user_id, request.aliases = None, None
            request.progress = {"tables": totals, "rows": sum(totals.values())}
            await audit.record(
                session,
                action="privacy.deletion.complete",
                target=f"user:{context.user_id}",
                purpose="the member's account was erased at their request (PIPL art. 47, GDPR art. 17)",
                actor_role="system",
                tenant_id=context.tenant_id,
                detail={"request": context.request_id, "tables": len(totals), "rows": sum(totals.values())},
            )


def _is_account_table(table: Table) -> bool:
    keys = list(table.primary_key.columns)
    tag = tag_of(keys[0]) if len(keys) == 1 else None
    return tag is not None and tag.subject and not keys[0].foreign_keys


def _tombstone_value(column: Column[Any], p: Placeholders) -> Any:
    tag = tag_of(column)
    if column.name == "email":
        return f"erased-{-p.pseudonym}@invalid"
    if column.name.endswith("name"):
        return p.deleted_name
    if tag is not None and tag.secret:
        return "!"  # no password hashes to this: nobody can sign in
    python_type = getattr(column.type, "python_type", str)
    return python_type()


def _sql_null(column: Column[Any], value: Any) -> Any:
    """``None`` as SQL NULL (a JSON column would store the JSON ``null`` otherwise)."""
    return null() if value is None else value
