"""Stock decisions. Each ``take_*`` is one conditional UPDATE: the database decides, so two
buyers can never both get the last unit, on any number of nodes. ``seen_left`` is what the
caller read before deciding; the real decisions ignore it (the deliberate read-then-write
mutant in the test suite uses it, and the oversell tests must catch that)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.commerce.models import FlashBuyer, FlashSale, Sku
from livecircle.kit.db import dialect_insert


def _changed(result: Any) -> bool:
    return cast(CursorResult[Any], result).rowcount == 1


async def take_sku(session: AsyncSession, sku_id: int, quantity: int) -> bool:
    result = await session.execute(
        update(Sku).where(Sku.id == sku_id, Sku.stock >= quantity).values(stock=Sku.stock - quantity)
    )
    return _changed(result)


async def give_back_sku(session: AsyncSession, sku_id: int, quantity: int) -> None:
    await session.execute(update(Sku).where(Sku.id == sku_id).values(stock=Sku.stock + quantity))


async def take_flash(
    session: AsyncSession, sale_id: int, quantity: int, now: datetime, seen_left: int
) -> bool:
    """Take ``quantity`` units of an open flash sale, or nothing."""
    result = await session.execute(
        update(FlashSale)
        .where(
            FlashSale.id == sale_id,
            FlashSale.stock_left >= quantity,
            FlashSale.starts_at <= now,
            FlashSale.ends_at > now,
            FlashSale.closed_at.is_(None),
        )
        .values(stock_left=FlashSale.stock_left - quantity)
    )
    return _changed(result)


async def hold_for_user(session: AsyncSession, sale_id: int, user_id: int, quantity: int, limit: int) -> bool:
    """Count ``quantity`` more units against the user's limit, or nothing when that would pass it."""
    if quantity > limit:
        return False
    statement = dialect_insert(session, FlashBuyer).values(
        sale_id=sale_id, user_id=user_id, quantity=quantity
    )
    statement = statement.on_conflict_do_update(
        index_elements=["sale_id", "user_id"],
        set_={"quantity": FlashBuyer.quantity + statement.excluded.quantity},
        where=FlashBuyer.quantity + statement.excluded.quantity <= limit,
    )
    return _changed(await session.execute(statement))


async def give_back_flash(session: AsyncSession, sale: FlashSale, user_id: int, quantity: int) -> None:
    """Return units to the sale while it is open, else to the SKU (the close moved the rest)."""
    result = await session.execute(
        update(FlashSale)
        .where(FlashSale.id == sale.id, FlashSale.closed_at.is_(None))
        .values(stock_left=FlashSale.stock_left + quantity)
    )
    if not _changed(result):
        await give_back_sku(session, sale.sku_id, quantity)
    await session.execute(
        update(FlashBuyer)
        .where(FlashBuyer.sale_id == sale.id, FlashBuyer.user_id == user_id)
        .values(quantity=FlashBuyer.quantity - quantity)
    )


async def close_flash(session: AsyncSession, sale_id: int, now: datetime) -> int:
    """Close the sale once and move what is left back to its SKU; returns the units moved."""
    result = await session.execute(
        update(FlashSale)
        .where(FlashSale.id == sale_id, FlashSale.closed_at.is_(None))
        .values(closed_at=now)
        .returning(FlashSale.stock_left, FlashSale.sku_id)
    )
    row = result.first()
    if row is None:
        return 0
    left, sku_id = row
    if left:
        await session.execute(update(FlashSale).where(FlashSale.id == sale_id).values(stock_left=0))
        await give_back_sku(session, sku_id, left)
    return int(left)
