"""Points (积分): earning under daily caps, point lots that expire, spending oldest first.

Points move only through ``ledger.post``: an earning is one transfer issuance → wallet under a
deterministic key (``chat:{message_id}``, ``watch:{user}:{show}:{slot}``, ``checkin:{user}:{day}``),
so a repeat never pays twice. A rule's daily cap is one conditional upsert of
``economy_points_daily`` made inside the transfer (only for a new key), so it holds under
concurrency on SQLite and PostgreSQL alike. Every earned point is also one XP (see ``tiers``).

Expiry (``points.expiry_days`` > 0): each earning records a lot that expires that many days
later, and spending in this module (store, freezes) uses the lots that expire first; the
expiry run itself is ``economy.expiry``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.config import EarnRule, EconomySettings
from livecircle.economy import ledger, tiers
from livecircle.economy.errors import (
    IdempotencyInFlight,
    PointsCapReached,
    UnknownEarnRule,
)
from livecircle.economy.events import PointsEarned
from livecircle.economy.ledger import AccountRef, Posted
from livecircle.economy.points_models import PointLot, PointsDaily
from livecircle.kit.clock import utcnow
from livecircle.kit.db import Database, dialect_insert
from livecircle.kit.events import emit

CURRENCY = "point"


@dataclass(frozen=True, slots=True)
class Earned:
    rule: str
    points: int
    balance: int
    earned_today: int
    transfer_id: int
    replayed: bool


@dataclass(frozen=True, slots=True)
class Credit:
    """One payment of points to a user under ``key``, counted against ``rule``'s daily ``cap``."""

    tenant_id: int
    user_id: int
    rule: str
    key: str
    points: int
    now: datetime
    cap: int | None = None
    kind: str = "earn"
    room_id: int | None = None
    show_id: int | None = None


def earn_rule(rules: EconomySettings, rule: str) -> EarnRule:
    """Raises UnknownEarnRule."""
    found = rules.points.earn.get(rule)
    if found is None:
        raise UnknownEarnRule(rule=rule)
    return found


async def do_earn(
    session: AsyncSession,
    rules: EconomySettings,
    *,
    tenant_id: int,
    user_id: int,
    rule: str,
    key: str,
    now: datetime | None = None,
    room_id: int | None = None,
    show_id: int | None = None,
) -> Earned:
    """Pay ``rule``'s points once per ``key``, within the rule's daily cap (UTC day of ``now``).

    Raises UnknownEarnRule; PointsCapReached (before any write when the cap is already used up,
    but after the transfer row when a concurrent earning took the last of it: the caller's
    transaction must then roll back, so call it in a unit of work of its own, see ``award``);
    IdempotencyInFlight, IdempotencyKeyReused. Emits PointsEarned.
    """
    config = earn_rule(rules, rule)
    now = now or utcnow()
    if config.points == 0:
        return Earned(rule, 0, await get_balance(session, tenant_id, user_id), 0, 0, False)
    credit = Credit(
        tenant_id, user_id, rule, key, config.points, now, config.daily_cap, "earn", room_id, show_id
    )
    if await _over_cap(session, credit) and not await ledger.key_used(session, tenant_id, key):
        raise PointsCapReached(rule=rule, daily_cap=credit.cap)
    posted = await do_credit(session, rules, credit)
    result = posted.result
    return Earned(
        rule, credit.points, result["balance"], result["earned_today"], posted.transfer_id, posted.replayed
    )


async def award(db: Database, rules: EconomySettings, **earning: Any) -> Earned | None:
    """``do_earn`` in a unit of work of its own, for event subscribers and jobs: a reached cap
    or a duplicate in flight is not an error here, it just pays nothing (None)."""
    try:
        async with db.unit_of_work() as session:
            return await do_earn(session, rules, **earning)
    except (PointsCapReached, IdempotencyInFlight):
        return None


async def do_credit(session: AsyncSession, rules: EconomySettings, credit: Credit) -> Posted:
    """The ledger transfer of an earning, its daily count, XP, lot and badges (new keys only).

    Raises PointsCapReached and the idempotency errors of ``ledger.post``.
    """
    wallet = AccountRef.wallet(credit.user_id, CURRENCY)
    counted: dict[str, int] = {}

    async def within_cap(inner: AsyncSession) -> None:
        counted["today"] = await _count(inner, credit)

    posted = await ledger.post(
        session,
        tenant_id=credit.tenant_id,
        key=credit.key,
        kind=credit.kind,
        legs=[(AccountRef.issuance(CURRENCY), -credit.points), (wallet, credit.points)],
        request={"op": credit.kind, "rule": credit.rule, "user": credit.user_id, "points": credit.points},
        result_of=lambda transfer_id, balances: {
            "transfer_id": transfer_id,
            "rule": credit.rule,
            "points": credit.points,
            "balance": balances[wallet],
            "earned_today": counted["today"],
        },
        before_legs=within_cap,
        actor_id=credit.user_id,
        room_id=credit.room_id,
        show_id=credit.show_id,
        subject=f"{credit.kind}:{credit.rule}"[:64],
    )
    if not posted.replayed:
        await _after_credit(session, rules, credit, posted.transfer_id)
    return posted


async def _after_credit(
    session: AsyncSession, rules: EconomySettings, credit: Credit, transfer_id: int
) -> None:
    await tiers.do_add_xp(session, tenant_id=credit.tenant_id, user_id=credit.user_id, points=credit.points)
    if rules.points.expiry_days:
        session.add(
            PointLot(
                tenant_id=credit.tenant_id,
                user_id=credit.user_id,
                amount=credit.points,
                remaining=credit.points,
                transfer_id=transfer_id,
                earned_at=credit.now,
                expires_at=credit.now + timedelta(days=rules.points.expiry_days),
            )
        )
        await session.flush()
    stats = {"xp", "level", "points_earned"} | ({"checkin_streak"} if credit.rule == "checkin" else set())
    await tiers.do_evaluate_badges(
        session, rules, tenant_id=credit.tenant_id, user_id=credit.user_id, stats=stats
    )
    emit(session, PointsEarned(credit.tenant_id, credit.user_id, credit.rule, credit.points))


async def _count(session: AsyncSession, credit: Credit) -> int:
    """Add to today's earnings from the rule unless that passes its cap (one conditional upsert)."""
    if credit.cap is not None and credit.points > credit.cap:
        raise PointsCapReached(rule=credit.rule, daily_cap=credit.cap)
    statement = (
        dialect_insert(session, PointsDaily)
        .values(
            tenant_id=credit.tenant_id,
            user_id=credit.user_id,
            day=credit.now.date(),
            rule=credit.rule,
            earned=credit.points,
        )
        .on_conflict_do_update(
            index_elements=["tenant_id", "user_id", "day", "rule"],
            set_={"earned": PointsDaily.earned + credit.points},
            where=None if credit.cap is None else PointsDaily.earned + credit.points <= credit.cap,
        )
        .returning(PointsDaily.earned)
    )
    earned = await session.scalar(statement)
    if earned is None:
        raise PointsCapReached(rule=credit.rule, daily_cap=credit.cap)
    return int(earned)


async def _over_cap(session: AsyncSession, credit: Credit) -> bool:
    return credit.cap is not None and await _earned_on(session, credit) + credit.points > credit.cap


async def _earned_on(session: AsyncSession, credit: Credit) -> int:
    earned = await session.scalar(
        select(PointsDaily.earned).where(
            PointsDaily.tenant_id == credit.tenant_id,
            PointsDaily.user_id == credit.user_id,
            PointsDaily.day == credit.now.date(),
            PointsDaily.rule == credit.rule,
        )
    )
    return int(earned or 0)


async def get_balance(session: AsyncSession, tenant_id: int, user_id: int) -> int:
    return await ledger.balance(session, tenant_id, AccountRef.wallet(user_id, CURRENCY))


# ---- spending ----


async def do_spend(
    session: AsyncSession,
    *,
    tenant_id: int,
    user_id: int,
    points: int,
    key: str,
    kind: str,
    request: dict[str, Any],
    subject: str,
    before_legs: Callable[[AsyncSession], Awaitable[None]] | None = None,
    result: dict[str, Any] | None = None,
) -> Posted:
    """Move ``points`` from the user's wallet to platform revenue, then use up the lots that
    expire first. ``before_legs`` runs once, for a new key (stock, limits).

    Raises InsufficientBalance and the idempotency errors of ``ledger.post``.
    """
    wallet = AccountRef.wallet(user_id, CURRENCY)
    posted = await ledger.post(
        session,
        tenant_id=tenant_id,
        key=key,
        kind=kind,
        legs=[(wallet, -points), (AccountRef.revenue(CURRENCY), points)],
        request=request,
        result_of=lambda transfer_id, balances: {
            **(result or {}),
            "transfer_id": transfer_id,
            "points": points,
            "balance": balances[wallet],
        },
        before_legs=before_legs,
        actor_id=user_id,
        subject=subject[:64],
    )
    if not posted.replayed:
        await consume_lots(session, tenant_id=tenant_id, user_id=user_id, points=points)
    return posted


async def consume_lots(session: AsyncSession, *, tenant_id: int, user_id: int, points: int) -> None:
    """Use up ``points`` of the user's lots, those that expire first first. Call it after the
    ledger debit in the same transaction (the debit serialises the user's point movements)."""
    lots = (
        await session.execute(
            select(PointLot.id, PointLot.remaining)
            .where(PointLot.tenant_id == tenant_id, PointLot.user_id == user_id, PointLot.remaining > 0)
            .order_by(PointLot.expires_at, PointLot.id)
        )
    ).all()
    for lot in lots:
        if points <= 0:
            return
        take = min(points, int(lot.remaining))
        await session.execute(
            update(PointLot).where(PointLot.id == lot.id).values(remaining=PointLot.remaining - take)
        )
        points -= take


# ---- reading ----


async def get_points_summary(
    session: AsyncSession,
    rules: EconomySettings,
    *,
    tenant_id: int,
    user_id: int,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Balance, today's earnings per rule against its cap, and the points expiring soon."""
    now = now or utcnow()
    rows = await session.execute(
        select(PointsDaily.rule, PointsDaily.earned).where(
            PointsDaily.tenant_id == tenant_id, PointsDaily.user_id == user_id, PointsDaily.day == now.date()
        )
    )
    earned = {rule: int(amount) for rule, amount in rows}
    today = [
        {"rule": name, "points": rule.points, "earned": int(earned.get(name, 0)), "daily_cap": rule.daily_cap}
        for name, rule in rules.points.earn.items()
    ]
    today.append(
        {"rule": "checkin", "points": None, "earned": int(earned.get("checkin", 0)), "daily_cap": None}
    )
    return {
        "balance": await get_balance(session, tenant_id, user_id),
        "today": today,
        "expiry_days": rules.points.expiry_days or None,
        "expiring": await list_expiring(session, rules, tenant_id=tenant_id, user_id=user_id, now=now),
    }


async def list_expiring(
    session: AsyncSession, rules: EconomySettings, *, tenant_id: int, user_id: int, now: datetime
) -> list[dict[str, Any]]:
    """Points of lots expiring within ``expiry_warning_days``, per day (an upper bound: tips in
    points do not use lots up)."""
    horizon = now + timedelta(days=rules.points.expiry_warning_days)
    lots = await session.execute(
        select(PointLot.expires_at, PointLot.remaining).where(
            PointLot.tenant_id == tenant_id,
            PointLot.user_id == user_id,
            PointLot.remaining > 0,
            PointLot.expires_at > now,
            PointLot.expires_at <= horizon,
        )
    )
    by_day: defaultdict[date, int] = defaultdict(int)
    for expires_at, remaining in lots:
        by_day[expires_at.date()] += int(remaining)
    return [{"day": day, "points": points} for day, points in sorted(by_day.items())]
