"""A crowd of buyers rushing one flash sale, and the invariants that must hold after it
(research/analytics_sales_privacy.md §2.3): exactly S orders, stock never below zero,
nobody past the per-user limit, and the successes the clients saw are the orders stored."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, insert, select

from livecircle.commerce import catalog, flash, orders
from livecircle.commerce.models import FlashBuyer, FlashSale, Order, Sku
from livecircle.config import CommerceSettings
from livecircle.identity import service as identity_service
from livecircle.identity.models import Membership, User
from livecircle.kit.clock import utcnow
from livecircle.kit.db import Database
from livecircle.kit.errors import AppError
from tests.burst import Call, KeepAlive

Buy = Callable[[int, int, str], Awaitable[int | None]]  # (attempt, user, key) → order id or None

CLIENTS = 64
# 20 runs of (stock, per-user limit): every stock size, the per-user limit varies too.
RUNS = [(1, 1)] * 5 + [(1, 2)] * 4 + [(10, 1)] * 5 + [(10, 3)] * 5 + [(1000, 2)]


def attempts_for(stock: int) -> int:
    """10·S attempts, and never fewer than two per client: every client comes back."""
    return max(10 * stock, 2 * CLIENTS)


@dataclass
class Rush:
    stock: int
    limit: int
    attempts: int
    sale_id: int = 0
    sku_id: int = 0
    seen: list[int] = field(default_factory=list)  # order ids the clients were given
    refused: Counter[str] = field(default_factory=Counter)


async def tenant_id(db: Database, slug: str = "flash-crowd") -> int:
    async with db.unit_of_work() as session:
        return (await identity_service.ensure_tenant(session, slug=slug, name=slug)).id


async def make_buyers(db: Database, count: int) -> list[int]:
    """``count`` accounts, written in bulk (no password hashing: they never sign in)."""
    tag = random.getrandbits(40)
    rows = [
        {
            "email": f"buyer{tag}-{i}@crowd.test",
            "display_name": f"买家{i}",
            "password_hash": "!",
            "created_at": utcnow(),
        }
        for i in range(count)
    ]
    async with db.unit_of_work() as session:
        await session.execute(insert(User), rows)
        found = await session.scalars(select(User.id).where(User.email.like(f"buyer{tag}-%")))
        return list(found)


async def make_members(db: Database, tenant: int, count: int) -> dict[int, str]:
    """``count`` members of ``tenant`` with API tokens (user id → token), written in bulk."""
    users = await make_buyers(db, count)
    async with db.unit_of_work() as session:
        await session.execute(
            insert(Membership), [{"user_id": u, "tenant_id": tenant, "role": "member"} for u in users]
        )
        found = await session.scalars(select(User).where(User.id.in_(users)))
        return {
            user.id: await identity_service.do_issue_api_token(session, user=user, tenant_id=tenant)
            for user in found
        }


class HttpBuyer:
    """Buys over HTTP, spreading attempts across the nodes in ``bases``; each client task
    keeps one connection per node alive. ``close`` when the rush is over."""

    def __init__(self, bases: list[str], tokens: dict[int, str], rush: Rush) -> None:
        self.bases, self.tokens, self.rush = bases, tokens, rush
        self.connections: dict[tuple[int, str], KeepAlive] = {}

    async def __call__(self, attempt: int, user: int, key: str) -> int | None:
        base = self.bases[attempt % len(self.bases)]
        connection = self.connections.setdefault((id(asyncio.current_task()), base), KeepAlive(base))
        headers = {"Authorization": f"Bearer {self.tokens[user]}", "Idempotency-Key": key}
        body = {"sku_id": self.rush.sku_id, "flash_sale_id": self.rush.sale_id}
        reply = await connection.send(Call("POST", "/api/v1/orders", headers, body))
        if reply.status_code == 201:
            return int(reply.json()["id"])
        if reply.status_code >= 500 or "code" not in reply.json():
            raise AssertionError(f"{reply.status_code}: {reply.content!r}")
        self.rush.refused[reply.json()["code"]] += 1
        return None

    async def close(self) -> None:
        for connection in self.connections.values():
            await connection.close()


async def open_sale(db: Database, tenant: int, rush: Rush) -> None:
    """A product whose whole stock goes into a flash sale open now for ten minutes."""
    async with db.unit_of_work() as session:
        product = await catalog.do_create_product(
            session,
            tenant_id=tenant,
            skus=[{"name": "限量款", "price_cents": 19900, "stock": rush.stock}],
            name="秒杀商品",
        )
        sku = (await catalog.skus_of(session, [product.id]))[product.id][0]
        now = utcnow()
        sale = await flash.do_create_sale(
            session,
            tenant_id=tenant,
            show=None,
            sku_id=sku.id,
            price_cents=990,
            starts_at=now - timedelta(seconds=1),
            ends_at=now + timedelta(minutes=10),
            stock_total=rush.stock,
            per_user_limit=rush.limit,
        )
        rush.sale_id, rush.sku_id = sale.id, sku.id


def service_buyer(db: Database, tenant: int, rush: Rush, rules: CommerceSettings) -> Buy:
    """Buy through the order service, one unit of work per attempt (what a request does)."""

    async def buy(attempt: int, user: int, key: str) -> int | None:
        request = orders.OrderRequest(
            tenant_id=tenant,
            user_id=user,
            key=key,
            sku_id=rush.sku_id,
            quantity=1,
            flash_sale_id=rush.sale_id,
        )
        try:
            async with db.unit_of_work() as session:
                placed = await orders.do_place_order(session, rules, request)
        except AppError as exc:
            rush.refused[exc.code] += 1
            return None
        return placed.order.id

    return buy


async def run_crowd(rush: Rush, buyers: list[int], buy: Buy, *, clients: int, seed: int) -> None:
    """``rush.attempts`` attempts by buyers drawn at random (so some come back for more),
    from ``clients`` concurrent clients released together."""
    rng = random.Random(seed)
    plan = [(i, rng.choice(buyers)) for i in range(rush.attempts)]
    start = asyncio.Event()
    queue = iter(plan)

    async def client() -> None:
        await start.wait()
        for attempt, user in queue:
            order_id = await buy(attempt, user, f"rush-{rush.sale_id}-{attempt}")
            if order_id is not None:
                rush.seen.append(order_id)

    tasks = [asyncio.create_task(client()) for _ in range(clients)]
    await asyncio.sleep(0)
    start.set()
    await asyncio.gather(*tasks)


async def violations(db: Database, rush: Rush) -> list[str]:
    """Every broken invariant, in words; empty when the sale held."""
    async with db.unit_of_work() as session:
        sale = await session.get(FlashSale, rush.sale_id)
        assert sale is not None
        stored = list(await session.scalars(select(Order.id).where(Order.flash_sale_id == rush.sale_id)))
        units = await session.scalar(
            select(func.coalesce(func.sum(Order.quantity), 0)).where(Order.flash_sale_id == rush.sale_id)
        )
        per_user = await session.execute(
            select(Order.user_id, func.count())
            .where(Order.flash_sale_id == rush.sale_id)
            .group_by(Order.user_id)
            .having(func.count() > rush.limit)
        )
        over_limit = per_user.all()
        held = await session.scalar(
            select(func.coalesce(func.sum(FlashBuyer.quantity), 0)).where(FlashBuyer.sale_id == rush.sale_id)
        )
        sku_stock = await session.scalar(select(Sku.stock).where(Sku.id == rush.sku_id))
    found = []
    expected = min(rush.stock, rush.attempts)
    if len(stored) != expected or units != expected:
        found.append(f"{len(stored)} orders ({units} units) for a stock of {rush.stock}")
    if sale.stock_left != rush.stock - expected or sale.stock_left < 0:
        found.append(f"stock left {sale.stock_left}, expected {rush.stock - expected}")
    if over_limit:
        found.append(f"{len(over_limit)} buyers past the limit of {rush.limit}")
    if sorted(rush.seen) != sorted(stored):
        found.append(f"clients saw {len(rush.seen)} orders, the database holds {len(stored)}")
    if held != units:
        found.append(f"per-user holdings {held} differ from units sold {units}")
    if sku_stock != 0:
        found.append(f"the SKU's own stock moved to {sku_stock}")
    return found
