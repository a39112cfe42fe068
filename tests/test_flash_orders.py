"""Gate winners written in batches (``commerce.flash_orders``, PostgreSQL): many orders in a few
transactions, with the answers each would have had alone, and nothing sold twice."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from livecircle.commerce import flash, orders, stock
from livecircle.commerce.errors import NotOnSale, PurchaseLimitReached, SaleNotOpen, SoldOut
from livecircle.commerce.flash_orders import FlashOrders
from livecircle.commerce.gate import FlashGate
from livecircle.commerce.models import FlashSlot, Order, Sku
from livecircle.commerce.orders import OrderRequest, Placed
from livecircle.config import CommerceSettings
from livecircle.kit.clock import utcnow
from livecircle.kit.db import Database
from tests import services
from tests.flashsale_crowd import Rush, make_buyers, open_sale, tenant_id, violations

RULES = CommerceSettings()


@pytest.fixture
async def shop(pg_url: str) -> AsyncIterator[dict[str, Any]]:
    db = Database(pg_url)
    batch = FlashOrders(db)
    commits = [0]

    def counted(_conn: Any) -> None:
        commits[0] += 1

    event.listen(batch.db.engine.sync_engine, "commit", counted)
    try:
        yield {"db": db, "batch": batch, "tenant": await tenant_id(db), "commits": commits}
    finally:
        await batch.close()
        await db.dispose()


def ask(rush: Rush, tenant: int, user_id: int, *, key: str | None = None, sku_id: int | None = None) -> Any:
    return OrderRequest(
        tenant_id=tenant,
        user_id=user_id,
        key=key or uuid.uuid4().hex,
        sku_id=rush.sku_id if sku_id is None else sku_id,
        quantity=1,
        flash_sale_id=rush.sale_id,
    )


async def outcomes(batch: FlashOrders, requests: list[OrderRequest]) -> list[Any]:
    return list(
        await asyncio.gather(*(batch.place(RULES, request) for request in requests), return_exceptions=True)
    )


async def test_many_winners_are_written_in_a_few_transactions(shop: dict[str, Any]) -> None:
    db, batch, tenant = shop["db"], shop["batch"], shop["tenant"]
    rush = Rush(stock=64, limit=1, attempts=64)
    await open_sale(db, tenant, rush)
    users = await make_buyers(db, 64)
    answers = await outcomes(batch, [ask(rush, tenant, user) for user in users])
    assert all(isinstance(a, Placed) and not a.replayed for a in answers), answers
    rush.seen += [a.order.id for a in answers]
    assert sorted(a.order.user_id for a in answers) == sorted(users)
    assert await violations(db, rush) == []
    assert shop["commits"][0] <= 4  # alone, each order would have committed on its own


async def test_what_a_batch_cannot_decide_in_bulk_gets_the_answer_it_would_get_alone(
    shop: dict[str, Any],
) -> None:
    db, batch, tenant = shop["db"], shop["batch"], shop["tenant"]
    rush = Rush(stock=20, limit=1, attempts=5)
    await open_sale(db, tenant, rush)
    first, twice, holder, wrong_sku, *fine = await make_buyers(db, 6)
    earlier = await batch.place(RULES, ask(rush, tenant, first, key="first-key"))
    held = await batch.place(RULES, ask(rush, tenant, holder))
    answers = await outcomes(
        batch,
        [
            ask(rush, tenant, first, key="first-key"),  # a replay
            ask(rush, tenant, twice),
            ask(rush, tenant, twice),  # a second order of one buyer in the batch, over the limit
            ask(rush, tenant, holder),  # already holds the limit
            ask(rush, tenant, wrong_sku, sku_id=rush.sku_id + 10_000),
            *(ask(rush, tenant, user) for user in fine),
        ],
    )
    replay, once, again, over, not_on_sale, *placed = answers
    assert isinstance(replay, Placed)
    assert replay.replayed
    assert replay.body == earlier.body
    assert isinstance(once, Placed)
    assert not once.replayed
    assert isinstance(again, PurchaseLimitReached)
    assert isinstance(over, PurchaseLimitReached)
    assert isinstance(not_on_sale, NotOnSale)
    assert all(isinstance(p, Placed) and not p.replayed for p in placed)
    rush.seen += [earlier.order.id, held.order.id, once.order.id, *(p.order.id for p in placed)]
    assert await violations(db, rush) == []


async def test_a_batch_asking_more_than_is_left_is_placed_order_by_order(shop: dict[str, Any]) -> None:
    db, batch, tenant = shop["db"], shop["batch"], shop["tenant"]
    rush = Rush(stock=5, limit=1, attempts=24)
    await open_sale(db, tenant, rush)
    users = await make_buyers(db, 24)
    answers = await outcomes(batch, [ask(rush, tenant, user) for user in users])
    sold = [a for a in answers if isinstance(a, Placed)]
    assert len(sold) == 5
    assert all(isinstance(a, SoldOut) for a in answers if not isinstance(a, Placed)), answers
    rush.seen += [a.order.id for a in sold]
    assert await violations(db, rush) == []


async def test_the_first_buyers_of_a_sale_load_its_gate_once(
    shop: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    services.require("redis", services.have_redis(), "redis-server is not installed")
    db, batch, tenant = shop["db"], shop["batch"], shop["tenant"]
    rush = Rush(stock=32, limit=1, attempts=32)
    await open_sale(db, tenant, rush)
    users = await make_buyers(db, 32)
    loads = [0]
    real_load = FlashGate.load

    async def counted(self: FlashGate, *args: Any) -> None:
        loads[0] += 1
        await real_load(self, *args)

    monkeypatch.setattr(FlashGate, "load", counted)
    with services.redis_server() as redis_url:
        gate = FlashGate(redis_url)
        try:

            async def buy(user: int) -> Placed:
                async with db.unit_of_work() as session:
                    return await orders.do_place_order(session, RULES, ask(rush, tenant, user), gate, batch)

            answers = await asyncio.gather(*(buy(user) for user in users))
        finally:
            await gate.close()
    assert loads[0] == 1
    rush.seen += [a.order.id for a in answers]
    assert await violations(db, rush) == []


async def test_many_units_come_from_several_slots_in_one_statement_or_none_do(shop: dict[str, Any]) -> None:
    db, tenant = shop["db"], shop["tenant"]
    rush = Rush(stock=10, limit=10, attempts=0)
    await open_sale(db, tenant, rush)

    async def slots() -> list[int]:
        async with db.unit_of_work() as session:
            found = await session.scalars(
                select(FlashSlot.stock_left).where(FlashSlot.sale_id == rush.sale_id).order_by(FlashSlot.slot)
            )
            return list(found)

    async def take(quantity: int, now: Any = None) -> bool:
        async with db.unit_of_work() as session:
            return await stock.take_flash_many(session, rush.sale_id, quantity, now or utcnow())

    assert sum(await slots()) == 10
    assert await take(7)
    assert sum(await slots()) == 3
    assert min(await slots()) >= 0
    assert not await take(4)  # more than is left: nothing moves
    assert sum(await slots()) == 3
    assert not await take(1, utcnow() + timedelta(hours=1))  # the sale has ended by then
    assert await take(3)
    assert await slots() == [0] * len(await slots())


async def test_a_sale_closed_since_the_batch_read_it_sells_nothing_more(shop: dict[str, Any]) -> None:
    db, batch, tenant = shop["db"], shop["batch"], shop["tenant"]
    rush = Rush(stock=10, limit=1, attempts=1)
    await open_sale(db, tenant, rush)
    first, late = await make_buyers(db, 2)
    placed = await batch.place(RULES, ask(rush, tenant, first))  # the batch has read the sale now
    async with db.unit_of_work() as session:
        await flash.do_close_sale(session, rush.sale_id)
    with pytest.raises(SaleNotOpen):
        await batch.place(RULES, ask(rush, tenant, late))
    async with db.unit_of_work() as session:
        sold = list(await session.scalars(select(Order.id).where(Order.flash_sale_id == rush.sale_id)))
        sku_stock = await session.scalar(select(Sku.stock).where(Sku.id == rush.sku_id))
    assert sold == [placed.order.id]
    assert sku_stock == 9  # the close gave the rest back to the SKU, none went to the late buyer
