"""Stock decisions. Each ``take_*`` is a conditional UPDATE: the database decides, so two
buyers can never both get the last unit, on any number of nodes. ``seen_left`` is what the
caller read before deciding; the real decisions ignore it (the deliberate read-then-write
mutant in the test suite uses it, and the oversell tests must catch that).

A flash sale's units are spread over up to ``SLOTS`` rows (``FlashSlot``). A buyer takes from
the first slot no other buyer has locked (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so up to
``SLOTS`` decisions are in flight at once and commit together: on one row each decision waits
for the previous one's commit, about one decision per disk flush. Only when every slot with
stock is locked does a buyer wait, on one slot, holding none; a sale whose stock is scattered
in slots smaller than the quantity asked is decided with all its slots locked in order, as the
close does: nobody waits for a slot while holding one out of order, so no deadlock.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Select, Update, exists, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.commerce.models import FlashBuyer, FlashSale, FlashSlot, Sku
from livecircle.kit.db import dialect_insert

SLOTS = 64  # rows per flash sale: decisions in flight at once on PostgreSQL
WAITS = 100  # rounds of waiting for a locked slot before answering "sold out"


def _changed(result: Any) -> bool:
    return cast(CursorResult[Any], result).rowcount == 1


def take_from_sku(sku_id: int, quantity: int) -> Update:
    """The decision on a SKU's one row: ``quantity`` units, or no row changed."""
    return update(Sku).where(Sku.id == sku_id, Sku.stock >= quantity).values(stock=Sku.stock - quantity)


async def take_sku(session: AsyncSession, sku_id: int, quantity: int) -> bool:
    return _changed(await session.execute(take_from_sku(sku_id, quantity)))


async def give_back_sku(session: AsyncSession, sku_id: int, quantity: int) -> None:
    await session.execute(update(Sku).where(Sku.id == sku_id).values(stock=Sku.stock + quantity))


def spread(total: int, slots: int) -> list[int]:
    """``total`` units over at most ``slots`` rows, as evenly as they go (each ≥ 1)."""
    count = max(1, min(slots, total))
    share, extra = divmod(total, count)
    return [share + (1 if n < extra else 0) for n in range(count)]


async def stock_sale(session: AsyncSession, sale_id: int, total: int) -> None:
    """The slots of a new sale holding its ``total`` units."""
    rows = [
        {"sale_id": sale_id, "slot": n, "stock_left": left} for n, left in enumerate(spread(total, SLOTS))
    ]
    await session.execute(insert(FlashSlot), rows)


def _open(sale_id: int, now: datetime) -> ColumnElement[bool]:
    return exists().where(
        FlashSale.id == sale_id,
        FlashSale.closed_at.is_(None),
        FlashSale.starts_at <= now,
        FlashSale.ends_at > now,
    )


def _slots_with_stock(sale_id: int, now: datetime) -> Select[int, int]:
    """The sale's slots holding units, with what each holds, while the sale is open."""
    return select(FlashSlot.slot, FlashSlot.stock_left).where(
        FlashSlot.sale_id == sale_id, FlashSlot.stock_left > 0, _open(sale_id, now)
    )


def _take_from(sale_id: int, slot: Any, quantity: int, now: datetime) -> Update:
    return (
        update(FlashSlot)
        .where(
            FlashSlot.sale_id == sale_id,
            FlashSlot.slot == slot,
            FlashSlot.stock_left >= quantity,
            _open(sale_id, now),
        )
        .values(stock_left=FlashSlot.stock_left - quantity)
    )


def take_free_slot(sale_id: int, quantity: int, now: datetime) -> Update:
    """The decision most buyers get: ``quantity`` units from the first slot holding them that
    nobody else has locked, while the sale is open; one row changed or none."""
    free = (
        select(FlashSlot.slot)
        .where(FlashSlot.sale_id == sale_id, FlashSlot.stock_left >= quantity)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return _take_from(sale_id, free, quantity, now)


async def take_flash(
    session: AsyncSession, sale_id: int, quantity: int, now: datetime, seen_left: int
) -> bool:
    """Take ``quantity`` units of an open flash sale, or nothing."""
    if _changed(await session.execute(take_free_slot(sale_id, quantity, now))):
        return True
    for _ in range(WAITS):
        # Every slot holding the units is locked by a buyer deciding now, or empty.
        rows = (await session.execute(_slots_with_stock(sale_id, now))).all()
        if sum(left for _, left in rows) < quantity:
            return False
        whole = [slot for slot, left in rows if left >= quantity]
        if not whole:
            return await _take_scattered(session, sale_id, quantity, now)
        if await _wait_for_slot(session, sale_id, random.choice(whole), quantity, now):
            return True
    return False


# Many units from the sale's slots in one statement (PostgreSQL): every slot holding units is
# locked in slot order, as ``_take_scattered`` and ``close_flash`` lock them, and each gives
# what it holds until the quantity is reached; nothing changes unless the slots hold it all and
# the sale is open. Table names come from the models; every value is bound.
_TAKE_MANY = text(
    f"""
    WITH held AS (
        SELECT slot, stock_left FROM {FlashSlot.__tablename__}
        WHERE sale_id = :sale AND stock_left > 0 ORDER BY slot FOR UPDATE
    ), plan AS (
        SELECT slot, stock_left, sum(stock_left) OVER (ORDER BY slot) - stock_left AS before FROM held
    )
    UPDATE {FlashSlot.__tablename__} AS s
    SET stock_left = s.stock_left - LEAST(p.stock_left, :quantity - p.before)
    FROM plan AS p
    WHERE s.sale_id = :sale AND s.slot = p.slot AND p.before < :quantity
      AND (SELECT coalesce(sum(stock_left), 0) FROM held) >= :quantity
      AND EXISTS (
          SELECT 1 FROM {FlashSale.__tablename__} AS f
          WHERE f.id = :sale AND f.closed_at IS NULL AND f.starts_at <= :now AND f.ends_at > :now
      )
    """  # noqa: S608
)


async def take_flash_many(session: AsyncSession, sale_id: int, quantity: int, now: datetime) -> bool:
    """``quantity`` units of an open sale from as many slots as it takes, in one round trip
    (PostgreSQL; a batch of orders), or nothing."""
    result = await session.execute(_TAKE_MANY, {"sale": sale_id, "quantity": quantity, "now": now})
    return cast(CursorResult[Any], result).rowcount > 0


async def _wait_for_slot(
    session: AsyncSession, sale_id: int, slot: int, quantity: int, now: datetime
) -> bool:
    """Wait for one slot and take from it. A slot emptied meanwhile is let go: PostgreSQL keeps
    the row locked after the wait, and rolling back to the savepoint releases it, so a buyer
    never waits while holding a slot (no deadlock with the ordered paths)."""
    savepoint = await session.begin_nested()
    if _changed(await session.execute(_take_from(sale_id, slot, quantity, now))):
        await savepoint.commit()
        return True
    await savepoint.rollback()
    return False


async def _take_scattered(session: AsyncSession, sale_id: int, quantity: int, now: datetime) -> bool:
    """``quantity`` units from several slots, each too small alone: all slots locked in order."""
    locked = _slots_with_stock(sale_id, now).order_by(FlashSlot.slot).with_for_update()
    rows = (await session.execute(locked)).all()
    if sum(left for _, left in rows) < quantity:
        return False
    wanted = quantity
    for slot, left in rows:
        taken = min(left, wanted)
        await session.execute(
            update(FlashSlot)
            .where(FlashSlot.sale_id == sale_id, FlashSlot.slot == slot)
            .values(stock_left=FlashSlot.stock_left - taken)
        )
        wanted -= taken
        if not wanted:
            return True
    raise AssertionError("the locked slots held the units")


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


async def hold_for_users(
    session: AsyncSession, sale_id: int, wanted: Sequence[tuple[int, int]], limit: int
) -> set[int]:
    """``hold_for_user`` for several buyers (each once) in one statement: the buyers held."""
    rows = [
        {"sale_id": sale_id, "user_id": user_id, "quantity": quantity}
        for user_id, quantity in wanted
        if quantity <= limit
    ]
    if not rows:
        return set()
    statement = dialect_insert(session, FlashBuyer)
    statement = statement.on_conflict_do_update(
        index_elements=["sale_id", "user_id"],
        set_={"quantity": FlashBuyer.quantity + statement.excluded.quantity},
        where=FlashBuyer.quantity + statement.excluded.quantity <= limit,
    ).returning(FlashBuyer.user_id)
    return set((await session.scalars(statement, rows)).all())


async def give_back_flash(session: AsyncSession, sale: FlashSale, user_id: int, quantity: int) -> None:
    """Return units to the sale while it is open (its first slot), else to the SKU (the close
    moved the rest)."""
    result = await session.execute(
        update(FlashSlot)
        .where(
            FlashSlot.sale_id == sale.id,
            FlashSlot.slot == 0,
            exists().where(FlashSale.id == sale.id, FlashSale.closed_at.is_(None)),
        )
        .values(stock_left=FlashSlot.stock_left + quantity)
    )
    if not _changed(result):
        await give_back_sku(session, sale.sku_id, quantity)
    await session.execute(
        update(FlashBuyer)
        .where(FlashBuyer.sale_id == sale.id, FlashBuyer.user_id == user_id)
        .values(quantity=FlashBuyer.quantity - quantity)
    )


async def close_flash(session: AsyncSession, sale_id: int, now: datetime) -> int:
    """Close the sale once and move what is left back to its SKU; returns the units moved.
    The close is marked first, so a buyer who has not decided yet finds the sale closed; the
    slots are then locked, so one who has decided is counted before the rest moves."""
    result = await session.execute(
        update(FlashSale)
        .where(FlashSale.id == sale_id, FlashSale.closed_at.is_(None))
        .values(closed_at=now)
        .returning(FlashSale.sku_id)
    )
    sku_id = result.scalar()
    if sku_id is None:
        return 0
    slots = (
        select(FlashSlot.stock_left)
        .where(FlashSlot.sale_id == sale_id)
        .order_by(FlashSlot.slot)
        .with_for_update()
    )
    left = sum((await session.scalars(slots)).all())
    if left:
        await session.execute(update(FlashSlot).where(FlashSlot.sale_id == sale_id).values(stock_left=0))
        await give_back_sku(session, sku_id, left)
    return int(left)
