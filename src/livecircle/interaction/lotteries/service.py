"""Lotteries: create with rules and prizes, open in the live show (publishing the seed's
hash), join, draw at the set time or by the host (freezing and hashing the eligible list,
deriving winners from seed + list hash), hand out prizes and track their fulfilment."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.commerce import coupons
from livecircle.config import EconomySettings
from livecircle.interaction.lotteries import draw, eligibility, prizes
from livecircle.interaction.lotteries.errors import (
    LotteryAlreadyOpened,
    LotteryNotFound,
    LotteryNotOpen,
)
from livecircle.interaction.lotteries.events import LotteryDrawn, LotteryOpened
from livecircle.interaction.lotteries.models import (
    Lottery,
    LotteryEntry,
    LotteryPrize,
    LotteryTicket,
    LotteryWinner,
)
from livecircle.interaction.lotteries.schemas import LotteryCreate
from livecircle.kit import jobs
from livecircle.kit.clock import utcnow
from livecircle.kit.db import one_sqlite_writer
from livecircle.kit.events import emit
from livecircle.live import service as live_service
from livecircle.live.errors import ShowNotLive
from livecircle.live.models import Room

DRAW_JOB = "interaction.draw_lottery"


async def do_create_lottery(
    session: AsyncSession, *, room: Room, user_id: int, data: LotteryCreate
) -> Lottery:
    """A draft. Raises CouponNotFound (a coupon prize naming another tenant's, or no, template)."""
    for prize in data.prizes:
        if prize.coupon_template_id is not None:
            await coupons.get_template(session, room.tenant_id, prize.coupon_template_id)
    lottery = Lottery(
        tenant_id=room.tenant_id,
        room_id=room.id,
        title=data.title.strip(),
        rules=[rule.model_dump() for rule in data.rules],
        duration_s=data.duration_s,
        created_by=user_id,
    )
    session.add(lottery)
    await session.flush()
    for position, prize in enumerate(data.prizes):
        session.add(LotteryPrize(lottery_id=lottery.id, position=position, **prize.model_dump()))
    await session.flush()
    return lottery


async def get_lottery(session: AsyncSession, lottery_id: int) -> Lottery:
    lottery = await session.get(Lottery, lottery_id)
    if lottery is None:
        raise LotteryNotFound()
    return lottery


async def do_open_lottery(session: AsyncSession, lottery: Lottery) -> Lottery:
    """Open a draft in the live show: the secret seed is drawn now and its hash published.
    Raises ShowNotLive, LotteryAlreadyOpened. Schedules the draw when it has a duration."""
    show = await live_service.get_live_show(session, lottery.room_id)
    if show is None:
        raise ShowNotLive("Go live before launching the lottery")
    await one_sqlite_writer(session)
    now = utcnow()
    seed = draw.new_seed()
    draw_at = now + timedelta(seconds=lottery.duration_s) if lottery.duration_s else None
    opened = await session.execute(
        update(Lottery)
        .where(Lottery.id == lottery.id, Lottery.status == "draft")
        .values(
            status="open",
            show_id=show.id,
            opened_at=now,
            draw_at=draw_at,
            seed_hex=seed,
            seed_hash=draw.seed_hash(seed),
        )
    )
    if not getattr(opened, "rowcount", 0):
        raise LotteryAlreadyOpened()
    await session.refresh(lottery)
    if draw_at is not None:
        payload = {"lottery_id": lottery.id}
        await jobs.schedule(
            session, DRAW_JOB, key=f"lottery-draw:{lottery.id}", run_at=draw_at, payload=payload
        )
    emit(session, LotteryOpened(lottery.tenant_id, lottery.room_id, show.id, lottery.id))
    return lottery


async def do_join(
    session: AsyncSession, rules: EconomySettings, lottery: Lottery, *, room: Room, user_id: int
) -> list[str]:
    """Enter the caller (idempotent). Returns the rules they do not meet yet: they are checked
    again at the draw, so watching longer or following the host later still counts."""
    if lottery.status != "open":
        raise LotteryNotOpen()
    try:
        async with session.begin_nested():
            session.add(LotteryEntry(lottery_id=lottery.id, user_id=user_id))
            await session.flush()
    except IntegrityError:
        pass  # joined before
    missing = await eligibility.passing(session, rules, lottery, room, [user_id])
    return missing[user_id]


async def do_draw(session: AsyncSession, rules: EconomySettings, lottery_id: int) -> Lottery:
    """Freeze the eligible list, hash it, derive the winners, hand out their prizes. Exactly
    once: the open → drawn update decides, so the timed job and the host cannot both draw.
    Raises LotteryNotOpen. Emits LotteryDrawn and one LotteryWon per winner."""
    await one_sqlite_writer(session)
    lottery = await get_lottery(session, lottery_id)
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(Lottery.id).where(Lottery.id == lottery_id).with_for_update())
        await session.refresh(lottery)
    if lottery.status != "open":
        raise LotteryNotOpen("This lottery is not open: drawn already, or never launched")
    room = await live_service.get_room(session, lottery.room_id)
    entrants = await eligibility.candidates(session, lottery)
    missing = await eligibility.passing(session, rules, lottery, room, entrants)
    eligible = sorted(u for u, lacks in missing.items() if not lacks)
    codes = [draw.ticket_code(u) for u in eligible]
    digest = draw.list_hash(codes)
    session.add_all(
        LotteryTicket(lottery_id=lottery.id, position=i, user_id=u, code=codes[i])
        for i, u in enumerate(eligible)
    )
    offered = await list_prizes(session, lottery.id)
    slots = [prize for prize in offered for _ in range(prize.quantity)]
    positions = draw.draw_positions(lottery.seed_hex or "", digest, len(eligible), len(slots))
    lottery.status, lottery.drawn_at, lottery.list_hash, lottery.entrants = (
        "drawn",
        utcnow(),
        digest,
        len(eligible),
    )
    await session.flush()
    winners = [
        await prizes.award(
            session, rules, lottery, rank=rank, ticket=position, user_id=eligible[position], prize=prize
        )
        for rank, (position, prize) in enumerate(zip(positions, slots, strict=False), start=1)
    ]
    emit(
        session,
        LotteryDrawn(
            lottery.tenant_id, lottery.room_id, lottery.show_id, lottery.id, tuple(w.user_id for w in winners)
        ),
    )
    return lottery


async def on_draw_job(session: AsyncSession, rules: EconomySettings, payload: dict[str, Any]) -> None:
    try:
        async with session.begin_nested():
            await do_draw(session, rules, int(payload["lottery_id"]))
    except LotteryNotOpen:
        pass  # the host drew it first


async def list_prizes(session: AsyncSession, lottery_id: int) -> list[LotteryPrize]:
    rows = await session.scalars(
        select(LotteryPrize).where(LotteryPrize.lottery_id == lottery_id).order_by(LotteryPrize.position)
    )
    return list(rows)


async def list_winners(session: AsyncSession, lottery_id: int) -> list[LotteryWinner]:
    rows = await session.scalars(
        select(LotteryWinner).where(LotteryWinner.lottery_id == lottery_id).order_by(LotteryWinner.rank)
    )
    return list(rows)


async def tickets(session: AsyncSession, lottery_id: int) -> list[str]:
    rows = await session.scalars(
        select(LotteryTicket.code)
        .where(LotteryTicket.lottery_id == lottery_id)
        .order_by(LotteryTicket.position)
    )
    return list(rows)


async def view(
    session: AsyncSession,
    rules: EconomySettings,
    lottery: Lottery,
    *,
    user_id: int | None = None,
    staff: bool = False,
) -> dict[str, Any]:
    """What the room shows: rules, prizes, the seed's hash, and after the draw the list hash
    and winners (names only as the winners chose them; addresses only for staff)."""
    offered = await list_prizes(session, lottery.id)
    names = {p.id: p.name for p in offered}
    entries = await session.scalar(
        select(func.count()).select_from(LotteryEntry).where(LotteryEntry.lottery_id == lottery.id)
    )
    winners = []
    for winner in await list_winners(session, lottery.id):
        row: dict[str, Any] = {
            "id": winner.id,
            "rank": winner.rank,
            "ticket": winner.ticket,
            "user_id": winner.user_id,
            "code": draw.ticket_code(winner.user_id),
            "prize": names.get(winner.prize_id),
            "status": winner.status,
        }
        if staff:
            row |= {"address": winner.address, "note": winner.note}
        winners.append(row)
    out: dict[str, Any] = {
        "id": lottery.id,
        "room_id": lottery.room_id,
        "show_id": lottery.show_id,
        "title": lottery.title,
        "status": lottery.status,
        "rules": lottery.rules,
        "duration_s": lottery.duration_s,
        "prizes": [
            {"id": p.id, "kind": p.kind, "name": p.name, "quantity": p.quantity, "amount": p.amount}
            for p in offered
        ],
        "opened_at": lottery.opened_at,
        "draw_at": lottery.draw_at,
        "drawn_at": lottery.drawn_at,
        "seed_hash": lottery.seed_hash,
        "list_hash": lottery.list_hash,
        "entrants": lottery.entrants,
        "entries": entries or 0,
        "winners": winners,
        "server_now": utcnow(),
    }
    if user_id is not None and lottery.status == "open":
        room = await live_service.get_room(session, lottery.room_id)
        joined = await session.scalar(
            select(LotteryEntry.id).where(
                LotteryEntry.lottery_id == lottery.id, LotteryEntry.user_id == user_id
            )
        )
        missing = await eligibility.passing(session, rules, lottery, room, [user_id])
        out["me"] = {
            "joined": joined is not None,
            "missing": missing[user_id],
            "code": draw.ticket_code(user_id),
        }
    return out


async def audit(session: AsyncSession, lottery: Lottery) -> dict[str, Any]:
    """Everything needed to re-derive the winners; the seed only once drawn."""
    drawn = lottery.status == "drawn"
    names = {p.id: p.name for p in await list_prizes(session, lottery.id)}
    return {
        "lottery_id": lottery.id,
        "title": lottery.title,
        "status": lottery.status,
        "algorithm": "livecircle-lottery-v1: sha256(seed_hex:list_hash:counter), top bits, rejection",
        "seed_hash": lottery.seed_hash,
        "seed": lottery.seed_hex if drawn else None,
        "list_hash": lottery.list_hash,
        "tickets": await tickets(session, lottery.id) if drawn else [],
        "winners": [
            {
                "rank": w.rank,
                "ticket": w.ticket,
                "code": draw.ticket_code(w.user_id),
                "prize": names.get(w.prize_id),
            }
            for w in await list_winners(session, lottery.id)
        ],
        "script_url": "/static/lottery_verify.py",
    }


async def list_room_lotteries(session: AsyncSession, *, room_id: int, show_id: int | None) -> list[Lottery]:
    where = Lottery.status == "draft"
    if show_id is not None:
        where = where | (Lottery.show_id == show_id)
    rows = await session.scalars(
        select(Lottery).where(Lottery.room_id == room_id, where).order_by(Lottery.id.desc())
    )
    return list(rows)
