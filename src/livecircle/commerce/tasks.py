"""Commerce subscribers and jobs: the room hears about cards, flash sales and coupon drops;
new members, new followers and points redemptions get their coupons; the durable jobs
release unpaid orders and close flash sales."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.commerce import coupons, flash, lifecycle, pins
from livecircle.commerce.events import (
    CouponDropped,
    FlashSaleEnded,
    FlashSaleScheduled,
    OrderPlaced,
    OrderReleased,
    ProductPinned,
    ProductUnpinned,
)
from livecircle.commerce.gate import FlashGate
from livecircle.commerce.models import CouponTemplate, FlashSale, Pin
from livecircle.economy.events import StoreItemRedeemed
from livecircle.identity.events import UserRegistered
from livecircle.kit.db import Database
from livecircle.kit.errors import AppError
from livecircle.kit.jobs import JobRunner
from livecircle.live.events import HostFollowed
from livecircle.realtime.hub import Hub

log = logging.getLogger(__name__)
STOCK_EVERY = 0.3  # seconds: a sale's stock reaches the room at most this often


def register_jobs(runner: JobRunner) -> None:
    async def close_sale(session: AsyncSession, payload: dict[str, Any]) -> None:
        await flash.do_close_sale(session, int(payload["sale_id"]))

    runner.register(lifecycle.TIMEOUT_JOB, lifecycle.on_timeout)
    runner.register(flash.CLOSE_JOB, close_sale)


async def reconcile_gate(db: Database, gate: FlashGate, *, older_than_s: float) -> None:
    """Settle reservations a crashed node left in the gate, on every node, for ever."""
    while True:
        await asyncio.sleep(older_than_s / 3)
        try:
            async with db.unit_of_work() as session:
                figures = await gate.reconcile(session, older_than_s=older_than_s)
            if any(figures.values()):
                log.warning("flash gate reconciled", extra=figures)
        except Exception:
            log.exception("flash gate reconciliation failed")


def subscribe(db: Database, hub: Hub, gate: FlashGate | None = None) -> None:
    bus = db.bus
    stock_pending: set[int] = set()

    async def pinned(event: ProductPinned) -> None:
        async with db.unit_of_work() as session:
            pin = await session.get(Pin, event.pin_id)
            if pin is None or pin.unpinned_at is not None:
                return
            card = (await pins.cards(session, [pin]))[0]
        await hub.publish(f"room:{event.room_id}", {"type": "product_pin", "card": card})

    async def unpinned(event: ProductUnpinned) -> None:
        await hub.publish(
            f"room:{event.room_id}",
            {"type": "product_unpin", "pin_id": event.pin_id, "product_id": event.product_id},
        )

    async def sale_changed(event: FlashSaleScheduled | FlashSaleEnded) -> None:
        async with db.unit_of_work() as session:
            sale = await flash.peek_sale(session, event.sale_id)
            if gate is not None:
                if isinstance(event, FlashSaleEnded):
                    await gate.close_sale(sale.id)
                else:
                    await gate.load(session, sale)
        if event.room_id is not None:
            await hub.publish(f"room:{event.room_id}", {"type": "flash_sale", "sale": flash.sale_view(sale)})

    async def publish_stock(sale_id: int) -> None:
        await asyncio.sleep(STOCK_EVERY)
        stock_pending.discard(sale_id)
        async with db.unit_of_work() as session:
            sale = await session.get(FlashSale, sale_id)
        if sale is not None and sale.room_id is not None:
            await hub.publish(
                f"room:{sale.room_id}",
                {"type": "flash_stock", "sale_id": sale.id, "stock_left": sale.stock_left},
            )

    def stock_changed(sale_id: int | None) -> None:
        if sale_id is None or sale_id in stock_pending:
            return
        stock_pending.add(sale_id)
        task = asyncio.create_task(publish_stock(sale_id))
        background.add(task)
        task.add_done_callback(background.discard)

    async def order_placed(event: OrderPlaced) -> None:
        stock_changed(event.flash_sale_id)

    async def order_released(event: OrderReleased) -> None:
        if gate is not None and event.flash_sale_id is not None:
            async with db.unit_of_work() as session:
                sale = await flash.peek_sale(session, event.flash_sale_id)
            if sale.closed_at is None:
                await gate.give_back(sale.id, user_id=event.user_id, quantity=event.quantity)
        stock_changed(event.flash_sale_id)

    async def coupon_dropped(event: CouponDropped) -> None:
        async with db.unit_of_work() as session:
            template = await session.get(CouponTemplate, event.template_id)
        if template is None:
            return
        await hub.publish(
            f"room:{event.room_id}",
            {
                "type": "coupon_drop",
                "show_id": event.show_id,
                "coupon": {
                    "template_id": template.id,
                    "name": template.name,
                    "kind": template.kind,
                    "amount_off_cents": template.amount_off_cents,
                    "percent_off": template.percent_off,
                    "min_spend_cents": template.min_spend_cents,
                    "left": None if template.total is None else template.total - template.issued,
                },
            },
        )

    async def hand_out(tenant_id: int, user_id: int, channel: str, template_id: int | None = None) -> None:
        async with db.unit_of_work() as session:
            found = await coupons.list_templates(session, tenant_id, channel=channel, enabled_only=True)
            for template in found:
                if template_id is not None and template.id != template_id:
                    continue
                try:
                    async with session.begin_nested():
                        await coupons.do_issue(session, template, user_id=user_id, source=channel)
                except AppError as exc:  # the user holds it already, or none are left
                    log.info("coupon %s not issued to %s: %s", template.id, user_id, exc.code)

    async def registered(event: UserRegistered) -> None:
        await hand_out(event.tenant_id, event.user_id, "new_user")

    async def followed(event: HostFollowed) -> None:
        await hand_out(event.tenant_id, event.user_id, "follow")

    async def redeemed(event: StoreItemRedeemed) -> None:
        template_id = event.payload.get("template_id")
        if event.kind == "coupon" and isinstance(template_id, int):
            await hand_out(event.tenant_id, event.user_id, "points", template_id)

    background: set[asyncio.Task[None]] = set()
    bus.subscribe(ProductPinned, pinned)
    bus.subscribe(ProductUnpinned, unpinned)
    bus.subscribe(FlashSaleScheduled, sale_changed)
    bus.subscribe(FlashSaleEnded, sale_changed)
    bus.subscribe(OrderPlaced, order_placed)
    bus.subscribe(OrderReleased, order_released)
    bus.subscribe(CouponDropped, coupon_dropped)
    bus.subscribe(UserRegistered, registered)
    bus.subscribe(HostFollowed, followed)
    bus.subscribe(StoreItemRedeemed, redeemed)
