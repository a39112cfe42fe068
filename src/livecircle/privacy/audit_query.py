"""Reading the audit log: the latest entries, filtered, a page at a time (newest first)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.kit.errors import AppError
from livecircle.privacy.audit import AuditEntry

PAGE = 50
MAX_PAGE = 200


class AuditFilterInvalid(AppError):
    code = "audit_filter_invalid"
    status_code = 400
    message = "The audit log filter is not valid"


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """``tenant_id`` None: every tenant's entries (the platform's admin). ``action`` matches a
    prefix (``moderation.``); ``target`` one of an entry's targets (``user:42`` matches
    ``room:7,user:42``), or a kind when it ends with a colon (``user:``); dates are half-open
    [since, until)."""

    tenant_id: int | None
    action: str = ""
    actor_id: int | None = None
    target: str = ""
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditPage:
    entries: list[AuditEntry]
    next_before: int | None  # pass as ``before`` for the next (older) page; None: no more


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _target_is(value: str) -> ColumnElement[bool]:
    column, bare = AuditEntry.target, _escape(value)
    if value.endswith(":"):
        return or_(column.like(bare + "%", escape="\\"), column.like("%," + bare + "%", escape="\\"))
    return or_(
        column == value,
        column.like(bare + ",%", escape="\\"),
        column.like("%," + bare, escape="\\"),
        column.like("%," + bare + ",%", escape="\\"),
    )


def _filtered(where: AuditFilter) -> Select[AuditEntry]:
    query = select(AuditEntry)
    if where.tenant_id is not None:
        query = query.where(AuditEntry.tenant_id == where.tenant_id)
    if where.action:
        query = query.where(AuditEntry.action.like(_escape(where.action) + "%", escape="\\"))
    if where.actor_id is not None:
        query = query.where(AuditEntry.actor_id == where.actor_id)
    if where.target:
        query = query.where(_target_is(where.target))
    if where.since is not None:
        query = query.where(AuditEntry.at >= where.since)
    if where.until is not None:
        query = query.where(AuditEntry.at < where.until)
    return query


async def list_entries(
    session: AsyncSession, where: AuditFilter, *, before: int | None = None, limit: int = PAGE
) -> AuditPage:
    """Entries matching ``where`` with ``seq`` below ``before``, newest first."""
    limit = max(1, min(limit, MAX_PAGE))
    query = _filtered(where)
    if before is not None:
        query = query.where(AuditEntry.seq < before)
    rows = list(await session.scalars(query.order_by(AuditEntry.seq.desc()).limit(limit + 1)))
    more = len(rows) > limit
    entries = rows[:limit]
    return AuditPage(entries, entries[-1].seq if more and entries else None)
