"""What happens to an order after it is placed: paid (``payments``), fulfilled, cancelled by
the buyer or its timeout, refunded. Every transition is a conditional UPDATE on the state it
leaves, so leaving ``created`` or ``paid`` gives the stock and the coupon back exactly once."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.commerce import coupons, flash, stock
from livecircle.commerce.errors import OrderNotFound, OrderStateConflict
from livecircle.commerce.events import OrderReleased
from livecircle.commerce.models import Order
from livecircle.kit import jobs
from livecircle.kit.clock import utcnow
from livecircle.kit.db import one_sqlite_writer
from livecircle.kit.events import emit
from livecircle.privacy.legal_hold import not_held

TIMEOUT_JOB = "commerce.order_timeout"


def timeout_key(order_id: int) -> str:
    """The durable job that releases the order if it is still unpaid at its deadline."""
    return f"order-timeout:{order_id}"


async def get_order(session: AsyncSession, order_id: int) -> Order:
    order = await session.scalar(
        select(Order).where(Order.id == order_id).execution_options(populate_existing=True)
    )
    if order is None:
        raise OrderNotFound()
    return order


async def get_own_order(session: AsyncSession, *, user_id: int, order_id: int) -> Order:
    order = await get_order(session, order_id)
    if order.user_id != user_id:
        raise OrderNotFound()
    return order


async def list_orders(
    session: AsyncSession,
    *,
    tenant_id: int,
    user_id: int | None = None,
    show_id: int | None = None,
    limit: int = 50,
) -> list[Order]:
    query = select(Order).where(Order.tenant_id == tenant_id).order_by(Order.id.desc()).limit(limit)
    query = query.where(not_held(Order.user_id))  # an erased buyer's orders: auditors only
    if user_id is not None:
        query = query.where(Order.user_id == user_id)
    if show_id is not None:
        query = query.where(Order.show_id == show_id)
    return list((await session.scalars(query)).all())


async def list_shop_orders(
    session: AsyncSession, *, tenant_id: int, status: str | None = None, limit: int = 50
) -> list[Order]:
    """The shop's orders, newest first; with ``status``, only those in it (what operators
    fulfil and refund)."""
    query = select(Order).where(Order.tenant_id == tenant_id).order_by(Order.id.desc()).limit(limit)
    query = query.where(not_held(Order.user_id))  # an erased buyer's orders: auditors only
    if status is not None:
        query = query.where(Order.status == status)
    return list((await session.scalars(query)).all())


async def transition(
    session: AsyncSession, order_id: int, leaving: tuple[str, ...], to: str, **stamps: Any
) -> bool:
    """Move the order from one of ``leaving`` to ``to``; False when it was not in one of them."""
    result = await session.execute(
        update(Order).where(Order.id == order_id, Order.status.in_(leaving)).values(status=to, **stamps)
    )
    return cast(CursorResult[Any], result).rowcount == 1


async def do_release(
    session: AsyncSession, order_id: int, *, reason: str, leaving: tuple[str, ...] = ("created",)
) -> Order | None:
    """Cancel (from created) or refund (from paid/fulfilled) and give the stock and coupon
    back; exactly once, whoever asks how often. None when the order had already moved on."""
    await one_sqlite_writer(session)
    now = utcnow()
    to = "cancelled" if leaving == ("created",) else "refunded"
    stamp = {"cancelled_at": now} if to == "cancelled" else {"refunded_at": now}
    if not await transition(session, order_id, leaving, to, cancel_reason=reason, **stamp):
        return None
    order = await get_order(session, order_id)
    if order.flash_sale_id is not None:
        sale = await flash.peek_sale(session, order.flash_sale_id)
        await stock.give_back_flash(session, sale, order.user_id, order.quantity)
    else:
        await stock.give_back_sku(session, order.sku_id, order.quantity)
    if order.coupon_id is not None:
        await coupons.give_back(session, coupon_id=order.coupon_id, order_id=order.id)
    if to == "cancelled":
        await jobs.cancel(session, timeout_key(order.id))
    emit(
        session,
        OrderReleased(
            order.tenant_id,
            order.id,
            order.user_id,
            order.show_id,
            order.room_id,
            order.flash_sale_id,
            order.quantity,
            to,
            reason,
        ),
    )
    return order


async def do_cancel(session: AsyncSession, *, order: Order) -> Order:
    """The buyer cancels an unpaid order. Raises OrderStateConflict."""
    released = await do_release(session, order.id, reason="buyer")
    if released is None:
        raise OrderStateConflict("Only an unpaid order can be cancelled", order_status=order.status)
    return released


async def do_refund(session: AsyncSession, *, order: Order) -> Order:
    released = await do_release(session, order.id, reason="refund", leaving=("paid", "fulfilled"))
    if released is None:
        raise OrderStateConflict("Only a paid order can be refunded", order_status=order.status)
    return released


async def do_fulfil(session: AsyncSession, *, order: Order) -> Order:
    if not await transition(session, order.id, ("paid",), "fulfilled", fulfilled_at=utcnow()):
        raise OrderStateConflict("Only a paid order can be fulfilled", order_status=order.status)
    return await get_order(session, order.id)


async def on_timeout(session: AsyncSession, payload: dict[str, Any]) -> None:
    """The durable job at an order's deadline: release it if still unpaid (once)."""
    await do_release(session, int(payload["order_id"]), reason="timeout")
