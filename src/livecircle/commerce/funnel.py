"""The selling funnel per show and product: impression → click → add → order → pay.

Impressions and clicks come from viewers' pages (one impression per viewer per card);
orders and payments are recorded by the order service in the same transaction as the
order, so the funnel never counts an order that did not happen."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.commerce.events import FunnelStepRecorded
from livecircle.commerce.models import FunnelStep, Order, Payment
from livecircle.kit.db import dialect_insert
from livecircle.kit.events import emit
from livecircle.kit.tracking import track

FUNNEL_KINDS = ("impression", "click", "add", "order", "pay")
TRACKED = {"impression": "product_impression", "click": "product_click", "add": "cart_add"}


async def record(
    session: AsyncSession,
    *,
    tenant_id: int,
    show_id: int | None,
    product_id: int,
    kind: str,
    dedupe: str,
    user_id: int | None = None,
    viewer: str | None = None,
) -> bool:
    """Record one step unless ``dedupe`` was recorded before; True when it counted."""
    step_id = await session.scalar(
        dialect_insert(session, FunnelStep)
        .values(
            tenant_id=tenant_id,
            show_id=show_id,
            product_id=product_id,
            kind=kind,
            user_id=user_id,
            viewer=viewer,
            dedupe=dedupe[:160],
        )
        .on_conflict_do_nothing(index_elements=["dedupe"])
        .returning(FunnelStep.id)
    )
    if step_id is None:
        return False
    emit(session, FunnelStepRecorded(tenant_id, show_id, product_id, kind, user_id))
    if kind in TRACKED:  # orders and payments are tracked by the order's own events
        track(
            session,
            TRACKED[kind],
            event_id=f"funnel:{dedupe[:160]}",
            tenant_id=tenant_id,
            user_id=user_id,
            anon_id=None if user_id else viewer,
            show_id=show_id,
            props={"product_id": product_id},
        )
    return True


async def record_orders(session: AsyncSession, orders: Sequence[Order]) -> None:
    """``record`` of the "order" step for several new orders, in one statement."""
    rows = [
        {
            "tenant_id": order.tenant_id,
            "show_id": order.show_id,
            "product_id": order.product_id,
            "kind": "order",
            "user_id": order.user_id,
            "viewer": None,
            "dedupe": f"order:{order.id}",
        }
        for order in orders
    ]
    statement = dialect_insert(session, FunnelStep).on_conflict_do_nothing(index_elements=["dedupe"])
    recorded = set((await session.scalars(statement.returning(FunnelStep.dedupe), rows)).all())
    for order in orders:
        if f"order:{order.id}" in recorded:
            emit(
                session,
                FunnelStepRecorded(order.tenant_id, order.show_id, order.product_id, "order", order.user_id),
            )


async def show_funnel(session: AsyncSession, show_id: int) -> dict[str, Any]:
    """Counts per step with their definitions, click → order and payment success."""
    counts = dict.fromkeys(FUNNEL_KINDS, 0)
    rows = await session.execute(
        select(FunnelStep.kind, func.count()).where(FunnelStep.show_id == show_id).group_by(FunnelStep.kind)
    )
    for kind, count in rows:
        counts[kind] = int(count)
    paid, settled = (
        await session.execute(
            select(
                func.count().filter(Payment.status.in_(("paid", "refund_due"))),
                func.count().filter(Payment.status != "pending"),
            ).where(Payment.show_id == show_id)
        )
    ).one()
    return {
        "show_id": show_id,
        "steps": counts,
        "click_to_order": round(counts["order"] / counts["click"], 4) if counts["click"] else None,
        "payment_success": round(paid / settled, 4) if settled else None,
        "payments_settled": int(settled),
        "definitions": {
            "impression": "viewers who were shown a pinned card (once per viewer per card)",
            "click": "viewers who opened a card's checkout (once per viewer per card)",
            "add": "viewers who chose a SKU and quantity in the checkout",
            "order": "orders placed in this show",
            "pay": "orders of this show paid",
            "click_to_order": "orders / clicks",
            "payment_success": "paid payment attempts / settled (paid or failed) attempts",
        },
    }
