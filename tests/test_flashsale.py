"""Flash sales never oversell, on SQLite and on PostgreSQL: 20 randomised rushes with stock
S in {1, 10, 1000}, max(10·S, 128) attempts from 64 concurrent clients (more than the
connection pool), some buyers coming back for more. The same rush against a deliberate
read-then-write mutant must be caught overselling, or the test proves nothing.

Also over the HTTP API: the countdown every viewer sees, the per-user limit, the window,
ending a sale early and the durable job that closes it."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.commerce import flash, orders, stock
from livecircle.commerce.errors import SoldOut
from livecircle.commerce.models import FlashSlot
from livecircle.kit.clock import utcnow
from tests.commerce_kit import open_shop, order, run_job_now, sku_stock
from tests.conftest import Account, RunningServer, make_account
from tests.flashsale_crowd import (
    CLIENTS,
    RUNS,
    Rush,
    attempts_for,
    make_buyers,
    open_sale,
    run_crowd,
    service_buyer,
    tenant_id,
    violations,
)


async def naive_take_flash(
    session: AsyncSession, sale_id: int, quantity: int, now: datetime, seen_left: int
) -> bool:
    """The mutant: decide on the stock read earlier and write the computed value back (to a
    sale of one slot)."""
    if seen_left < quantity:
        return False
    await session.execute(
        update(FlashSlot).where(FlashSlot.sale_id == sale_id).values(stock_left=seen_left - quantity)
    )
    return True


async def test_twenty_rushes_sell_exactly_the_stock(server: RunningServer) -> None:
    tenant = await tenant_id(server.db)
    buyers = await make_buyers(server.db, 4000)
    failures = []
    for seed, (size, limit) in enumerate(RUNS):
        rush = Rush(stock=size, limit=limit, attempts=attempts_for(size))
        await open_sale(server.db, tenant, rush)
        # Few enough buyers that many come back: the limit is exercised in every run.
        crowd = random.Random(seed).sample(buyers, max(size * 2, 40))
        buy = service_buyer(server.db, tenant, rush, server.settings.commerce)
        await run_crowd(rush, crowd, buy, clients=CLIENTS, seed=seed)
        found = await violations(server.db, rush)
        if found:
            failures.append((seed, size, limit, found))
        assert rush.refused["sold_out"] > 0
        if size == 1000:  # buyers came back while stock was left: the limit said no
            assert rush.refused["purchase_limit_reached"] > 0, (seed, rush.refused)
    assert failures == []


async def test_the_read_then_write_mutant_is_caught_overselling(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    size = 10
    monkeypatch.setattr(stock, "take_flash", naive_take_flash)
    monkeypatch.setattr(stock, "SLOTS", 1)
    tenant = await tenant_id(server.db)
    buyers = await make_buyers(server.db, 10 * size)
    rush = Rush(stock=size, limit=10 * size, attempts=attempts_for(size))
    await open_sale(server.db, tenant, rush)
    await run_crowd(
        rush,
        buyers,
        service_buyer(server.db, tenant, rush, server.settings.commerce),
        clients=CLIENTS,
        seed=size,
    )
    found = await violations(server.db, rush)
    assert any("orders" in line for line in found), found


async def test_a_flash_sale_counts_down_sells_within_its_window_and_limit(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account
) -> None:
    shop = await open_shop(server, client, stock=10)
    sku = shop.skus[0]["id"]
    starts = utcnow() + timedelta(seconds=30)
    early = await client.post(
        f"/api/v1/shows/{shop.show_id}/flash-sales",
        json={
            "sku_id": sku,
            "price_cents": 990,
            "stock": 3,
            "per_user_limit": 1,
            "starts_at": starts.isoformat(),
            "duration_s": 600,
        },
        headers=shop.host.headers,
    )
    assert early.status_code == 201, early.text
    sale = early.json()
    assert sale["state"] == "upcoming"
    assert datetime.fromisoformat(sale["starts_at"]) - datetime.fromisoformat(sale["server_now"]) > timedelta(
        seconds=25
    )
    assert await sku_stock(client, shop) == 7  # the sale's units left the SKU
    not_yet = await order(client, viewer, sku_id=sku, flash_sale_id=sale["sale_id"])
    assert not_yet.status_code == 409
    assert not_yet.json()["code"] == "sale_not_open"

    now = await client.post(
        f"/api/v1/shows/{shop.show_id}/flash-sales",
        json={"sku_id": sku, "price_cents": 990, "stock": 2, "per_user_limit": 1, "duration_s": 600},
        headers=shop.host.headers,
    )
    open_sale_id = now.json()["sale_id"]
    first = await order(client, viewer, sku_id=sku, flash_sale_id=open_sale_id)
    assert first.status_code == 201, first.text
    assert first.json()["unit_price_cents"] == 990
    assert first.json()["live_price"] is True
    again = await order(client, viewer, sku_id=sku, flash_sale_id=open_sale_id)
    assert again.status_code == 409
    assert again.json()["code"] == "purchase_limit_reached"
    buyers = [await make_account(server, name=f"抢购{i}") for i in range(2)]
    results = [await order(client, b, sku_id=sku, flash_sale_id=open_sale_id) for b in buyers]
    assert [r.status_code for r in results] == [201, 409]
    assert results[1].json()["code"] == "sold_out"
    coupon_on_sale = await order(client, buyers[1], sku_id=sku, flash_sale_id=open_sale_id, coupon_id=1)
    assert coupon_on_sale.status_code == 409

    # The buyer cancels: the unit goes back to the sale and the limit frees up.
    cancelled = await client.post(f"/api/v1/orders/{first.json()['id']}/cancel", headers=viewer.headers)
    assert cancelled.json()["status"] == "cancelled"
    view = (await client.get(f"/api/v1/flash-sales/{open_sale_id}")).json()
    assert (view["stock_left"], view["state"]) == (1, "open")
    assert (await order(client, viewer, sku_id=sku, flash_sale_id=open_sale_id)).status_code == 201

    # Ending the upcoming sale early gives its 3 units back to the SKU, once.
    by_viewer = await client.post(f"/api/v1/flash-sales/{sale['sale_id']}/end", headers=viewer.headers)
    assert by_viewer.status_code == 403
    ended = await client.post(f"/api/v1/flash-sales/{sale['sale_id']}/end", headers=shop.host.headers)
    assert ended.json()["state"] == "ended"
    assert await sku_stock(client, shop) == 8
    twice = await client.post(f"/api/v1/flash-sales/{sale['sale_id']}/end", headers=shop.host.headers)
    assert twice.status_code == 409

    # The close job at the open sale's end: nothing was left, and a later cancel returns the
    # unit to the SKU because the sale is closed.
    await run_job_now(server, f"flash-close:{open_sale_id}", times=1)
    closed = (await client.get(f"/api/v1/flash-sales/{open_sale_id}")).json()
    assert (closed["state"], closed["stock_left"]) == ("ended", 0)
    late = await client.post(f"/api/v1/orders/{results[0].json()['id']}/cancel", headers=buyers[0].headers)
    assert late.json()["status"] == "cancelled"
    assert await sku_stock(client, shop) == 9
    listed = (await client.get(f"/api/v1/shows/{shop.show_id}/flash-sales")).json()
    assert [s["state"] for s in listed] == ["ended", "ended"]

    bad = await client.post(
        f"/api/v1/shows/{shop.show_id}/flash-sales",
        json={"sku_id": sku, "price_cents": 990, "stock": 100, "duration_s": 60},
        headers=shop.host.headers,
    )
    assert bad.status_code == 409
    assert bad.json()["code"] == "sold_out"
    both_ends = await client.post(
        f"/api/v1/shows/{shop.show_id}/flash-sales",
        json={
            "sku_id": sku,
            "price_cents": 990,
            "stock": 1,
            "duration_s": 60,
            "ends_at": (utcnow() + timedelta(minutes=5)).isoformat(),
        },
        headers=shop.host.headers,
    )
    assert both_ends.status_code == 422


async def test_orders_of_several_units_take_from_several_slots_without_deadlock(
    server: RunningServer,
) -> None:
    """100 units spread over the slots (1 or 2 each): 64 buyers at once asking 1–4 units each
    find them even where no single slot holds enough, nobody deadlocks, and the rest is sold
    one unit at a time to the last unit."""
    units = 100
    assert max(stock.spread(units, stock.SLOTS)) < 3  # most asks need several slots
    tenant = await tenant_id(server.db)
    buyers = await make_buyers(server.db, 74)
    rush = Rush(stock=units, limit=4, attempts=64)
    await open_sale(server.db, tenant, rush)
    asked = {user: 1 + n % 4 for n, user in enumerate(buyers[:64])}

    async def buy(user: int, quantity: int) -> int:
        request = orders.OrderRequest(
            tenant_id=tenant,
            user_id=user,
            key=uuid.uuid4().hex,
            sku_id=rush.sku_id,
            quantity=quantity,
            flash_sale_id=rush.sale_id,
        )
        try:
            async with server.db.unit_of_work() as session:
                await orders.do_place_order(session, server.settings.commerce, request)
        except SoldOut:
            return 0
        return quantity

    sold = sum(await asyncio.gather(*(buy(user, quantity) for user, quantity in asked.items())))
    assert units - 3 <= sold <= units  # only a buyer asking more than is left goes without
    for user in buyers[64:]:
        sold += await buy(user, 1)
    assert sold == units
    async with server.db.unit_of_work() as session:
        sale = await flash.peek_sale(session, rush.sale_id)
        slots = (
            await session.scalars(select(FlashSlot.stock_left).where(FlashSlot.sale_id == sale.id))
        ).all()
    assert (sale.stock_left, sorted(set(slots))) == (0, [0])
