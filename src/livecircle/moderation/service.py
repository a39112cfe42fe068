"""Moderation service: sanctions, reports, word lists and the action log.

Callers (the interaction layer) resolve the room and pass its ids; this
package knows nothing of rooms or messages beyond their ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.kit.clock import as_utc, utcnow
from livecircle.kit.events import emit
from livecircle.moderation.errors import ReportNotFound, WordListInvalid, WordNotFound
from livecircle.moderation.events import UserSanctioned, WordListChanged
from livecircle.moderation.models import ModerationLog, ModerationWord, Report, Sanction
from livecircle.moderation.schemas import SanctionKind, WordIn
from livecircle.privacy import audit


def log_action(
    session: AsyncSession,
    *,
    tenant_id: int,
    room_id: int | None,
    actor_id: int | None,
    action: str,
    target_user_id: int | None = None,
    target_message_id: int | None = None,
    **detail: Any,
) -> ModerationLog:
    entry = ModerationLog(
        tenant_id=tenant_id,
        room_id=room_id,
        actor_id=actor_id,
        action=action,
        target_user_id=target_user_id,
        target_message_id=target_message_id,
        detail=detail,
    )
    session.add(entry)
    if actor_id is not None:  # a person's decision (automatic verdicts are the log's alone)
        audit.defer(
            session,
            action=f"moderation.{action}",
            target=_audit_target(tenant_id, room_id, target_user_id, target_message_id),
            purpose=str(detail.get("reason") or f"moderation: {action}"),
            actor_id=actor_id,
            tenant_id=tenant_id,
            detail={"room_id": room_id, "message_id": target_message_id, **detail},
        )
    return entry


def _audit_target(tenant_id: int, room_id: int | None, user_id: int | None, message_id: int | None) -> str:
    if user_id is not None:
        return f"user:{user_id}"
    if message_id is not None:
        return f"message:{message_id}"
    return f"room:{room_id}" if room_id is not None else f"tenant:{tenant_id}"


async def list_log(session: AsyncSession, *, room_id: int, limit: int = 100) -> list[ModerationLog]:
    rows = await session.scalars(
        select(ModerationLog)
        .where(ModerationLog.room_id == room_id)
        .order_by(ModerationLog.id.desc())
        .limit(limit)
    )
    return list(rows)


# ---- sanctions ----


async def active_sanctions(session: AsyncSession, *, room_id: int, user_id: int) -> list[Sanction]:
    now = utcnow()
    rows = await session.scalars(
        select(Sanction).where(
            Sanction.room_id == room_id,
            Sanction.user_id == user_id,
            Sanction.lifted_at.is_(None),
            or_(Sanction.until.is_(None), Sanction.until > now),
        )
    )
    return list(rows)


def strongest(sanctions: Sequence[Sanction]) -> tuple[str, datetime | None] | None:
    """The sanction that decides: a ban before any mute, then the longest mute."""
    if not sanctions:
        return None
    bans = [s for s in sanctions if s.kind == SanctionKind.BAN]
    if bans:
        return SanctionKind.BAN.value, None
    ends = [as_utc(s.until) for s in sanctions if s.until is not None]
    return SanctionKind.MUTE.value, max(ends) if ends else None


async def do_sanction(
    session: AsyncSession,
    *,
    tenant_id: int,
    room_id: int,
    actor_id: int,
    user_id: int,
    kind: SanctionKind,
    minutes: int | None,
    reason: str,
) -> Sanction:
    until = None if kind == SanctionKind.BAN else utcnow() + timedelta(minutes=minutes or 10)
    sanction = Sanction(
        tenant_id=tenant_id,
        room_id=room_id,
        user_id=user_id,
        kind=kind.value,
        until=until,
        reason=reason,
        actor_id=actor_id,
    )
    session.add(sanction)
    await session.flush()
    log_action(
        session,
        tenant_id=tenant_id,
        room_id=room_id,
        actor_id=actor_id,
        action=kind.value,
        target_user_id=user_id,
        minutes=minutes if kind == SanctionKind.MUTE else None,
        reason=reason,
    )
    emit(
        session,
        UserSanctioned(tenant_id=tenant_id, room_id=room_id, user_id=user_id, kind=kind.value, until=until),
    )
    return sanction


async def do_lift(
    session: AsyncSession, *, tenant_id: int, room_id: int, actor_id: int, user_id: int, kind: SanctionKind
) -> int:
    lifted = 0
    for sanction in await active_sanctions(session, room_id=room_id, user_id=user_id):
        if sanction.kind == kind.value:
            sanction.lifted_at = utcnow()
            lifted += 1
    log_action(
        session,
        tenant_id=tenant_id,
        room_id=room_id,
        actor_id=actor_id,
        action=f"un{kind.value}",
        target_user_id=user_id,
    )
    emit(
        session,
        UserSanctioned(
            tenant_id=tenant_id, room_id=room_id, user_id=user_id, kind=f"un{kind.value}", until=None
        ),
    )
    return lifted


# ---- reports ----


async def do_report(
    session: AsyncSession, *, tenant_id: int, room_id: int, message_id: int, reporter_id: int, reason: str
) -> Report:
    """Idempotent per reporter and message: a second report returns the first."""
    existing = await session.scalar(
        select(Report).where(Report.message_id == message_id, Report.reporter_id == reporter_id)
    )
    if existing is not None:
        return existing
    report = Report(
        tenant_id=tenant_id, room_id=room_id, message_id=message_id, reporter_id=reporter_id, reason=reason
    )
    session.add(report)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        found = await session.scalar(
            select(Report).where(Report.message_id == message_id, Report.reporter_id == reporter_id)
        )
        assert found is not None
        return found
    return report


async def list_reports(session: AsyncSession, *, room_id: int, status: str = "open") -> list[Report]:
    rows = await session.scalars(
        select(Report).where(Report.room_id == room_id, Report.status == status).order_by(Report.id)
    )
    return list(rows)


async def do_resolve_reports(
    session: AsyncSession, *, room_id: int, message_id: int, actor_id: int, tenant_id: int, outcome: str
) -> int:
    rows = list(
        await session.scalars(
            select(Report).where(
                Report.room_id == room_id, Report.message_id == message_id, Report.status == "open"
            )
        )
    )
    for report in rows:
        report.status = "resolved"
    if rows:
        log_action(
            session,
            tenant_id=tenant_id,
            room_id=room_id,
            actor_id=actor_id,
            action="resolve_reports",
            target_message_id=message_id,
            outcome=outcome,
            reports=len(rows),
        )
    return len(rows)


async def get_report(session: AsyncSession, report_id: int) -> Report:
    report = await session.get(Report, report_id)
    if report is None:
        raise ReportNotFound()
    return report


# ---- word lists ----


async def list_words(session: AsyncSession, *, tenant_id: int) -> list[ModerationWord]:
    rows = await session.scalars(
        select(ModerationWord).where(ModerationWord.tenant_id == tenant_id).order_by(ModerationWord.id)
    )
    return list(rows)


async def do_add_words(
    session: AsyncSession, *, tenant_id: int, actor_id: int, entries: Sequence[WordIn]
) -> list[ModerationWord]:
    """Add or update entries; each is checked by building a filter first, so a bad entry changes nothing."""
    from livecircle.moderation.wordfilter import build_entries  # local: keeps import of the matcher lazy

    try:
        build_entries([(e.word, e.action, e.category) for e in entries])
    except ValueError as exc:
        raise WordListInvalid(str(exc)) from exc
    existing = {w.word: w for w in await list_words(session, tenant_id=tenant_id)}
    saved: list[ModerationWord] = []
    for entry in entries:
        row = existing.get(entry.word)
        if row is None:
            row = ModerationWord(tenant_id=tenant_id, word=entry.word)
            session.add(row)
        row.action = entry.action
        row.category = entry.category
        saved.append(row)
    await session.flush()
    log_action(
        session, tenant_id=tenant_id, room_id=None, actor_id=actor_id, action="words_add", count=len(entries)
    )
    emit(session, WordListChanged(tenant_id=tenant_id))
    return saved


async def do_remove_word(session: AsyncSession, *, tenant_id: int, actor_id: int, word_id: int) -> None:
    row = await session.get(ModerationWord, word_id)
    if row is None or row.tenant_id != tenant_id:
        raise WordNotFound()  # another tenant's entry too
    await session.delete(row)
    log_action(
        session, tenant_id=tenant_id, room_id=None, actor_id=actor_id, action="words_remove", word=row.word
    )
    emit(session, WordListChanged(tenant_id=tenant_id))
