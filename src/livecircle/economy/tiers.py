"""Levels, badges, member tiers and the privileges they grant.

XP = points ever earned through the earning rules (check-in included; stored in
``economy_progress``, added in the earning's transaction) + coins ever spent on gifts (read
from the ledger's gift transfers, so the gift path needs no change and nothing counts twice).
Points spent, expired or granted by an operator are not XP. The level is the number of
``level_thresholds`` the XP has reached (default: 0, 5, 20, ... → level 1..9).

Tiers: 高级会员 ``premium`` (level ≥ premium_level, or a paid membership still running),
参与者 ``participant`` (level ≥ participant_level), else 新关注者 ``follower``. Each tier's
privileges come from ``tiers.privileges`` in the settings.

Badges are operator rules ``stat >= threshold``, awarded once (primary key user + badge),
evaluated after every earning and check-in, and whenever ``do_evaluate_badges`` is called
(after a gift; on GET /me/level).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.config import EconomySettings, TierSettings
from livecircle.economy import ledger, service
from livecircle.economy.errors import BadgeRuleNotFound
from livecircle.economy.events import MembershipBought
from livecircle.economy.ledger import AccountRef
from livecircle.economy.models import Transfer
from livecircle.economy.points_models import BadgeRule, Membership, Progress, UserBadge
from livecircle.kit.clock import utcnow
from livecircle.kit.db import dialect_insert
from livecircle.kit.errors import Conflict
from livecircle.kit.events import emit

TIERS = ("follower", "participant", "premium")
PRIVILEGES = ("priority_cohost", "exclusive_discount", "member_only_rooms", "chat_badge")
STATS = ("xp", "level", "points_earned", "checkin_streak", "gifts_sent", "coins_gifted")
# code, name, icon, stat, threshold: a tenant without badge rules gets these.
DEFAULT_BADGES: tuple[tuple[str, str, str, str, int], ...] = (
    ("first_gift", "初次送礼", "🎁", "gifts_sent", 1),
    ("gifts_100", "送礼达人", "💝", "gifts_sent", 100),
    ("streak_7", "连续签到7天", "🔥", "checkin_streak", 7),
    ("level_5", "五级成员", "⭐", "level", 5),
)


# ---- XP and levels ----


def level_for(xp: int, thresholds: Sequence[int]) -> int:
    """Level 1.. for ``xp``: how many thresholds it has reached."""
    return max(1, bisect_right(thresholds, xp))


def next_threshold(level: int, thresholds: Sequence[int]) -> int | None:
    return thresholds[level] if level < len(thresholds) else None


async def do_add_xp(session: AsyncSession, *, tenant_id: int, user_id: int, points: int) -> None:
    """Count earned points as XP (one upsert)."""
    await session.execute(
        dialect_insert(session, Progress)
        .values(tenant_id=tenant_id, user_id=user_id, xp=points, points_earned=points)
        .on_conflict_do_update(
            index_elements=["tenant_id", "user_id"],
            set_={"xp": Progress.xp + points, "points_earned": Progress.points_earned + points},
        )
    )


async def get_stats(
    session: AsyncSession, rules: EconomySettings, *, tenant_id: int, user_id: int
) -> dict[str, int]:
    """Every stat a badge rule may test. ``checkin_streak`` is the longest streak so far."""
    progress = await session.get(Progress, (tenant_id, user_id))
    gifts = (
        await session.execute(
            select(
                func.count(Transfer.id),
                func.coalesce(func.sum(case((Transfer.currency == "coin", Transfer.amount), else_=0)), 0),
            ).where(Transfer.tenant_id == tenant_id, Transfer.actor_id == user_id, Transfer.kind == "gift")
        )
    ).one()
    xp = (progress.xp if progress else 0) + int(gifts[1])
    return {
        "xp": xp,
        "level": level_for(xp, rules.tiers.level_thresholds),
        "points_earned": progress.points_earned if progress else 0,
        "checkin_streak": progress.best_streak if progress else 0,
        "gifts_sent": int(gifts[0]),
        "coins_gifted": int(gifts[1]),
    }


# ---- badges ----


async def ensure_badge_rules(session: AsyncSession, tenant_id: int) -> None:
    """A tenant without badge rules gets the defaults (safe under concurrency)."""
    if await session.scalar(select(BadgeRule.id).where(BadgeRule.tenant_id == tenant_id).limit(1)):
        return
    for code, name, icon, stat, threshold in DEFAULT_BADGES:
        await session.execute(
            dialect_insert(session, BadgeRule)
            .values(tenant_id=tenant_id, code=code, name=name, icon=icon, stat=stat, threshold=threshold)
            .on_conflict_do_nothing(index_elements=["tenant_id", "code"])
        )


async def list_badge_rules(
    session: AsyncSession, tenant_id: int, *, enabled_only: bool = True
) -> list[BadgeRule]:
    query = select(BadgeRule).where(BadgeRule.tenant_id == tenant_id).order_by(BadgeRule.id)
    if enabled_only:
        query = query.where(BadgeRule.enabled.is_(True))
    return list((await session.scalars(query)).all())


async def do_create_badge_rule(session: AsyncSession, *, tenant_id: int, **fields: Any) -> BadgeRule:
    """Raises Conflict when the tenant already has a rule with this code. The defaults are
    seeded first if the tenant has none (its own rule does not replace them)."""
    await ensure_badge_rules(session, tenant_id)
    if await session.scalar(
        select(BadgeRule.id).where(BadgeRule.tenant_id == tenant_id, BadgeRule.code == fields["code"])
    ):
        raise Conflict("A badge rule with this code exists", code_taken=fields["code"])
    rule = BadgeRule(tenant_id=tenant_id, **fields)
    session.add(rule)
    await session.flush()
    return rule


async def do_update_badge_rule(
    session: AsyncSession, *, tenant_id: int, rule_id: int, **changes: Any
) -> BadgeRule:
    """Raises BadgeRuleNotFound. Badges already awarded stay."""
    rule = await session.get(BadgeRule, rule_id)
    if rule is None or rule.tenant_id != tenant_id:
        raise BadgeRuleNotFound()
    for name, value in changes.items():
        if value is not None:
            setattr(rule, name, value)
    await session.flush()
    return rule


async def do_evaluate_badges(
    session: AsyncSession,
    rules: EconomySettings,
    *,
    tenant_id: int,
    user_id: int,
    stats: Iterable[str] | None = None,
) -> list[BadgeRule]:
    """Award every badge whose rule the user now meets (only rules on ``stats``, if given);
    returns the badges newly awarded. A badge is awarded once, however often this runs."""
    await ensure_badge_rules(session, tenant_id)
    query = select(BadgeRule).where(
        BadgeRule.tenant_id == tenant_id,
        BadgeRule.enabled.is_(True),
        ~select(UserBadge.badge_id)
        .where(UserBadge.user_id == user_id, UserBadge.badge_id == BadgeRule.id)
        .exists(),
    )
    if stats is not None:
        query = query.where(BadgeRule.stat.in_(list(stats)))
    pending = list((await session.scalars(query)).all())
    if not pending:
        return []
    values = await get_stats(session, rules, tenant_id=tenant_id, user_id=user_id)
    won = []
    for rule in pending:
        if values.get(rule.stat, 0) >= rule.threshold and await _award(session, tenant_id, user_id, rule.id):
            won.append(rule)
    return won


async def _award(session: AsyncSession, tenant_id: int, user_id: int, badge_id: int) -> bool:
    inserted = await session.scalar(
        dialect_insert(session, UserBadge)
        .values(tenant_id=tenant_id, user_id=user_id, badge_id=badge_id, awarded_at=utcnow())
        .on_conflict_do_nothing(index_elements=["user_id", "badge_id"])
        .returning(UserBadge.badge_id)
    )
    return inserted is not None


async def list_user_badges(session: AsyncSession, *, tenant_id: int, user_id: int) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(BadgeRule.code, BadgeRule.name, BadgeRule.icon, UserBadge.awarded_at)
        .join(UserBadge, UserBadge.badge_id == BadgeRule.id)
        .where(UserBadge.tenant_id == tenant_id, UserBadge.user_id == user_id)
        .order_by(UserBadge.awarded_at, BadgeRule.id)
    )
    return [dict(row._mapping) for row in rows]


# ---- tiers and privileges ----


def tier_for(level: int, premium_until: datetime | None, now: datetime, rules: TierSettings) -> str:
    if level >= rules.premium_level or (premium_until is not None and premium_until > now):
        return "premium"
    return "participant" if level >= rules.participant_level else "follower"


async def get_premium_until(session: AsyncSession, *, tenant_id: int, user_id: int) -> datetime | None:
    membership = await session.get(Membership, (tenant_id, user_id))
    return membership.premium_until if membership else None


@dataclass(frozen=True, slots=True)
class Standing:
    xp: int
    level: int
    tier: str
    premium_until: datetime | None
    privileges: frozenset[str]


async def get_standing(
    session: AsyncSession,
    rules: EconomySettings,
    *,
    tenant_id: int,
    user_id: int,
    now: datetime | None = None,
) -> Standing:
    """XP, level, tier and privileges of a user at ``now``."""
    now = now or utcnow()
    stats = await get_stats(session, rules, tenant_id=tenant_id, user_id=user_id)
    until = await get_premium_until(session, tenant_id=tenant_id, user_id=user_id)
    tier = tier_for(stats["level"], until, now, rules.tiers)
    granted = frozenset(rules.tiers.privileges.get(tier, ()))
    return Standing(stats["xp"], stats["level"], tier, until if until and until > now else None, granted)


async def privileges(
    session: AsyncSession,
    rules: EconomySettings,
    *,
    tenant_id: int,
    user_id: int,
    now: datetime | None = None,
) -> set[str]:
    """What the user's tier allows: priority_cohost, exclusive_discount, member_only_rooms, chat_badge."""
    standing = await get_standing(session, rules, tenant_id=tenant_id, user_id=user_id, now=now)
    return set(standing.privileges)


async def has_privilege(
    session: AsyncSession,
    rules: EconomySettings,
    *,
    tenant_id: int,
    user_id: int,
    privilege: str,
    now: datetime | None = None,
) -> bool:
    return privilege in await privileges(session, rules, tenant_id=tenant_id, user_id=user_id, now=now)


async def get_chat_badge(
    session: AsyncSession,
    rules: EconomySettings,
    *,
    tenant_id: int,
    user_id: int,
    now: datetime | None = None,
) -> dict[str, Any] | None:
    """What chat shows beside the user's name ({tier, level}), or None without ``chat_badge``."""
    standing = await get_standing(session, rules, tenant_id=tenant_id, user_id=user_id, now=now)
    if "chat_badge" not in standing.privileges:
        return None
    return {"tier": standing.tier, "level": standing.level}


# ---- paid membership ----


@dataclass(frozen=True, slots=True)
class MembershipBoughtResult:
    premium_until: datetime
    coins: int
    days: int
    balance: int
    replayed: bool


async def do_buy_membership(
    session: AsyncSession,
    rules: EconomySettings,
    *,
    tenant_id: int,
    user_id: int,
    periods: int,
    key: str,
    now: datetime | None = None,
) -> MembershipBoughtResult:
    """Pay coins for ``periods`` × ``membership_days`` of premium, from the end of a running
    membership or from ``now``; the same key buys once.

    Raises MinorsCannotPay, InsufficientBalance, IdempotencyKeyReused, IdempotencyInFlight.
    Emits MembershipBought.
    """
    await service.check_may_pay(session, user_id)
    now = now or utcnow()
    coins, days = rules.tiers.membership_price * periods, rules.tiers.membership_days * periods
    wallet = AccountRef.wallet(user_id, "coin")
    extended: dict[str, datetime] = {}

    async def extend(inner: AsyncSession) -> None:
        extended["until"] = await _extend(inner, tenant_id, user_id, timedelta(days=days), now)

    posted = await ledger.post(
        session,
        tenant_id=tenant_id,
        key=f"membership:{user_id}:{key}",
        kind="membership",
        legs=[(wallet, -coins), (AccountRef.revenue("coin"), coins)],
        request={"op": "membership", "user": user_id, "periods": periods, "coins": coins},
        result_of=lambda transfer_id, balances: {
            "transfer_id": transfer_id,
            "premium_until": extended["until"].isoformat(),
            "balance": balances[wallet],
        },
        before_legs=extend,
        actor_id=user_id,
        subject="membership",
    )
    until = datetime.fromisoformat(posted.result["premium_until"])
    if not posted.replayed:
        emit(session, MembershipBought(tenant_id, user_id, days, coins, until))
    return MembershipBoughtResult(until, coins, days, int(posted.result["balance"]), posted.replayed)


async def _extend(
    session: AsyncSession, tenant_id: int, user_id: int, length: timedelta, now: datetime
) -> datetime:
    """Lengthen the membership by ``length`` (the row is locked until commit on PostgreSQL)."""
    await session.execute(
        dialect_insert(session, Membership)
        .values(tenant_id=tenant_id, user_id=user_id, premium_until=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["tenant_id", "user_id"])
    )
    membership = (
        await session.scalars(
            select(Membership)
            .where(Membership.tenant_id == tenant_id, Membership.user_id == user_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).one()
    membership.premium_until = max(membership.premium_until, now) + length
    membership.updated_at = now
    await session.flush()
    return membership.premium_until
