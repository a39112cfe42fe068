"""Consent: versioned, append-only records of what each member agreed to, per purpose.

The state of a purpose is its latest record. A grant counts only while the notice it was given
on is current (its text hash is one of the notice's current hashes); a grant on an older text
counts as not given and the member is asked again. No record: the purpose's default.

``allows`` reads the database every time (no cache), so a withdrawal holds at once on every
node. Every code path that markets, profiles or takes a payment asks it first:
``allows(session, user_id, Purpose.MARKETING)`` before any promotional send,
``Purpose.PROFILING`` before tagging, segmenting or personalising, ``require(...,
Purpose.PAYMENT)`` before a top-up or an order payment. ``real_name`` and ``location`` are not
collected yet: a future field holding them must ``require`` its purpose first.

Defaults (written down in docs/privacy.md): ``terms`` is recorded at sign-up; ``marketing``
is opt-in (no record: no); ``profiling`` is on until refused (PIPL art. 24 allows
personalisation with a convenient refusal; /me/consent and /me/tags refuse it in one tap);
the sensitive purposes need their own, separate grant; an account under 14 awaiting its
guardian's consent is allowed nothing but ``terms``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.kit.clock import utcnow
from livecircle.kit.events import DomainEvent, emit
from livecircle.privacy import audit, notices
from livecircle.privacy.consent_errors import (
    ConsentNotSelfService,
    ConsentNotWithdrawable,
    ConsentPurposeUnknown,
    ConsentRequired,
    GuardianConsentPending,
    NoticeOutdated,
)
from livecircle.privacy.consent_models import ConsentRecord, MinorRecord

CHUNK = 500


class Purpose(StrEnum):
    TERMS = "terms"  # the service itself: necessary, recorded at sign-up
    MARKETING = "marketing"  # coupons and messages we push: opt-in
    PROFILING = "profiling"  # tags, segments, personalisation: on until refused (PIPL art. 24)
    PAYMENT = "payment"  # financial accounts: sensitive, separate consent (PIPL art. 29)
    REAL_NAME = "real_name"  # sensitive, separate consent; not collected yet
    LOCATION = "location"  # sensitive, separate consent; not collected yet
    GUARDIAN = "guardian"  # a parent's or guardian's consent for a member under 14 (art. 31)


DEFAULTS: dict[Purpose, bool] = {purpose: purpose == Purpose.PROFILING for purpose in Purpose}
SENSITIVE = frozenset({Purpose.PAYMENT, Purpose.REAL_NAME, Purpose.LOCATION})
# The order the consent page lists them in.
ORDER = (
    Purpose.TERMS,
    Purpose.MARKETING,
    Purpose.PROFILING,
    Purpose.PAYMENT,
    Purpose.REAL_NAME,
    Purpose.LOCATION,
    Purpose.GUARDIAN,
)


class Channel(StrEnum):
    WEB = "web"
    API = "api"
    EMAIL = "email"  # the guardian's confirmation link
    SIGNUP = "signup"


@dataclass(frozen=True, slots=True)
class ConsentChanged(DomainEvent):
    user_id: int
    purpose: str
    granted: bool


@dataclass(frozen=True, slots=True)
class State:
    purpose: Purpose
    granted: bool  # what counts now
    recorded: bool | None  # the latest record's decision (None: no record, the default holds)
    stale: bool  # granted on a notice that has changed since: ask again
    at: datetime | None = None  # the latest record's time

    @property
    def sensitive(self) -> bool:
        return self.purpose in SENSITIVE


def parse_purpose(value: str) -> Purpose:
    """Raises ConsentPurposeUnknown."""
    try:
        return Purpose(value)
    except ValueError:
        raise ConsentPurposeUnknown(purpose=value) from None


def _counts(purpose: Purpose, record: ConsentRecord | None) -> tuple[bool, bool]:
    """(granted now, stale) for the latest record of ``purpose``."""
    if record is None:
        return DEFAULTS[purpose], False
    if not record.granted:
        return False, False
    if record.text_hash in notices.current_hashes(purpose.value):
        return True, False
    return DEFAULTS[purpose], True


async def _latest(session: AsyncSession, user_id: int, purpose: Purpose) -> ConsentRecord | None:
    return await session.scalar(
        select(ConsentRecord)
        .where(ConsentRecord.user_id == user_id, ConsentRecord.purpose == purpose.value)
        .order_by(ConsentRecord.id.desc())
        .limit(1)
    )


async def allows(session: AsyncSession, user_id: int, purpose: Purpose) -> bool:
    """Whether ``user_id`` has (currently) given ``purpose``. Reads the database: no cache."""
    granted, _ = _counts(purpose, await _latest(session, user_id, purpose))
    if not granted or purpose in (Purpose.TERMS, Purpose.GUARDIAN):
        return granted
    return not await awaiting_guardian(session, user_id)


async def require(session: AsyncSession, user_id: int, purpose: Purpose) -> None:
    """Raises GuardianConsentPending (an account under 14 without its guardian's consent) or
    ConsentRequired (naming the purpose) unless ``purpose`` is given."""
    if await allows(session, user_id, purpose):
        return
    if purpose != Purpose.TERMS and await awaiting_guardian(session, user_id):
        raise GuardianConsentPending(purpose=purpose.value)
    raise ConsentRequired(f"This needs your consent to “{purpose.value}” first", purpose=purpose.value)


async def allowed_among(session: AsyncSession, user_ids: Iterable[int], purpose: Purpose) -> set[int]:
    """The accounts among ``user_ids`` that currently allow ``purpose`` (a few queries per 500)."""
    wanted = sorted({int(u) for u in user_ids})
    allowed: set[int] = set()
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        latest = (
            select(func.max(ConsentRecord.id))
            .where(ConsentRecord.user_id.in_(chunk), ConsentRecord.purpose == purpose.value)
            .group_by(ConsentRecord.user_id)
        )
        rows = await session.scalars(select(ConsentRecord).where(ConsentRecord.id.in_(latest)))
        records = {row.user_id: row for row in rows}
        allowed.update(u for u in chunk if _counts(purpose, records.get(u))[0])
        if purpose not in (Purpose.TERMS, Purpose.GUARDIAN):
            allowed -= await _awaiting_among(session, chunk)
    return allowed


async def states(session: AsyncSession, user_id: int) -> list[State]:
    """Every purpose's state for the member, in page order."""
    latest = (
        select(func.max(ConsentRecord.id))
        .where(ConsentRecord.user_id == user_id)
        .group_by(ConsentRecord.purpose)
    )
    rows = await session.scalars(select(ConsentRecord).where(ConsentRecord.id.in_(latest)))
    records = {row.purpose: row for row in rows}
    pending = await awaiting_guardian(session, user_id)
    found = []
    for purpose in ORDER:
        record = records.get(purpose.value)
        granted, stale = _counts(purpose, record)
        if pending and purpose not in (Purpose.TERMS, Purpose.GUARDIAN):
            granted = False
        at = record.created_at if record is not None else None
        found.append(State(purpose, granted, record.granted if record else None, stale, at))
    return found


async def stale_purposes(session: AsyncSession, user_id: int) -> list[Purpose]:
    """Purposes granted on a notice that changed since: the page banner asks again."""
    return [state.purpose for state in await states(session, user_id) if state.stale]


async def history(
    session: AsyncSession, user_id: int, *, purpose: Purpose | None = None, limit: int = 200
) -> list[ConsentRecord]:
    """The member's records, newest first."""
    query = select(ConsentRecord).where(ConsentRecord.user_id == user_id)
    if purpose is not None:
        query = query.where(ConsentRecord.purpose == purpose.value)
    return list(await session.scalars(query.order_by(ConsentRecord.id.desc()).limit(limit)))


async def grant(
    session: AsyncSession,
    *,
    user_id: int,
    purpose: Purpose,
    channel: Channel,
    locale: str = "zh-CN",
    text_hash: str | None = None,
    tenant_id: int | None = None,
    guardian_email: str | None = None,
) -> ConsentRecord:
    """Record the member's grant of ``purpose`` on the notice shown (``text_hash``; default:
    the current notice in ``locale``). Raises NoticeOutdated (a hash of an older text),
    ConsentNotSelfService (``guardian`` other than by the guardian's link),
    GuardianConsentPending (a sensitive purpose before the guardian agreed). Audited;
    emits ConsentChanged."""
    if purpose == Purpose.GUARDIAN and channel != Channel.EMAIL:
        raise ConsentNotSelfService(purpose=purpose.value)
    if purpose in SENSITIVE and await awaiting_guardian(session, user_id):
        raise GuardianConsentPending(purpose=purpose.value)
    shown = text_hash or notices.text_hash(purpose.value, locale)
    if shown not in notices.current_hashes(purpose.value):
        raise NoticeOutdated(purpose=purpose.value, policy_version=notices.POLICY_VERSION)
    return await _append(
        session, user_id, purpose, True, channel, locale, shown, tenant_id, guardian_email=guardian_email
    )


async def withdraw(
    session: AsyncSession,
    *,
    user_id: int,
    purpose: Purpose,
    channel: Channel,
    locale: str = "zh-CN",
    tenant_id: int | None = None,
) -> ConsentRecord:
    """Record the member's withdrawal: it holds from this transaction's commit on. Raises
    ConsentNotWithdrawable (``terms``: deleting the account is how one leaves them),
    ConsentNotSelfService (``guardian``). Audited; emits ConsentChanged."""
    if purpose == Purpose.TERMS:
        raise ConsentNotWithdrawable(purpose=purpose.value)
    if purpose == Purpose.GUARDIAN:
        raise ConsentNotSelfService(purpose=purpose.value)
    shown = notices.text_hash(purpose.value, locale)
    return await _append(session, user_id, purpose, False, channel, locale, shown, tenant_id)


async def _append(
    session: AsyncSession,
    user_id: int,
    purpose: Purpose,
    granted: bool,
    channel: Channel,
    locale: str,
    shown: str,
    tenant_id: int | None,
    *,
    guardian_email: str | None = None,
) -> ConsentRecord:
    """A new record, unless the latest one already says the same on the current notice."""
    latest = await _latest(session, user_id, purpose)
    if latest is not None and latest.granted == granted and (not granted or latest.text_hash == shown):
        return latest
    now = utcnow()
    record = ConsentRecord(
        user_id=user_id,
        purpose=purpose.value,
        granted=granted,
        policy_version=notices.POLICY_VERSION,
        text_hash=shown,
        locale=locale[:8],
        channel=channel.value,
        guardian_email=guardian_email,
        guardian_confirmed_at=now if guardian_email else None,
        created_at=now,
    )
    session.add(record)
    await session.flush()
    audit.defer(  # written just before commit: the chain's head is locked briefly
        session,
        action="consent.grant" if granted else "consent.withdraw",
        target=f"user:{user_id}",
        purpose=f"the member {'gave' if granted else 'withdrew'} consent to {purpose.value}",
        actor_id=None if purpose == Purpose.GUARDIAN else user_id,
        tenant_id=tenant_id,
        actor_role="guardian" if purpose == Purpose.GUARDIAN else "member",
        detail={"purpose": purpose.value, "policy_version": notices.POLICY_VERSION, "channel": channel.value},
    )
    emit(session, ConsentChanged(user_id, purpose.value, granted))
    return record


async def do_record_signup(
    session: AsyncSession,
    *,
    user_id: int,
    marketing: bool,
    channel: Channel,
    locale: str,
    tenant_id: int | None = None,
) -> None:
    """What a sign-up agreed to: the terms, and marketing only when its own box was ticked."""
    await grant(
        session, user_id=user_id, purpose=Purpose.TERMS, channel=channel, locale=locale, tenant_id=tenant_id
    )
    if marketing:
        await grant(
            session,
            user_id=user_id,
            purpose=Purpose.MARKETING,
            channel=channel,
            locale=locale,
            tenant_id=tenant_id,
        )


# ---- minors ----


async def awaiting_guardian(session: AsyncSession, user_id: int) -> bool:
    """An account under 14 whose guardian has not agreed (yet, or any more)."""
    return bool(await _awaiting_among(session, [user_id]))


async def require_guardian(session: AsyncSession, user_id: int) -> None:
    """Before a member under 14 publishes anything (chat, posts, comments, questions): their
    guardian must have agreed (PIPL art. 31). Raises GuardianConsentPending."""
    if await awaiting_guardian(session, user_id):
        raise GuardianConsentPending()


async def _awaiting_among(session: AsyncSession, user_ids: list[int]) -> set[int]:
    young = set(
        await session.scalars(
            select(MinorRecord.user_id).where(MinorRecord.user_id.in_(user_ids), MinorRecord.needs_guardian)
        )
    )
    if not young:
        return set()
    latest = (
        select(func.max(ConsentRecord.id))
        .where(ConsentRecord.user_id.in_(young), ConsentRecord.purpose == Purpose.GUARDIAN.value)
        .group_by(ConsentRecord.user_id)
    )
    agreed = set(
        await session.scalars(
            select(ConsentRecord.user_id).where(ConsentRecord.id.in_(latest), ConsentRecord.granted)
        )
    )
    return young - agreed


def allowing(column: Any, purpose: Purpose) -> ColumnElement[bool]:
    """A SQL filter on an account-id ``column``: the accounts that allow ``purpose``, a purpose
    that is on by default (so no record means yes). For filtering lists inside a query."""
    if not DEFAULTS[purpose]:
        raise ValueError(f"{purpose} is off by default: use allowed_among")
    latest = (
        select(func.max(ConsentRecord.id))
        .where(ConsentRecord.purpose == purpose.value)
        .group_by(ConsentRecord.user_id)
    )
    withdrawn = select(ConsentRecord.user_id).where(
        ConsentRecord.id.in_(latest), ConsentRecord.granted.is_(False)
    )
    guardian = (
        select(func.max(ConsentRecord.id))
        .where(ConsentRecord.purpose == Purpose.GUARDIAN.value)
        .group_by(ConsentRecord.user_id)
    )
    agreed = select(ConsentRecord.user_id).where(
        ConsentRecord.id.in_(guardian), ConsentRecord.granted.is_(True)
    )
    pending = select(MinorRecord.user_id).where(
        MinorRecord.needs_guardian.is_(True), MinorRecord.user_id.not_in(agreed)
    )
    return and_(column.not_in(withdrawn), column.not_in(pending))
