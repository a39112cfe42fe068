"""Who may win: the candidates (joined, or said the keyword in chat while the lottery was
open) filtered by every rule of the lottery. The same checks answer a viewer's "what am I
missing?" when they join, and freeze the list at the draw."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.config import EconomySettings
from livecircle.economy import tiers
from livecircle.identity import service as identity_service
from livecircle.interaction.lotteries.models import Lottery, LotteryEntry
from livecircle.interaction.models import ChatMessage
from livecircle.live import audience
from livecircle.live.models import Room

TIER_ORDER = ("follower", "participant", "premium")
CHUNK = 500  # ids per IN (...) list


async def candidates(session: AsyncSession, lottery: Lottery) -> set[int]:
    joined = set(
        await session.scalars(select(LotteryEntry.user_id).where(LotteryEntry.lottery_id == lottery.id))
    )
    keyword = _keyword(lottery)
    if keyword is not None:
        joined |= await said(session, lottery, keyword, None)
    return joined


def _keyword(lottery: Lottery) -> str | None:
    return next((str(r["keyword"]) for r in lottery.rules if r["kind"] == "keyword"), None)


async def said(session: AsyncSession, lottery: Lottery, keyword: str, user_ids: list[int] | None) -> set[int]:
    """Users with a visible chat line in the lottery's show, since it opened, containing the
    keyword (case-insensitive)."""
    query = select(ChatMessage.user_id).where(
        ChatMessage.show_id == lottery.show_id,
        ChatMessage.status == "visible",
        ChatMessage.kind == "chat",
        func.lower(ChatMessage.text).contains(keyword.lower(), autoescape=True),
    )
    if lottery.opened_at is not None:
        query = query.where(ChatMessage.created_at >= lottery.opened_at)
    if user_ids is None:
        return set(await session.scalars(query.distinct()))
    found: set[int] = set()
    for chunk in _chunks(user_ids):
        found |= set(await session.scalars(query.where(ChatMessage.user_id.in_(chunk)).distinct()))
    return found


async def passing(
    session: AsyncSession, rules: EconomySettings, lottery: Lottery, room: Room, user_ids: Iterable[int]
) -> dict[int, list[str]]:
    """For each user, the kinds of rule they do not meet (an empty list: eligible)."""
    users = sorted(set(user_ids))
    missing: dict[int, list[str]] = {u: [] for u in users}
    for rule in lottery.rules:
        met = await _meeting(session, rules, lottery, room, rule, users)
        for user_id in users:
            if user_id not in met:
                missing[user_id].append(rule["kind"])
    return missing


async def _meeting(
    session: AsyncSession,
    rules: EconomySettings,
    lottery: Lottery,
    room: Room,
    rule: dict[str, Any],
    users: list[int],
) -> set[int]:
    kind = rule["kind"]
    met: set[int] = set()
    for chunk in _chunks(users):
        if kind == "keyword":
            met |= await said(session, lottery, str(rule["keyword"]), chunk)
        elif kind == "follows":
            met |= await audience.followers_among(session, host_id=room.owner_id, user_ids=chunk)
        elif kind == "member":
            met |= await identity_service.members_among(session, tenant_id=room.tenant_id, user_ids=chunk)
        elif kind == "watch":
            seconds = await audience.watch_seconds(session, show_id=lottery.show_id or 0, user_ids=chunk)
            met |= {u for u, s in seconds.items() if s >= int(rule["minutes"]) * 60}
        elif kind == "invites":
            counts = await identity_service.invited_counts(
                session, inviter_ids=chunk, since=lottery.opened_at
            )
            met |= {u for u, n in counts.items() if n >= int(rule["count"])}
        elif kind == "tier":
            met |= await _at_tier(session, rules, room.tenant_id, str(rule["tier"]), chunk)
    return met


async def _at_tier(
    session: AsyncSession, rules: EconomySettings, tenant_id: int, tier: str, users: list[int]
) -> set[int]:
    wanted = TIER_ORDER.index(tier)
    met: set[int] = set()
    for user_id in users:
        standing = await tiers.get_standing(session, rules, tenant_id=tenant_id, user_id=user_id)
        if TIER_ORDER.index(standing.tier) >= wanted:
            met.add(user_id)
    return met


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]
