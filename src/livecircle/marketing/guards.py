"""The guards of a promotional send: hold-out assignment, quiet hours, the frequency cap
across all campaigns, consent and notification opt-outs. Pure functions where they can be.

Consent is read from the database at every send (``privacy.consent.allows``, no cache): a
member who withdraws gets nothing from the next step on.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.growth.notify import service as notify_service
from livecircle.growth.notify.schemas import Channel, Kind
from livecircle.marketing.models import Send
from livecircle.privacy import consent

_BUCKETS = 0xFFFFFFFFFFFFFFF  # 15 hex digits, as PostHog's flags
LOCK_SPACE = 0x4D4B  # pg_advisory_xact_lock(space, user): a marketing lock per member


def in_holdout(campaign_id: int, user_id: int, percent: int) -> bool:
    """Deterministic: sha1 of campaign and member, in [0, 1), below the hold-out share."""
    digest = hashlib.sha1(f"{campaign_id}.{user_id}".encode(), usedforsecurity=False).hexdigest()
    return int(digest[:15], 16) / _BUCKETS < percent / 100


def is_quiet(now: datetime, *, start: int, end: int, zone: str) -> bool:
    """Whether ``now`` falls in the quiet hours [start, end) of local time (start == end: none)."""
    hour = now.astimezone(ZoneInfo(zone)).hour
    if start == end:
        return False
    if start > end:  # over midnight, e.g. 22 -> 8
        return hour >= start or hour < end
    return start <= hour < end


def quiet_ends(now: datetime, *, end: int, zone: str) -> datetime:
    """The next ``end`` o'clock local time after ``now`` (a deferred send goes out then)."""
    tz = ZoneInfo(zone)
    local = now.astimezone(tz)
    day = local.date()
    candidate = datetime.combine(day, time(end), tzinfo=tz)
    if candidate <= local:
        candidate = datetime.combine(day + timedelta(days=1), time(end), tzinfo=tz)
    return candidate


async def lock_member(session: AsyncSession, user_id: int) -> None:
    """Serialise the cap check of one member across transactions (PostgreSQL; on SQLite the
    scheduler holds the one writer already)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:space, :user)"), {"space": LOCK_SPACE, "user": user_id}
        )


async def sends_within(session: AsyncSession, *, tenant_id: int, user_id: int, since: datetime) -> int:
    """Promotional sends that went out to the member since ``since``, in every campaign."""
    count = await session.scalar(
        select(func.count())
        .select_from(Send)
        .where(
            Send.tenant_id == tenant_id,
            Send.user_id == user_id,
            Send.promotional.is_(True),
            Send.status == "sent",
            Send.created_at >= since,
        )
    )
    return int(count or 0)


async def may_market(session: AsyncSession, user_id: int) -> bool:
    return await consent.allows(session, user_id, consent.Purpose.MARKETING)


async def may_profile(session: AsyncSession, user_id: int) -> bool:
    return await consent.allows(session, user_id, consent.Purpose.PROFILING)


async def channels_on(session: AsyncSession, user_id: int) -> set[Channel]:
    """The channels the member keeps on for promotions (notification preferences)."""
    on = set()
    for channel in Channel:
        if await notify_service.is_enabled(
            session, user_id=user_id, kind=Kind.PROMOTION.value, channel=channel
        ):
            on.add(channel)
    return on
