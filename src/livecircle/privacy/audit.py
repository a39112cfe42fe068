"""The audit log: append-only and hash-chained.

Every entry commits to the one before it (``hash = sha256(prev_hash + canonical entry)``), so
changing, removing or reordering any entry breaks the chain from there on, which
``verify`` finds. Writers are serialised on the one-row head table: the ``UPDATE`` of the
head holds its row lock until the writer's transaction ends, so two transactions never
chain onto the same predecessor (PostgreSQL); SQLite has one writer anyway.

``record`` writes in the caller's transaction: the entry exists exactly when the action does.
``defer`` queues an entry that is written just before the caller's transaction commits (and
dropped if it rolls back): synchronous callers (the moderation log) and the per-request staff
audit use it, and the head row's lock is then held only for the commit itself.
``verify`` and ``prune`` live in ``privacy.audit_chain``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, event, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, SessionTransaction, mapped_column

from livecircle.kit.clock import utcnow
from livecircle.kit.db import Base, UtcDateTime
from livecircle.privacy.datamap import Category, Erase, not_personal, personal

GENESIS = "0" * 64
# PIPL art. 56: impact assessments and processing records are kept at least three years.
AUDIT_RETENTION_DAYS = 1095
_DEFERRED = "privacy.audit.deferred"
_WRITTEN = "privacy.audit.written"  # this transaction wrote an entry of its own
_CHANGED = "privacy.audit.changed"  # this transaction wrote something (a fallback's condition)
# Writes that do not make a transaction an action: the log itself and the analytics outbox.
_BOOKKEEPING = frozenset({"privacy_audit", "privacy_audit_head", "analytics_event"})


class AuditHead(Base):
    """One row: the last entry's sequence number and hash."""

    __tablename__ = "privacy_audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64), default=GENESIS)
    # The anchor: seq and hash of the last entry pruned from the start of the chain (0 and the
    # genesis hash while nothing was pruned). ``verify`` starts from it.
    anchor_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    anchor_hash: Mapped[str] = mapped_column(String(64), default=GENESIS)


class AuditEntry(Base):
    __tablename__ = "privacy_audit"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    tenant_id: Mapped[int | None] = mapped_column(Integer, index=True, info=not_personal("a tenant"))
    actor_id: Mapped[int | None] = mapped_column(
        Integer,
        index=True,
        info=personal(
            Category.ACTIVITY,
            "accountability for operator and admin actions (PIPL art. 51, 56)",
            retention="audit",
            erase=Erase.LEGAL_HOLD,
        ),
    )
    actor_role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(
        String(128),
        info=personal(
            Category.ACTIVITY,
            "what an operator action touched, e.g. user:42",
            retention="audit",
            erase=Erase.LEGAL_HOLD,
        ),
    )
    purpose: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(
        JSON,
        default=dict,
        info=personal(
            Category.ACTIVITY, "the facts of an audited action", retention="audit", erase=Erase.LEGAL_HOLD
        ),
    )
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


def entry_hash(
    *,
    prev_hash: str,
    seq: int,
    at: datetime,
    tenant_id: int | None,
    actor_id: int | None,
    actor_role: str | None,
    action: str,
    target: str,
    purpose: str,
    detail: dict[str, Any],
) -> str:
    """The hash an entry must carry: over its predecessor's hash and its own canonical form."""
    body = json.dumps(
        [
            seq,
            at.isoformat(timespec="microseconds"),
            tenant_id,
            actor_id,
            actor_role,
            action,
            target,
            purpose,
            detail,
        ],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Pending:
    """An entry to append: what was done, to what, why, and by whom."""

    action: str
    target: str
    purpose: str
    actor_id: int | None = None
    tenant_id: int | None = None
    actor_role: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    # A generic entry (the per-request staff audit): written only when the transaction wrote
    # no entry of its own, which says more (a mute, a role change) about the same action.
    fallback: bool = False


def _append(session: Session, pending: Pending) -> AuditEntry:
    """Chain one entry onto the head, in ``session``'s transaction (synchronous core)."""
    head = session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq + 1)
        .returning(AuditHead.seq, AuditHead.hash)
    ).one()
    seq, prev_hash = int(head.seq), str(head.hash)
    entry = AuditEntry(
        seq=seq,
        at=utcnow(),
        tenant_id=pending.tenant_id,
        actor_id=pending.actor_id,
        actor_role=pending.actor_role[:16] if pending.actor_role else None,
        action=pending.action[:64],
        target=pending.target[:128],
        purpose=pending.purpose[:200],
        detail=pending.detail,
        prev_hash=prev_hash,
    )
    entry.hash = hash_of(entry, prev_hash=prev_hash)
    session.add(entry)
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=entry.hash))
    session.flush()
    if not pending.fallback:
        session.info[_WRITTEN] = True
    return entry


def hash_of(entry: AuditEntry, *, prev_hash: str) -> str:
    """The hash ``entry`` must carry when it follows an entry hashed ``prev_hash``."""
    return entry_hash(
        prev_hash=prev_hash,
        seq=entry.seq,
        at=entry.at,
        tenant_id=entry.tenant_id,
        actor_id=entry.actor_id,
        actor_role=entry.actor_role,
        action=entry.action,
        target=entry.target,
        purpose=entry.purpose,
        detail=entry.detail,
    )


async def record(
    session: AsyncSession,
    *,
    action: str,
    target: str,
    purpose: str,
    actor_id: int | None = None,
    tenant_id: int | None = None,
    actor_role: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction.

    ``action`` is a dotted name (``role.change``, ``privacy.export``, ``moderation.mute``),
    ``target`` what it touched (``user:42``, ``room:7``), ``purpose`` why, in words.
    The head row stays locked until the transaction ends: call it late in long transactions,
    or use ``defer``."""
    pending = Pending(action, target, purpose, actor_id, tenant_id, actor_role, detail or {})
    return await session.run_sync(_append, pending)


def defer(
    session: AsyncSession | Session,
    *,
    action: str,
    target: str,
    purpose: str,
    actor_id: int | None = None,
    tenant_id: int | None = None,
    actor_role: str | None = None,
    detail: dict[str, Any] | None = None,
    fallback: bool = False,
) -> None:
    """Queue an entry written just before ``session``'s transaction commits; a rollback drops it.

    A ``fallback`` entry is written only when the transaction changed something (so a request
    that answered 4xx without raising, e.g. a form shown again with its errors, leaves none)
    and wrote no entry of its own, which then takes the fallback's actor role if it has none."""
    pending = Pending(action, target, purpose, actor_id, tenant_id, actor_role, detail or {}, fallback)
    session.info.setdefault(_DEFERRED, []).append(pending)


def deferred(session: AsyncSession | Session) -> list[Pending]:
    """The entries queued on ``session`` and not written yet."""
    return list(session.info.get(_DEFERRED, ()))


# Listeners on the Session class: every session of the process (requests, sockets, jobs, the
# CLI) writes what it deferred, whoever built its unit of work. Both run inside the
# AsyncSession's greenlet, so the synchronous API does real (async) I/O here.
@event.listens_for(Session, "before_commit")
def _write_deferred(session: Session) -> None:
    queued: list[Pending] = session.info.pop(_DEFERRED, [])
    fallbacks = [p for p in queued if p.fallback]
    own = [p for p in queued if not p.fallback]
    roles = {p.actor_id: p.actor_role for p in fallbacks}
    for pending in own:
        if pending.actor_role is None and pending.actor_id in roles:
            pending = replace(pending, actor_role=roles[pending.actor_id])
        _append(session, pending)
    if session.info.get(_CHANGED) and not session.info.get(_WRITTEN):
        for pending in fallbacks:
            _append(session, pending)


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    if state.is_select:
        return
    table = getattr(getattr(state.statement, "table", None), "name", None)
    if (state.is_insert or state.is_update or state.is_delete) and table not in _BOOKKEEPING:
        state.session.info[_CHANGED] = True


@event.listens_for(Session, "before_flush")
def _note_flush(session: Session, _context: Any, _instances: Any) -> None:
    touched = [*session.new, *session.deleted, *(o for o in session.dirty if session.is_modified(o))]
    if any(getattr(o, "__tablename__", None) not in _BOOKKEEPING for o in touched):
        session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _forget_written(session: Session) -> None:
    session.info.pop(_WRITTEN, None)
    session.info.pop(_CHANGED, None)


@event.listens_for(Session, "after_soft_rollback")
def _drop_deferred(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is None:  # the whole transaction, not a savepoint
        for key in (_DEFERRED, _WRITTEN, _CHANGED):
            session.info.pop(key, None)
