"""Lottery prizes: handed out at the draw (points, coins, coupons, with idempotent keys), or
tracked to the winner's door (physical: address, then shipped)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.commerce import coupons
from livecircle.config import EconomySettings
from livecircle.economy import points
from livecircle.economy import service as economy_service
from livecircle.interaction.lotteries.errors import NotAWinner, PrizeStateConflict, WinnerNotFound
from livecircle.interaction.lotteries.events import LotteryWon
from livecircle.interaction.lotteries.models import Lottery, LotteryPrize, LotteryWinner
from livecircle.kit.clock import utcnow
from livecircle.kit.errors import AppError
from livecircle.kit.events import emit


async def award(
    session: AsyncSession,
    rules: EconomySettings,
    lottery: Lottery,
    *,
    rank: int,
    ticket: int,
    user_id: int,
    prize: LotteryPrize,
) -> LotteryWinner:
    """Points, coins and coupons are handed out now (idempotent keys); a physical prize waits
    for the winner's address. A prize that cannot be handed out is recorded as failed."""
    status, note = "awarded", None
    key = f"lottery:{lottery.id}:{user_id}"
    try:
        async with session.begin_nested():
            if prize.kind == "points":
                credit = points.Credit(
                    lottery.tenant_id,
                    user_id,
                    "lottery",
                    key,
                    prize.amount,
                    utcnow(),
                    kind="prize",
                    room_id=lottery.room_id,
                    show_id=lottery.show_id,
                )
                await points.do_credit(session, rules, credit)
            elif prize.kind == "gift":
                await economy_service.do_grant(
                    session,
                    tenant_id=lottery.tenant_id,
                    user_id=user_id,
                    currency="coin",
                    amount=prize.amount,
                    key=key,
                    reason=f"lottery {lottery.id}: {prize.name}",
                )
            elif prize.kind == "coupon" and prize.coupon_template_id is not None:
                template = await coupons.get_template(session, lottery.tenant_id, prize.coupon_template_id)
                await coupons.do_issue(
                    session, template, user_id=user_id, source="lottery", show_id=lottery.show_id
                )
            else:
                status = "awaiting_address"
    except AppError as exc:
        status, note = "failed", f"{exc.code}: {exc.message}"[:200]
    winner = LotteryWinner(
        lottery_id=lottery.id,
        rank=rank,
        ticket=ticket,
        user_id=user_id,
        prize_id=prize.id,
        status=status,
        note=note,
    )
    session.add(winner)
    await session.flush()
    emit(session, LotteryWon(lottery.tenant_id, lottery.id, user_id, prize.name, status))
    return winner


async def do_give_address(
    session: AsyncSession, lottery: Lottery, *, user_id: int, address: dict[str, str]
) -> LotteryWinner:
    """The winner of a physical prize says where to send it (again, to correct it, until shipped)."""
    winner = await session.scalar(
        select(LotteryWinner).where(LotteryWinner.lottery_id == lottery.id, LotteryWinner.user_id == user_id)
    )
    if winner is None or winner.status not in ("awaiting_address", "address_given"):
        raise NotAWinner()
    winner.address, winner.status, winner.updated_at = address, "address_given", utcnow()
    await session.flush()
    return winner


async def do_ship(session: AsyncSession, lottery: Lottery, *, winner_id: int, note: str) -> LotteryWinner:
    winner = await session.get(LotteryWinner, winner_id)
    if winner is None or winner.lottery_id != lottery.id:
        raise WinnerNotFound()
    if winner.status != "address_given":
        raise PrizeStateConflict("Ship a prize once the winner has given an address")
    winner.status, winner.note, winner.updated_at = "shipped", note or None, utcnow()
    await session.flush()
    return winner


async def list_my_prizes(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(LotteryWinner, Lottery.title, LotteryPrize.name, LotteryPrize.kind)
        .join(Lottery, Lottery.id == LotteryWinner.lottery_id)
        .join(LotteryPrize, LotteryPrize.id == LotteryWinner.prize_id)
        .where(LotteryWinner.user_id == user_id)
        .order_by(LotteryWinner.id.desc())
    )
    return [
        {
            "lottery_id": w.lottery_id,
            "lottery": title,
            "prize": name,
            "kind": kind,
            "status": w.status,
            "address": w.address,
            "note": w.note,
        }
        for w, title, name, kind in rows.all()
    ]
