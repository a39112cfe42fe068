"""Shared set-up for the commerce tests: a shop operator, a host with a show, a product on
sale in it, and small API helpers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import update

from livecircle.identity.schemas import Role
from livecircle.kit.clock import utcnow
from livecircle.kit.jobs import Job
from tests.conftest import Account, RunningServer, make_account, make_room


@dataclass
class Shop:
    operator: Account
    host: Account
    room_id: int
    show_id: int
    product_id: int
    skus: list[dict[str, Any]]


async def open_shop(
    server: RunningServer,
    client: httpx.AsyncClient,
    *,
    stock: int = 100,
    price_cents: int = 9900,
    live_price_cents: int | None = 6900,
    name: str = "桂花乌龙茶礼盒",
) -> Shop:
    operator = await make_account(server, role=Role.OPERATOR, name="运营")
    host = await make_account(server, role=Role.HOST, name="主播")
    room = await make_room(client, host)
    show = await client.post(
        f"/api/v1/rooms/{room['id']}/shows", json={"title": "新品首发"}, headers=host.headers
    )
    assert show.status_code == 201, show.text
    product = await client.post(
        "/api/v1/products",
        json={
            "name": name,
            "description": "明前春茶",
            "image_url": "/static/img/tea.svg",
            "skus": [
                {"name": "250g", "price_cents": price_cents, "stock": stock},
                {"name": "500g", "price_cents": price_cents * 2, "stock": stock},
            ],
        },
        headers=operator.headers,
    )
    assert product.status_code == 201, product.text
    body = product.json()
    prices = [{"sku_id": body["skus"][0]["id"], "live_price_cents": live_price_cents}]
    attached = await client.put(
        f"/api/v1/shows/{show.json()['id']}/products",
        json={"product_id": body["id"], "prices": prices},
        headers=host.headers,
    )
    assert attached.status_code == 204, attached.text
    return Shop(operator, host, room["id"], show.json()["id"], body["id"], body["skus"])


async def order(
    client: httpx.AsyncClient, account: Account, *, key: str | None = None, **fields: Any
) -> httpx.Response:
    headers = {**account.headers, "Idempotency-Key": key or str(uuid.uuid4())}
    return await client.post("/api/v1/orders", json=fields, headers=headers)


async def sku_stock(client: httpx.AsyncClient, shop: Shop, index: int = 0) -> int:
    products = (await client.get("/api/v1/products", headers=shop.operator.headers)).json()
    product = next(p for p in products if p["id"] == shop.product_id)
    return int(product["skus"][index]["stock"])


async def agree_to_pay(client: httpx.AsyncClient, account: Account) -> None:
    """The separate ``payment`` consent (PIPL art. 29) a member gives before their first top-up
    or order payment, through the consent API (``make_account`` gives it by default; accounts
    made by signing up through the API do not have it)."""
    answer = await client.put("/api/v1/me/consents/payment", json={"granted": True}, headers=account.headers)
    assert answer.status_code == 200, answer.text


async def run_job_now(server: RunningServer, job_key: str, *, times: int = 2) -> None:
    """Make one durable job due now and let the runner pass ``times`` times: only this job is
    due early, whatever the other tests sharing the server have scheduled for later."""
    async with server.db.unit_of_work() as session:
        moved = await session.execute(update(Job).where(Job.key == job_key).values(run_at=utcnow()))
        assert getattr(moved, "rowcount", 0) == 1, f"no job {job_key}"
    for _ in range(times):
        await server.app.state.jobs.run_due()
