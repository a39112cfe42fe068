"""Points expiry: removing the remainder of point lots past their date.

A user loses ``min(remaining of expired lots, wallet − remaining of live lots)``: points that
have not expired are never taken, nor more than the wallet holds (points tipped through the
gift path do not consume lots, so the wallet, not the lots, bounds what is left). One transfer
wallet → issuance per user and run, under ``expire:{user}:{last lot id}``; the lots are then
marked used, so a second run finds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.config import EconomySettings
from livecircle.economy import ledger
from livecircle.economy.errors import ConcurrentChange
from livecircle.economy.ledger import AccountRef
from livecircle.economy.points import CURRENCY, get_balance
from livecircle.economy.points_models import PointLot
from livecircle.kit.clock import utcnow
from livecircle.kit.db import Database


@dataclass(frozen=True, slots=True)
class _Expiring:
    lot_ids: list[int]
    expired: int  # remaining points of lots past expiry
    live: int  # remaining points of lots not yet expired
    balance: int

    @property
    def amount(self) -> int:
        return min(self.expired, max(0, self.balance - self.live))


async def expire_points(
    db: Database, rules: EconomySettings, *, now: datetime | None = None
) -> dict[int, int]:
    """Remove expired points of every user (one unit of work per user): user id → points removed.

    A user whose points moved meanwhile is skipped (ConcurrentChange) and handled by the next run.
    """
    now = now or utcnow()
    async with db.unit_of_work() as session:
        owners = (
            await session.execute(
                select(PointLot.tenant_id, PointLot.user_id)
                .where(PointLot.expires_at <= now, PointLot.remaining > 0)
                .distinct()
            )
        ).all()
    removed: dict[int, int] = {}
    for tenant_id, user_id in owners:
        try:
            async with db.unit_of_work() as session:
                removed[user_id] = await do_expire_points(
                    session, tenant_id=tenant_id, user_id=user_id, now=now
                )
        except ConcurrentChange:
            continue
    return removed


async def do_expire_points(session: AsyncSession, *, tenant_id: int, user_id: int, now: datetime) -> int:
    """Remove the user's expired points (the rule is in the module docstring); returns how many.

    Raises ConcurrentChange when the user's points moved between reading and writing.
    """
    before = await _expiring(session, tenant_id, user_id, now)
    if not before.lot_ids:
        return 0
    amount = before.amount
    if amount:
        await ledger.post(
            session,
            tenant_id=tenant_id,
            key=f"expire:{user_id}:{before.lot_ids[-1]}",
            kind="expire",
            legs=[(AccountRef.wallet(user_id, CURRENCY), -amount), (AccountRef.issuance(CURRENCY), amount)],
            request={"op": "expire", "user": user_id, "points": amount, "lots": before.lot_ids},
            result_of=lambda transfer_id, balances: {"transfer_id": transfer_id, "points": amount},
            actor_id=user_id,
            subject="expire",
        )
        after = await _expiring(session, tenant_id, user_id, now)
        if (after.lot_ids, after.expired, after.live, after.balance + amount) != (
            before.lot_ids,
            before.expired,
            before.live,
            before.balance,
        ):
            raise ConcurrentChange()
    await session.execute(update(PointLot).where(PointLot.id.in_(before.lot_ids)).values(remaining=0))
    return amount


async def _expiring(session: AsyncSession, tenant_id: int, user_id: int, now: datetime) -> _Expiring:
    lots = (
        await session.execute(
            select(PointLot.id, PointLot.remaining, PointLot.expires_at)
            .where(PointLot.tenant_id == tenant_id, PointLot.user_id == user_id, PointLot.remaining > 0)
            .order_by(PointLot.id)
        )
    ).all()
    expired = [lot for lot in lots if lot.expires_at <= now]
    return _Expiring(
        lot_ids=[lot.id for lot in expired],
        expired=sum(int(lot.remaining) for lot in expired),
        live=sum(int(lot.remaining) for lot in lots if lot.expires_at > now),
        balance=await get_balance(session, tenant_id, user_id),
    )
