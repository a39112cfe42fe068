"""Orders under duplicates and crashes, on SQLite and PostgreSQL: a thousand copies of one
order request make one order and one body; an unpaid order's timeout is a durable job
that a killed node does not lose and a restarted node runs exactly once."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import func, select

from livecircle.commerce.models import Order
from livecircle.kit.jobs import Job
from tests import services
from tests.burst import Call, burst, request
from tests.commerce_kit import open_shop, order, sku_stock
from tests.conftest import Account, RunningServer


def order_call(account: Account, key: str, **fields: object) -> Call:
    headers = {**account.headers, "Idempotency-Key": key}
    return Call("POST", "/api/v1/orders", headers, fields)


async def test_a_thousand_duplicates_make_one_order_with_one_body(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account
) -> None:
    shop = await open_shop(server, client, stock=50)
    key = f"dup-{uuid.uuid4()}"
    call = order_call(viewer, key, sku_id=shop.skus[0]["id"], show_id=shop.show_id)
    first_wave = await burst(server.base_url, [call] * 500)
    second_wave = await asyncio.gather(*(request(server.base_url, call) for _ in range(500)))
    replies = [*first_wave, *second_wave]
    codes = Counter(r.status_code for r in replies)
    assert set(codes) <= {200, 201, 409}, (codes, {r.content for r in replies if r.status_code >= 500})
    assert codes[201] == 1
    assert {r.json()["code"] for r in replies if r.status_code == 409} <= {"idempotency_in_progress"}
    bodies = {r.content for r in replies if r.status_code in (200, 201)}
    assert len(bodies) == 1
    later = await order(client, viewer, key=key, sku_id=shop.skus[0]["id"], show_id=shop.show_id)
    assert later.status_code == 200
    assert later.content in bodies
    async with server.db.unit_of_work() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Order)
            .where(Order.user_id == viewer.user_id, Order.client_key == key)
        )
    assert count == 1
    assert await sku_stock(client, shop) == 49


async def order_state(server: RunningServer, order_id: int) -> tuple[str, str | None]:
    async with server.db.unit_of_work() as session:
        found = await session.get(Order, order_id)
        assert found is not None
        return found.status, found.cancel_reason


async def test_the_timeout_of_an_unpaid_order_survives_kill_9_and_runs_once(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account, tmp_path: Path
) -> None:
    shop = await open_shop(server, client, stock=5)
    runner = server.app.state.jobs
    await runner.stop()  # only the nodes below run jobs here
    try:
        timeout = {"LIVECIRCLE_COMMERCE__ORDER_TIMEOUT_SECONDS": "2"}
        for name in "abc":
            (tmp_path / name).mkdir()
        database = server.settings.database_url
        with services.livecircle_node(database, tmp_path / "a", **timeout) as node:
            call = order_call(
                viewer, str(uuid.uuid4()), sku_id=shop.skus[0]["id"], show_id=shop.show_id, quantity=2
            )
            placed = await request(node.base_url, call)
            assert placed.status_code == 201, placed.content
            node.kill()
        order_id = placed.json()["id"]
        assert await sku_stock(client, shop) == 3
        await asyncio.sleep(3)  # the deadline passes while no node is up: nobody releases it
        assert await order_state(server, order_id) == ("created", None)

        with (
            services.livecircle_node(database, tmp_path / "b", **timeout),
            services.livecircle_node(database, tmp_path / "c", **timeout),
        ):
            for _ in range(200):  # two restarted nodes race for the job
                if (await order_state(server, order_id))[0] != "created":
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.5)  # both nodes have had further passes
        assert await order_state(server, order_id) == ("cancelled", "timeout")
        assert await sku_stock(client, shop) == 5  # released once: not 7
        async with server.db.unit_of_work() as session:
            job = await session.scalar(select(Job).where(Job.key == f"order-timeout:{order_id}"))
        assert job is not None
        assert (job.state, job.attempts) == ("done", 1)
    finally:
        runner.start()
