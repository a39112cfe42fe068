"""Daily check-in (签到): a streak that pays more each consecutive day, and streak freezes.

Day n of a streak pays ``checkin_base + min((n - 1) * checkin_step, checkin_max_bonus)``
points (one transfer under ``checkin:{user}:{day}``). A user holds up to ``freeze_max``
freezes: one more each ``freeze_every_days`` days of streak, or bought with points. Missed
days are each covered by a freeze when the user holds enough of them; otherwise the streak
starts again at 1 (and the freezes are kept).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import CursorResult, update
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.config import EconomySettings, PointsSettings
from livecircle.economy import ledger, points
from livecircle.economy.errors import ConcurrentChange, FreezeLimitReached, IdempotencyKeyReused
from livecircle.economy.points_models import CheckIn, Progress
from livecircle.kit.clock import utcnow
from livecircle.kit.db import dialect_insert
from livecircle.kit.errors import BadRequest


@dataclass(frozen=True, slots=True)
class Streak:
    streak: int = 0
    best_streak: int = 0
    freezes: int = 0
    last_checkin: date | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    streak: int
    freezes_used: int
    freeze_earned: bool
    points: int

    def freezes_after(self, held: int) -> int:
        return held - self.freezes_used + int(self.freeze_earned)


def plan_check_in(current: Streak, today: date, rules: PointsSettings) -> Plan:
    """What checking in on ``today`` does to ``current`` (pure). Raises BadRequest for a day
    not after the last check-in."""
    missed = None if current.last_checkin is None else (today - current.last_checkin).days - 1
    if missed is not None and missed < 0:
        raise BadRequest("Check-ins go forward one day at a time")
    used = 0
    if missed == 0:
        streak = current.streak + 1
    elif missed is not None and current.streak and missed <= current.freezes:
        streak, used = current.streak + 1, missed
    else:
        streak = 1
    earned = streak % rules.freeze_every_days == 0 and current.freezes - used < rules.freeze_max
    bonus = min((streak - 1) * rules.checkin_step, rules.checkin_max_bonus)
    return Plan(streak=streak, freezes_used=used, freeze_earned=earned, points=rules.checkin_base + bonus)


async def get_streak(session: AsyncSession, *, tenant_id: int, user_id: int) -> Streak:
    row = await session.get(Progress, (tenant_id, user_id))
    if row is None:
        return Streak()
    return Streak(row.streak, row.best_streak, row.freezes, row.last_checkin)


async def get_check_in(session: AsyncSession, *, tenant_id: int, user_id: int, day: date) -> CheckIn | None:
    found: CheckIn | None = await session.get(CheckIn, (tenant_id, user_id, day))
    return found


@dataclass(frozen=True, slots=True)
class CheckInResult:
    check_in: CheckIn
    created: bool


async def do_check_in(
    session: AsyncSession,
    rules: EconomySettings,
    *,
    tenant_id: int,
    user_id: int,
    today: date | None = None,
    now: datetime | None = None,
) -> CheckInResult:
    """Check in for ``today`` (UTC date of ``now`` by default); a second check-in the same day
    returns the first.

    Raises BadRequest (a day before the last check-in), ConcurrentChange, IdempotencyInFlight.
    Emits PointsEarned.
    """
    now = now or utcnow()
    today = today or now.date()
    existing = await get_check_in(session, tenant_id=tenant_id, user_id=user_id, day=today)
    if existing is not None:
        return CheckInResult(existing, created=False)
    current = await get_streak(session, tenant_id=tenant_id, user_id=user_id)
    plan = plan_check_in(current, today, rules.points)
    credit = points.Credit(
        tenant_id, user_id, "checkin", f"checkin:{user_id}:{today.isoformat()}", plan.points, now
    )
    try:
        posted = await points.do_credit(session, rules, credit)
    except IdempotencyKeyReused:  # a concurrent check-in of the same day won
        posted = None
    if posted is None or posted.replayed:
        return await _the_day(session, tenant_id, user_id, today)
    await _advance(session, tenant_id, user_id, current, plan, today)
    check_in = CheckIn(
        tenant_id=tenant_id,
        user_id=user_id,
        day=today,
        points=plan.points,
        streak=plan.streak,
        freezes_used=plan.freezes_used,
        freeze_earned=plan.freeze_earned,
        transfer_id=posted.transfer_id,
    )
    session.add(check_in)
    await session.flush()
    return CheckInResult(check_in, created=True)


async def _the_day(session: AsyncSession, tenant_id: int, user_id: int, day: date) -> CheckInResult:
    found = await get_check_in(session, tenant_id=tenant_id, user_id=user_id, day=day)
    if found is None:
        raise ConcurrentChange()
    return CheckInResult(found, created=False)


async def _advance(
    session: AsyncSession, tenant_id: int, user_id: int, current: Streak, plan: Plan, today: date
) -> None:
    """Store the new streak, only if nobody changed it since it was read (else roll back)."""
    await _ensure_progress(session, tenant_id, user_id)
    changed = await session.execute(
        update(Progress)
        .where(
            Progress.tenant_id == tenant_id,
            Progress.user_id == user_id,
            Progress.streak == current.streak,
            Progress.freezes == current.freezes,
            Progress.last_checkin.is_not_distinct_from(current.last_checkin),
        )
        .values(
            streak=plan.streak,
            best_streak=max(current.best_streak, plan.streak),
            freezes=plan.freezes_after(current.freezes),
            last_checkin=today,
        )
    )
    if _rowcount(changed) != 1:
        raise ConcurrentChange()


async def _ensure_progress(session: AsyncSession, tenant_id: int, user_id: int) -> None:
    await session.execute(
        dialect_insert(session, Progress)
        .values(tenant_id=tenant_id, user_id=user_id)
        .on_conflict_do_nothing(index_elements=["tenant_id", "user_id"])
    )


def _rowcount(result: object) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


async def do_buy_freeze(
    session: AsyncSession, rules: EconomySettings, *, tenant_id: int, user_id: int, key: str
) -> int:
    """Buy one streak freeze with points; the same key buys once. Returns the freezes held.

    Raises FreezeLimitReached, InsufficientBalance, the idempotency errors of ``ledger.post``.
    """
    held = (await get_streak(session, tenant_id=tenant_id, user_id=user_id)).freezes
    if held >= rules.points.freeze_max and not await ledger.key_used(
        session, tenant_id, f"freeze:{user_id}:{key}"
    ):
        raise FreezeLimitReached(freeze_max=rules.points.freeze_max)

    async def one_more(inner: AsyncSession) -> None:
        await _ensure_progress(inner, tenant_id, user_id)
        added = await inner.execute(
            update(Progress)
            .where(
                Progress.tenant_id == tenant_id,
                Progress.user_id == user_id,
                Progress.freezes < rules.points.freeze_max,
            )
            .values(freezes=Progress.freezes + 1)
        )
        if _rowcount(added) != 1:
            raise FreezeLimitReached(freeze_max=rules.points.freeze_max)

    price = rules.points.freeze_price
    await points.do_spend(
        session,
        tenant_id=tenant_id,
        user_id=user_id,
        points=price,
        key=f"freeze:{user_id}:{key}",
        kind="freeze",
        request={"op": "freeze", "user": user_id, "points": price},
        subject="freeze",
        before_legs=one_more,
    )
    return (await get_streak(session, tenant_id=tenant_id, user_id=user_id)).freezes


@dataclass(frozen=True, slots=True)
class CheckInStatus:
    streak: int
    best_streak: int
    freezes: int
    freeze_max: int
    freeze_price: int  # points for one more freeze
    checked_in_today: bool
    last_checkin: date | None
    today_points: int  # paid today, or what checking in today would pay


async def get_check_in_status(
    session: AsyncSession, rules: EconomySettings, *, tenant_id: int, user_id: int, today: date | None = None
) -> CheckInStatus:
    """The streak as of ``today``: a streak already broken (missed days beyond the freezes)
    shows as 0 until the next check-in."""
    today = today or utcnow().date()
    current = await get_streak(session, tenant_id=tenant_id, user_id=user_id)
    done = await get_check_in(session, tenant_id=tenant_id, user_id=user_id, day=today)
    if done is not None:
        streak, freezes, paid = current.streak, current.freezes, done.points
    else:
        plan = plan_check_in(current, today, rules.points) if _forward(current, today) else None
        alive = plan is not None and plan.streak > 1
        streak, freezes = (current.streak if alive else 0), current.freezes
        paid = plan.points if plan is not None else 0
    return CheckInStatus(
        streak=streak,
        best_streak=current.best_streak,
        freezes=freezes,
        freeze_max=rules.points.freeze_max,
        freeze_price=rules.points.freeze_price,
        checked_in_today=done is not None,
        last_checkin=current.last_checkin,
        today_points=paid,
    )


def _forward(current: Streak, today: date) -> bool:
    return current.last_checkin is None or current.last_checkin < today
