"""The rules an invited sign-up must pass before its reward may ever vest, each with its own
reason code: not a self-invite, inside the attribution window, not part of a burst. The
sign-up itself always stands; only the reward is refused (docs/invites.md)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.config import GrowthSettings
from livecircle.growth.invites.models import Invite, UserMark

# Reason codes of a rejected invite.
SELF_INVITE = "self_invite"  # the invitee is the inviter: same account, device or IP
OUTSIDE_WINDOW = "outside_window"  # signed up too long after opening the link
BURST = "burst"  # one more invited sign-up from an IP or device that had its fill
DAILY_CAP = "daily_cap"  # the inviter had invite_daily_cap rewards vest that UTC day
POINTS_CAP = "points_cap"  # the economy's ``invite`` points rule had reached its daily cap
REWARD_FAILED = "reward_failed"  # the reward could not be handed out (evidence: error code)

Verdict = tuple[str, str | None]  # reason, evidence


async def registration_verdict(
    session: AsyncSession, growth: GrowthSettings, invite: Invite
) -> Verdict | None:
    """Why the reward of this (not yet stored) invite must never vest, or None."""
    return (
        await _self_invite(session, growth, invite)
        or _outside_window(growth, invite)
        or await _burst(session, growth, invite)
    )


async def _self_invite(session: AsyncSession, growth: GrowthSettings, invite: Invite) -> Verdict | None:
    """Same account, or a device or IP the inviter signed up, signed in or used the invite pages
    from within the attribution window."""
    if invite.inviter_id == invite.invitee_id:
        return SELF_INVITE, "account"
    marks = [(kind, value) for kind, value in (("device", invite.device), ("ip", invite.ip)) if value]
    if not marks:
        return None
    since = invite.registered_at - timedelta(days=growth.invite_window_days)
    found = await session.scalars(
        select(UserMark.kind).where(
            UserMark.user_id == invite.inviter_id,
            UserMark.last_seen_at >= since,
            or_(*(and_(UserMark.kind == kind, UserMark.value == value) for kind, value in marks)),
        )
    )
    kinds = set(found)
    return next(((SELF_INVITE, kind) for kind, _ in marks if kind in kinds), None)


def _outside_window(growth: GrowthSettings, invite: Invite) -> Verdict | None:
    if invite.opened_at is None:  # the code was typed in: opened at sign-up
        return None
    if invite.registered_at - invite.opened_at > timedelta(days=growth.invite_window_days):
        return OUTSIDE_WINDOW, None
    return None


async def _burst(session: AsyncSession, growth: GrowthSettings, invite: Invite) -> Verdict | None:
    """More than ``invite_burst_limit`` invited sign-ups from one IP or one device within the
    burst window, whoever the inviters: the extra ones are refused."""
    since = invite.registered_at - timedelta(minutes=growth.invite_burst_window_minutes)
    for kind, column, value in (("ip", Invite.ip, invite.ip), ("device", Invite.device, invite.device)):
        if value is None:
            continue
        earlier = await session.scalar(
            select(func.count()).select_from(Invite).where(column == value, Invite.registered_at > since)
        )
        if (earlier or 0) >= growth.invite_burst_limit:
            return BURST, kind
    return None


def utc_day(now: datetime) -> tuple[datetime, datetime]:
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


async def daily_cap_reached(
    session: AsyncSession, growth: GrowthSettings, *, inviter_id: int, now: datetime
) -> bool:
    """The inviter has had ``invite_daily_cap`` rewards vest on ``now``'s UTC day."""
    start, end = utc_day(now)
    vested = await session.scalar(
        select(func.count())
        .select_from(Invite)
        .where(
            Invite.inviter_id == inviter_id,
            Invite.status == "vested",
            Invite.vested_at >= start,
            Invite.vested_at < end,
        )
    )
    return (vested or 0) >= growth.invite_daily_cap
