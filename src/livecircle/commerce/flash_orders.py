"""Flash-sale orders that got a unit at the Redis gate, written in batches.

When a sale opens, every buyer the gate lets through is a winner, and an order placed alone
costs about a dozen statements and ~12 ms of the node's CPU (profiled on PostgreSQL): 64
winners at once kept the node busy for most of a second, and they were the rush's slowest
answers. Here the winners arriving while a batch is being written wait for the next one, which
takes them all (up to ``MAX_BATCH``): one transaction, one statement per kind of row (the
buyers' limits, the stock, the orders, their timeout jobs and funnel steps). Group commit, with
no timer, as ``economy.batcher`` does for gifts.

A batch takes only what it can decide in bulk. A replay, a second order of one buyer for the
same sale, a sale no longer open, or a batch whose stock is short is placed alone by
``orders.place_in``, as every other order is, so the rules live in one place; a batch that
fails as a whole is placed order by order the same way.

PostgreSQL only: on SQLite (one node, no gate) there is nothing to batch for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.commerce import catalog, flash, funnel, lifecycle, stock
from livecircle.commerce.catalog import Offer
from livecircle.commerce.errors import PurchaseLimitReached
from livecircle.commerce.models import FlashSale, Order
from livecircle.commerce.orders import OrderRequest, Placed, new_order, order_body, place_in, placed_event
from livecircle.config import CommerceSettings
from livecircle.kit import jobs
from livecircle.kit.clock import utcnow
from livecircle.kit.db import Database
from livecircle.kit.errors import AppError
from livecircle.kit.events import emit

log = logging.getLogger(__name__)

MAX_BATCH = 128
TERMS_SECONDS = 1.0

K = TypeVar("K")
V = TypeVar("V")


@dataclass(eq=False)
class Ticket:
    rules: CommerceSettings
    request: OrderRequest
    future: asyncio.Future[Placed]
    digest: str = field(init=False)

    def __post_init__(self) -> None:
        self.digest = self.request.fingerprint()


class StockShort(Exception):
    """The sale's slots hold less than the batch asks: its orders go one by one."""


class FlashOrders:
    """Queues gate winners for one database and writes them in batches (see the module doc)."""

    def __init__(self, db: Database) -> None:
        # Its own connections: the requests waiting for a batch may hold theirs, and a batch
        # must never wait for one of them to come back to the pool.
        self.db = Database(db.url, db.bus)
        self.db.before_commit = db.before_commit  # the analytics outbox, as for every order
        self.loop = asyncio.get_running_loop()
        self._queue: list[Ticket] = []
        self._drainer: asyncio.Task[None] | None = None
        # What consecutive batches of a rush read alike, kept briefly: each read is a round trip
        # that waits its turn on a busy node, and the batch's buyers wait for all of them.
        self._sales: dict[int, tuple[float, FlashSale]] = {}
        self._offers: dict[tuple[int, int], tuple[float, Offer]] = {}

    async def close(self) -> None:
        await self.db.dispose()

    async def place(self, rules: CommerceSettings, request: OrderRequest) -> Placed:
        """Raises what ``orders.place_in`` documents."""
        ticket = Ticket(rules, request, self.loop.create_future())
        self._queue.append(ticket)
        if self._drainer is None or self._drainer.done():
            self._drainer = self.loop.create_task(self._drain())
        return await ticket.future

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                await self._settle([t for t in batch if not t.future.done()])
            finally:  # also when cancelled (shutdown): no caller waits forever
                for ticket in batch:
                    if not ticket.future.done():
                        ticket.future.set_exception(RuntimeError("the order batch was interrupted"))

    async def _settle(self, batch: list[Ticket]) -> None:
        if not batch:
            return
        try:
            alone, outcomes = await self._write(batch)
        except StockShort:
            alone, outcomes = batch, {}
        except Exception:
            log.info("an order batch of %d failed; placing its orders one by one", len(batch), exc_info=True)
            alone, outcomes = batch, {}
        for ticket, outcome in outcomes.items():
            _answer(ticket, outcome)
        for ticket in alone:
            try:
                async with self.db.unit_of_work() as session:
                    placed = await place_in(session, ticket.rules, ticket.request)
            except Exception as error:
                _answer(ticket, error)
            else:
                _answer(ticket, placed)

    async def _sale(self, session: AsyncSession, sale_id: int) -> FlashSale:
        """The sale as read at most ``TERMS_SECONDS`` ago. Its close and its window are still
        the stock statement's to check: a batch for a sale closed since takes nothing, and its
        orders are placed alone, which answers why."""
        return await _recent(self._sales, sale_id, lambda: flash.peek_sale(session, sale_id))

    async def _offer(self, session: AsyncSession, tenant_id: int, sku_id: int) -> Offer:
        """The SKU's offer as read at most ``TERMS_SECONDS`` ago (a product disabled meanwhile
        still sells for that long). Raises NotOnSale."""
        return await _recent(
            self._offers,
            (tenant_id, sku_id),
            lambda: catalog.offer_for(session, tenant_id=tenant_id, sku_id=sku_id, show_id=None),
        )

    async def _write(self, batch: list[Ticket]) -> tuple[list[Ticket], dict[Ticket, Placed | AppError]]:
        """Writes what it can decide in bulk; returns the tickets to place alone and the
        outcomes of the others (valid once this returns: the transaction has committed)."""
        outcomes: dict[Ticket, Placed | AppError] = {}
        async with self.db.unit_of_work() as session:
            now = utcnow()
            taken = await _keys_taken(session, batch)
            sales = {
                sale_id: await self._sale(session, sale_id)
                for sale_id in {t.request.flash_sale_id for t in batch if t.request.flash_sale_id is not None}
            }
            alone, go = _sort(batch, taken, sales, now)
            offers: dict[int, Offer] = {}
            for sku_id, tenant_id in {(t.request.sku_id, t.request.tenant_id) for t in go}:
                with contextlib.suppress(AppError):  # not on sale: those orders hear why alone
                    offers[sku_id] = await self._offer(session, tenant_id, sku_id)
            alone += [t for t in go if t.request.sku_id not in offers]
            go = [t for t in go if t.request.sku_id in offers]
            by_sale: dict[int, list[Ticket]] = defaultdict(list)
            for ticket in go:
                assert ticket.request.flash_sale_id is not None
                by_sale[ticket.request.flash_sale_id].append(ticket)
            placing: list[tuple[Ticket, Order]] = []
            for sale_id, tickets in by_sale.items():
                sale = sales[sale_id]
                held = await stock.hold_for_users(
                    session,
                    sale_id,
                    [(t.request.user_id, t.request.quantity) for t in tickets],
                    sale.per_user_limit,
                )
                tickets = [t for t in tickets if t.request.user_id in held]
                for ticket in by_sale[sale_id]:
                    if ticket.request.user_id not in held:
                        outcomes[ticket] = PurchaseLimitReached(limit=sale.per_user_limit)
                wanted = sum(t.request.quantity for t in tickets)
                if wanted and not await stock.take_flash_many(session, sale_id, wanted, now):
                    raise StockShort()
                placing += [(t, _order(t, sale, offers[t.request.sku_id], now)) for t in tickets]
            session.add_all([order for _, order in placing])
            await session.flush()
            await jobs.schedule_many(
                session,
                lifecycle.TIMEOUT_JOB,
                [(lifecycle.timeout_key(o.id), o.expires_at, {"order_id": o.id}) for _, o in placing],
            )
            await funnel.record_orders(session, [order for _, order in placing])
            for ticket, order in placing:
                emit(session, placed_event(order))
                outcomes[ticket] = Placed(order, order_body(order), False)
        return alone, outcomes


async def _keys_taken(session: AsyncSession, batch: list[Ticket]) -> set[tuple[int, str]]:
    """The (buyer, key) pairs of the batch that some order already has: replays."""
    pairs = [(t.request.user_id, t.request.key) for t in batch]
    found = await session.execute(
        select(Order.user_id, Order.client_key).where(tuple_(Order.user_id, Order.client_key).in_(pairs))
    )
    return {(user_id, key) for user_id, key in found}


def _sort(
    batch: list[Ticket], taken: set[tuple[int, str]], sales: dict[int, FlashSale], now: datetime
) -> tuple[list[Ticket], list[Ticket]]:
    """(alone, together): what the batch leaves to ``orders.place_in``, and what it writes."""
    alone: list[Ticket] = []
    together: list[Ticket] = []
    buyers: set[tuple[int, int]] = set()
    for ticket in batch:
        request = ticket.request
        assert request.flash_sale_id is not None
        sale = sales[request.flash_sale_id]
        buyer = (sale.id, request.user_id)
        usual = (
            (request.user_id, request.key) not in taken
            and buyer not in buyers
            and request.pin_id is None
            and request.coupon_id is None
            and sale.tenant_id == request.tenant_id
            and sale.sku_id == request.sku_id
            and sale.closed_at is None
            and sale.starts_at <= now < sale.ends_at
        )
        (together if usual else alone).append(ticket)
        buyers.add(buyer)
    return alone, together


def _order(ticket: Ticket, sale: FlashSale, offer: Offer, now: datetime) -> Order:
    return new_order(
        ticket.request,
        ticket.digest,
        ticket.rules,
        unit_cents=sale.price_cents,
        discount_cents=0,
        product_id=offer.sku.product_id,
        live_price=True,
        show_id=sale.show_id,
        room_id=sale.room_id,
        now=now,
    )


async def _recent(kept: dict[K, tuple[float, V]], key: K, load: Callable[[], Awaitable[V]]) -> V:
    """``kept[key]`` if read at most ``TERMS_SECONDS`` ago, else ``load()`` (kept in its place).
    Strict on age, unlike ``kit.cache``, whose stale value would outlive a load that fails."""
    entry = kept.get(key)
    now = time.monotonic()
    if entry is None or now - entry[0] > TERMS_SECONDS:
        for old in [k for k, (at, _) in kept.items() if now - at > TERMS_SECONDS]:
            del kept[old]  # a node sees many sales over its life
        entry = kept[key] = (now, await load())
    return entry[1]


def _answer(ticket: Ticket, outcome: Placed | BaseException) -> None:
    if ticket.future.done():  # its caller was cancelled
        return
    if isinstance(outcome, Placed):
        ticket.future.set_result(outcome)
    else:
        ticket.future.set_exception(outcome)
