"""Invites: the opens of a personal link, one record per invited sign-up (checked by ``rules``),
the invitee's first paid order, the reward that vests once the invitee watched or paid, my
invites and the leaderboard. The only place that writes the growth_invite tables.

Every decision about one invite is taken under a lock (PostgreSQL advisory lock; SQLite's one
writer), and the pending → vested step is a conditional UPDATE in the same transaction as the
reward, whose points carry the key ``invite:{id}``: a reward is paid once or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.commerce import coupons
from livecircle.config import GrowthSettings, Settings
from livecircle.economy import points
from livecircle.economy.errors import PointsCapReached
from livecircle.growth.invites import rules
from livecircle.growth.invites.events import (
    InviteOrderAttributed,
    InviteRecorded,
    InviteRejected,
    InviteVested,
)
from livecircle.growth.invites.models import STATUSES, Invite, InviteOpen, UserMark
from livecircle.identity import service as identity_service
from livecircle.identity.models import User
from livecircle.kit.clock import utcnow
from livecircle.kit.db import dialect_insert, one_sqlite_writer
from livecircle.kit.errors import AppError
from livecircle.kit.events import emit
from livecircle.live import audience

BOARD_SIZE = 50  # entries per leaderboard (the anchors show at most 50)
BOARD_RECENT_DAYS = 7
MY_INVITES_SHOWN = 100


async def _serialize(session: AsyncSession, name: str) -> None:
    """Hold ``name`` until the transaction ends: decisions that count rows (bursts, daily caps)
    must not run side by side."""
    await one_sqlite_writer(session)
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(name, 0))))


# ---- where users come from ----


async def do_note_marks(
    session: AsyncSession, *, user_id: int, ip: str | None, device: str | None, now: datetime | None = None
) -> None:
    """Remember that ``user_id`` was seen with this IP and device (for the self-invite rule)."""
    now = now or utcnow()
    rows = [
        {"user_id": user_id, "kind": kind, "value": value, "last_seen_at": now}
        for kind, value in (("ip", ip), ("device", device))
        if value
    ]
    if not rows:
        return
    await one_sqlite_writer(session)
    insert = dialect_insert(session, UserMark)
    await session.execute(
        insert.values(rows).on_conflict_do_update(
            index_elements=["user_id", "kind", "value"], set_={"last_seen_at": insert.excluded.last_seen_at}
        )
    )


async def get_inviter_id(session: AsyncSession, code: str) -> int | None:
    """Whose personal invite code this is (codes are upper case; look-alikes are never issued)."""
    code = code.strip().upper()
    if not code:
        return None
    return await session.scalar(select(User.id).where(User.invite_code == code))


async def do_record_open(
    session: AsyncSession, *, code: str, device: str, ip: str | None, now: datetime | None = None
) -> int | None:
    """The link ``/i/{code}`` was opened on ``device``: keep the latest time (the attribution
    window starts there). Returns the inviter, None for an unknown code."""
    inviter_id = await get_inviter_id(session, code)
    if inviter_id is None:
        return None
    await one_sqlite_writer(session)
    insert = dialect_insert(session, InviteOpen)
    await session.execute(
        insert.values(
            inviter_id=inviter_id, device=device, ip=ip, opened_at=now or utcnow(), opens=1
        ).on_conflict_do_update(
            index_elements=["inviter_id", "device"],
            set_={
                "opened_at": insert.excluded.opened_at,
                "ip": insert.excluded.ip,
                "opens": InviteOpen.opens + 1,
            },
        )
    )
    return inviter_id


# ---- attribution of a sign-up ----


async def do_record_invite(
    session: AsyncSession,
    growth: GrowthSettings,
    *,
    tenant_id: int,
    inviter_id: int,
    invitee_id: int,
    ip: str | None,
    device: str | None,
) -> Invite:
    """The invite record of a sign-up with ``inviter_id``'s code: pending, or rejected by one of
    ``rules`` (self-invite, outside the window, burst). Once per invitee. Emits InviteRecorded."""
    await _serialize(session, "growth.invite.record")
    existing = await session.scalar(select(Invite).where(Invite.invitee_id == invitee_id))
    if existing is not None:
        return existing
    now = utcnow()
    invite = Invite(
        tenant_id=tenant_id,
        inviter_id=inviter_id,
        invitee_id=invitee_id,
        registered_at=now,
        opened_at=await _opened_at(session, inviter_id, device),
        ip=ip,
        device=device,
        status="pending",
    )
    verdict = await rules.registration_verdict(session, growth, invite)
    if verdict is not None:
        invite.status, invite.rejected_at = "rejected", now
        invite.reason, invite.evidence = verdict
    session.add(invite)
    await session.flush()
    emit(session, InviteRecorded(tenant_id, invite.id, inviter_id, invitee_id, invite.status, invite.reason))
    return invite


async def _opened_at(session: AsyncSession, inviter_id: int, device: str | None) -> datetime | None:
    """The latest open of the inviter's link on the sign-up's device (None: the code was typed)."""
    if device is None:
        return None
    return await session.scalar(
        select(InviteOpen.opened_at).where(InviteOpen.inviter_id == inviter_id, InviteOpen.device == device)
    )


# ---- the first paid order ----


async def do_attribute_order(
    session: AsyncSession, growth: GrowthSettings, *, user_id: int, order_id: int, now: datetime | None = None
) -> Invite | None:
    """Attribute ``order_id`` to the inviter when it is the invitee's first paid order and it
    was paid within ``invite_window_days`` of the sign-up. Returns the invite it was attributed
    to, else None. Emits InviteOrderAttributed."""
    now = now or utcnow()
    invite = await session.scalar(select(Invite).where(Invite.invitee_id == user_id))
    if invite is None or invite.first_order_id is not None:
        return None
    if now - invite.registered_at > timedelta(days=growth.invite_window_days):
        return None
    await one_sqlite_writer(session)
    result = await session.execute(
        update(Invite)
        .where(Invite.id == invite.id, Invite.first_order_id.is_(None))
        .values(first_order_id=order_id, first_order_at=now)
    )
    if _rowcount(result) != 1:  # another paid order of the invitee came first
        return None
    await session.refresh(invite)
    emit(session, InviteOrderAttributed(invite.tenant_id, invite.id, invite.inviter_id, user_id, order_id))
    return invite


# ---- vesting ----


async def invites_due_by_watch(
    session: AsyncSession, growth: GrowthSettings, *, user_ids: list[int]
) -> list[int]:
    """The pending invites of these users whose invitee has now watched long enough (all shows)."""
    rows = await session.execute(
        select(Invite.invitee_id, Invite.id).where(
            Invite.invitee_id.in_(user_ids), Invite.status == "pending"
        )
    )
    pending = {int(invitee_id): int(invite_id) for invitee_id, invite_id in rows.all()}
    if not pending:
        return []
    watched = await audience.total_watch_seconds(session, user_ids=list(pending))
    needed = growth.invite_vest_watch_minutes * 60
    return [pending[user_id] for user_id, seconds in watched.items() if seconds >= needed]


async def check_vest(
    session: AsyncSession, settings: Settings, *, invite_id: int, trigger: str
) -> Invite | None:
    """Vest the invite if it is still pending (the caller has seen its condition hold)."""
    invite = await session.get(Invite, invite_id)
    if invite is None:
        return None
    return await do_vest(session, settings, invite, trigger=trigger)


async def do_vest(
    session: AsyncSession, settings: Settings, invite: Invite, *, trigger: str, now: datetime | None = None
) -> Invite:
    """pending → vested with the reward paid (points of the ``invite`` rule under the key
    ``invite:{id}``, or a coupon), or → rejected when the inviter's daily cap is reached or the
    reward cannot be handed out. A vested or rejected invite is left as it is.
    Emits InviteVested or InviteRejected."""
    now = now or utcnow()
    await _serialize(session, f"growth.invite.vest:{invite.inviter_id}")
    await session.refresh(invite)
    if invite.status != "pending":
        return invite
    if await rules.daily_cap_reached(session, settings.growth, inviter_id=invite.inviter_id, now=now):
        return await _reject(session, invite, rules.DAILY_CAP, now)
    claimed = await session.execute(
        update(Invite)
        .where(Invite.id == invite.id, Invite.status == "pending")
        .values(status="vested", vested_at=now, vested_by=trigger)
    )
    if _rowcount(claimed) != 1:
        await session.refresh(invite)
        return invite
    try:
        async with session.begin_nested():
            kind, ref = await _pay(session, settings, invite, now)
    except PointsCapReached:
        return await _reject(session, invite, rules.POINTS_CAP, now)
    except AppError as exc:
        return await _reject(session, invite, rules.REWARD_FAILED, now, evidence=exc.code)
    await session.execute(
        update(Invite).where(Invite.id == invite.id).values(reward_kind=kind, reward_ref=ref)
    )
    await session.refresh(invite)
    emit(
        session,
        InviteVested(invite.tenant_id, invite.id, invite.inviter_id, invite.invitee_id, trigger, kind),
    )
    return invite


async def _pay(session: AsyncSession, settings: Settings, invite: Invite, now: datetime) -> tuple[str, str]:
    """Pay the inviter. Raises the economy's or commerce's errors (the caller refuses the reward)."""
    template_id = settings.growth.invite_coupon_template_id
    if template_id is not None:
        template = await coupons.get_template(session, invite.tenant_id, template_id)
        coupon = await coupons.do_issue(session, template, user_id=invite.inviter_id, source="invite")
        return "coupon", str(coupon.id)
    earned = await points.do_earn(
        session,
        settings.economy,
        tenant_id=invite.tenant_id,
        user_id=invite.inviter_id,
        rule="invite",
        key=f"invite:{invite.id}",
        now=now,
    )
    return "points", str(earned.transfer_id)


async def _reject(
    session: AsyncSession, invite: Invite, reason: str, now: datetime, *, evidence: str | None = None
) -> Invite:
    await session.execute(
        update(Invite)
        .where(Invite.id == invite.id)
        .values(
            status="rejected",
            reason=reason,
            evidence=evidence,
            rejected_at=now,
            vested_at=None,
            vested_by=None,
        )
    )
    await session.refresh(invite)
    emit(session, InviteRejected(invite.tenant_id, invite.id, invite.inviter_id, invite.invitee_id, reason))
    return invite


def _rowcount(result: Any) -> int:
    return cast(CursorResult[Any], result).rowcount


# ---- what users see ----


async def get_my_invites(session: AsyncSession, settings: Settings, *, user_id: int) -> dict[str, Any]:
    """The caller's code and link, counts per status and their latest invites."""
    user = await identity_service.get_user(session, user_id)
    assert user is not None
    code = await identity_service.ensure_invite_code(session, user)
    counts = dict.fromkeys(STATUSES, 0)
    rows = await session.execute(
        select(Invite.status, func.count()).where(Invite.inviter_id == user_id).group_by(Invite.status)
    )
    counts.update({status: int(n) for status, n in rows.all()})
    listed = await session.execute(
        select(Invite, User.display_name)
        .join(User, User.id == Invite.invitee_id)
        .where(Invite.inviter_id == user_id)
        .order_by(Invite.id.desc())
        .limit(MY_INVITES_SHOWN)
    )
    return {
        "code": code,
        "link": f"{settings.http.base_url}/i/{code}",
        "counts": counts,
        "invites": [_invite_view(invite, name) for invite, name in listed.all()],
    }


def _invite_view(invite: Invite, invitee_name: str) -> dict[str, Any]:
    return {
        "id": invite.id,
        "invitee_id": invite.invitee_id,
        "invitee_name": invitee_name,
        "registered_at": invite.registered_at,
        "opened_at": invite.opened_at,
        "status": invite.status,
        "reason": invite.reason,
        "vested_at": invite.vested_at,
        "vested_by": invite.vested_by,
        "reward_kind": invite.reward_kind,
        "first_order_id": invite.first_order_id,
        "first_order_at": invite.first_order_at,
    }


@dataclass(frozen=True, slots=True)
class BoardEntry:
    rank: int
    user_id: int
    display_name: str
    vested: int


async def get_leaderboard(
    session: AsyncSession, *, tenant_id: int, since: datetime | None = None, size: int = BOARD_SIZE
) -> list[BoardEntry]:
    """Inviters of the tenant by vested invites (since ``since``), most first; a tie goes to
    whoever got there first."""
    vested, last = func.count(Invite.id), func.max(Invite.vested_at)
    query = (
        select(Invite.inviter_id, User.display_name, vested)
        .join(User, User.id == Invite.inviter_id)
        .where(Invite.tenant_id == tenant_id, Invite.status == "vested")
        .group_by(Invite.inviter_id, User.display_name)
        .order_by(vested.desc(), last, Invite.inviter_id)
        .limit(size)
    )
    if since is not None:
        query = query.where(Invite.vested_at >= since)
    rows = (await session.execute(query)).all()
    return [BoardEntry(rank, int(uid), name, int(n)) for rank, (uid, name, n) in enumerate(rows, start=1)]


async def get_boards(session: AsyncSession, *, tenant_id: int) -> dict[str, list[BoardEntry]]:
    """The all-time board and the one of the last seven days."""
    recent = utcnow() - timedelta(days=BOARD_RECENT_DAYS)
    return {
        "all_time": await get_leaderboard(session, tenant_id=tenant_id),
        "last_7_days": await get_leaderboard(session, tenant_id=tenant_id, since=recent),
    }
