"""Orders: one click from a card, idempotent by the buyer's key, never oversold.

Placing an order reads first (a replay, a sale already sold out or not open) without taking
anything, so most "sold out" answers cost one read. Then, holding the key, it writes the
order, the buyer's limit, the coupon and the timeout job, and decides the stock last, with
one conditional UPDATE, so the hot row stays locked only until the commit. A rollback
undoes all of it together.

States: created → paid → fulfilled, created → cancelled (buyer, or the durable timeout
job, exactly once), paid/fulfilled → refunded. Leaving ``created`` or ``paid`` for
cancelled or refunded gives the stock and the coupon back, once: every transition is a
conditional UPDATE on the state it leaves.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.commerce import catalog, coupons, flash, funnel, lifecycle, stock
from livecircle.commerce import gate as gate_verdicts
from livecircle.commerce.errors import (
    CardNotOpen,
    CouponNotApplicable,
    NotOnSale,
    PurchaseLimitReached,
    SaleNotOpen,
    SoldOut,
)
from livecircle.commerce.events import OrderPlaced
from livecircle.commerce.gate import FlashGate, SaleTerms
from livecircle.commerce.models import FlashSale, Order, Pin
from livecircle.config import CommerceSettings
from livecircle.economy import ledger
from livecircle.economy.errors import IdempotencyInFlight, IdempotencyKeyReused
from livecircle.kit import jobs
from livecircle.kit.clock import utcnow
from livecircle.kit.effects import defer
from livecircle.kit.errors import BadRequest
from livecircle.kit.events import emit
from livecircle.live import service as live


@dataclass(frozen=True, slots=True)
class OrderRequest:
    tenant_id: int
    user_id: int
    key: str
    sku_id: int
    quantity: int
    show_id: int | None = None
    pin_id: int | None = None
    flash_sale_id: int | None = None
    coupon_id: int | None = None

    def fingerprint(self) -> str:
        fields = asdict(self)
        del fields["key"], fields["tenant_id"], fields["user_id"]
        return ledger.request_hash(fields)


@dataclass(frozen=True, slots=True)
class Placed:
    order: Order
    body: dict[str, Any]
    replayed: bool


class Batch(Protocol):
    """Writes orders that got a unit at the gate together (``commerce.flash_orders``)."""

    async def place(self, rules: CommerceSettings, request: OrderRequest) -> Placed: ...


async def do_place_order(
    session: AsyncSession,
    rules: CommerceSettings,
    request: OrderRequest,
    gate: FlashGate | None = None,
    batch: Batch | None = None,
) -> Placed:
    """Raises IdempotencyInFlight, IdempotencyKeyReused, NotOnSale, CardNotOpen, SaleNotOpen,
    SoldOut, PurchaseLimitReached, CouponNotFound, CouponNotApplicable.

    With a ``gate`` (several nodes), a flash-sale attempt asks Redis first: only attempts
    that got a unit there, and replays, reach the database; with a ``batch`` too, the ones
    that got a unit are written together with the others arriving meanwhile."""
    if not 0 < request.quantity <= rules.max_quantity:
        raise BadRequest(f"Order 1 to {rules.max_quantity} units", max_quantity=rules.max_quantity)
    if gate is None or request.flash_sale_id is None:
        return await place_in(session, rules, request)
    sale_id = request.flash_sale_id
    token = await _through_gate(session, gate, request)
    if token is None:  # a replay the gate knows, or no gate for now: the database answers
        return await place_in(session, rules, request)
    if batch is not None:
        return await _placed_in_batch(batch, gate, rules, request, token)
    try:
        placed = await place_in(session, rules, request)
    except SoldOut:
        await gate.drop(sale_id, token)
        raise
    except BaseException:
        await gate.refund(sale_id, token)
        raise
    if placed.replayed:
        await gate.refund(sale_id, token)
    else:

        async def confirm() -> None:
            await gate.confirm(sale_id, token)

        defer(session, confirm)
    return placed


async def _placed_in_batch(
    batch: Batch, gate: FlashGate, rules: CommerceSettings, request: OrderRequest, token: str
) -> Placed:
    """The batch commits the order itself, so the reservation is settled here. A caller that is
    cancelled meanwhile leaves it pending: the batch may still write the order, and the gate's
    reconciliation confirms or refunds it against the database."""
    assert request.flash_sale_id is not None
    sale_id = request.flash_sale_id
    try:
        placed = await batch.place(rules, request)
    except SoldOut:
        await gate.drop(sale_id, token)
        raise
    except Exception:
        await gate.refund(sale_id, token)
        raise
    if placed.replayed:
        await gate.refund(sale_id, token)
    else:
        await gate.confirm(sale_id, token)
    return placed


async def _through_gate(session: AsyncSession, gate: FlashGate, request: OrderRequest) -> str | None:
    """The reservation's token, or None for a key the gate has seen succeed (or a gate that
    could not be loaded: the database decides alone). Raises what the
    gate answers without the database: SoldOut, PurchaseLimitReached, IdempotencyInFlight,
    and NotOnSale / SaleNotOpen from the sale's cached terms."""
    assert request.flash_sale_id is not None
    terms = gate.terms.get(request.flash_sale_id)
    if terms is None:
        async with gate.loading(request.flash_sale_id):
            terms = gate.terms.get(request.flash_sale_id)
            if terms is None:
                sale = await flash.peek_sale(session, request.flash_sale_id)
                terms = gate.terms[sale.id] = SaleTerms(
                    sale.id, sale.tenant_id, sale.sku_id, sale.starts_at, sale.ends_at, sale.per_user_limit
                )
    if terms.tenant_id != request.tenant_id or terms.sku_id != request.sku_id:
        raise NotOnSale("The flash sale is for another SKU")
    if not terms.starts_at <= utcnow() < terms.ends_at:
        raise SaleNotOpen(starts_at=terms.starts_at.isoformat(), ends_at=terms.ends_at.isoformat())
    token = gate.token(request.user_id, request.key)

    async def ask() -> int:
        return await gate.take(
            terms.sale_id,
            user_id=request.user_id,
            quantity=request.quantity,
            limit=terms.per_user_limit,
            token=token,
        )

    loads = gate.loaded.get(terms.sale_id, 0)
    verdict = await ask()
    if verdict == gate_verdicts.NOT_LOADED:
        async with gate.loading(terms.sale_id):
            if gate.loaded.get(terms.sale_id, 0) == loads:  # nobody loaded it since we asked
                await gate.load(session, await flash.peek_sale(session, terms.sale_id))
        verdict = await ask()
    if verdict == gate_verdicts.NOT_LOADED:  # gone again (Redis restarted): the database decides
        return None
    if verdict == gate_verdicts.SOLD_OUT:
        raise SoldOut()
    if verdict == gate_verdicts.OVER_LIMIT:
        raise PurchaseLimitReached(limit=terms.per_user_limit)
    if verdict == gate_verdicts.IN_FLIGHT:
        raise IdempotencyInFlight()
    if verdict == gate_verdicts.KNOWN:
        return None
    return token


async def place_in(session: AsyncSession, rules: CommerceSettings, request: OrderRequest) -> Placed:
    """The order placed in ``session``'s transaction (no gate): how every order is placed alone."""
    digest = request.fingerprint()
    existing = await _by_key(session, request.user_id, request.key)
    if existing is not None:
        return _replay(existing, digest)
    sale = await _open_sale(session, request) if request.flash_sale_id else None
    show_id = sale.show_id if sale else request.show_id
    if request.pin_id is not None:
        show_id = await _open_card(session, request)
    offer = await catalog.offer_for(
        session, tenant_id=request.tenant_id, sku_id=request.sku_id, show_id=None if sale else show_id
    )
    async with ledger.claimed(session, request.tenant_id, f"order:{request.user_id}:{request.key}"):
        existing = await _by_key(session, request.user_id, request.key)
        if existing is not None:
            return _replay(existing, digest)
        now = utcnow()
        subtotal = (sale.price_cents if sale else offer.price_cents) * request.quantity
        discount = 0
        if request.coupon_id is not None:
            if sale is not None:
                raise CouponNotApplicable("Coupons do not apply to flash-sale prices")
            discount = await coupons.quote(
                session,
                user_id=request.user_id,
                coupon_id=request.coupon_id,
                subtotal_cents=subtotal,
                product_id=offer.sku.product_id,
            )
        order = new_order(
            request,
            digest,
            rules,
            unit_cents=sale.price_cents if sale else offer.price_cents,
            discount_cents=discount,
            product_id=offer.sku.product_id,
            live_price=bool(sale) or offer.live_price,
            show_id=show_id,
            room_id=sale.room_id if sale else await _room_of(session, show_id),
            now=now,
        )
        session.add(order)
        await session.flush()
        if request.coupon_id is not None:
            await coupons.use(session, coupon_id=request.coupon_id, order_id=order.id)
        if sale is not None and not await stock.hold_for_user(
            session, sale.id, request.user_id, request.quantity, sale.per_user_limit
        ):
            raise PurchaseLimitReached(limit=sale.per_user_limit)
        await jobs.schedule(
            session,
            lifecycle.TIMEOUT_JOB,
            key=lifecycle.timeout_key(order.id),
            run_at=order.expires_at,
            payload={"order_id": order.id},
        )
        await funnel.record(
            session,
            tenant_id=order.tenant_id,
            show_id=order.show_id,
            product_id=order.product_id,
            kind="order",
            dedupe=f"order:{order.id}",
            user_id=order.user_id,
        )
        # The decision, last: one conditional UPDATE.
        if sale is not None:
            if not await stock.take_flash(session, sale.id, request.quantity, now, sale.stock_left):
                raise await _why_not(session, sale.id, now)
        elif not await stock.take_sku(session, request.sku_id, request.quantity):
            raise SoldOut()
        emit(session, placed_event(order))
        return Placed(order, order_body(order), False)


def new_order(
    request: OrderRequest,
    digest: str,
    rules: CommerceSettings,
    *,
    unit_cents: int,
    discount_cents: int,
    product_id: int,
    live_price: bool,
    show_id: int | None,
    room_id: int | None,
    now: datetime,
) -> Order:
    subtotal = unit_cents * request.quantity
    return Order(
        tenant_id=request.tenant_id,
        user_id=request.user_id,
        client_key=request.key,
        request_hash=digest,
        status="created",
        product_id=product_id,
        sku_id=request.sku_id,
        quantity=request.quantity,
        unit_price_cents=unit_cents,
        subtotal_cents=subtotal,
        discount_cents=discount_cents,
        total_cents=subtotal - discount_cents,
        live_price=live_price,
        show_id=show_id,
        room_id=room_id,
        pin_id=request.pin_id,
        flash_sale_id=request.flash_sale_id,
        coupon_id=request.coupon_id,
        expires_at=now + timedelta(seconds=rules.order_timeout_seconds),
        created_at=now,
    )


def placed_event(order: Order) -> OrderPlaced:
    return OrderPlaced(
        order.tenant_id,
        order.id,
        order.user_id,
        order.show_id,
        order.room_id,
        order.product_id,
        order.flash_sale_id,
        order.total_cents,
    )


async def _by_key(session: AsyncSession, user_id: int, key: str) -> Order | None:
    return await session.scalar(select(Order).where(Order.user_id == user_id, Order.client_key == key))


def _replay(order: Order, digest: str) -> Placed:
    if order.request_hash != digest:
        raise IdempotencyKeyReused()
    return Placed(order, order_body(order), True)


async def _open_sale(session: AsyncSession, request: OrderRequest) -> FlashSale:
    """The sale as it is now; cheap answers for a sale not open or already sold out."""
    assert request.flash_sale_id is not None
    sale = await flash.peek_sale(session, request.flash_sale_id)
    if sale.tenant_id != request.tenant_id:
        raise NotOnSale()
    if sale.sku_id != request.sku_id:
        raise NotOnSale("The flash sale is for another SKU")
    now = utcnow()
    if sale.closed_at is not None or not sale.starts_at <= now < sale.ends_at:
        raise SaleNotOpen(starts_at=sale.starts_at.isoformat(), ends_at=sale.ends_at.isoformat())
    if sale.stock_left < request.quantity:
        raise SoldOut()
    return sale


async def _open_card(session: AsyncSession, request: OrderRequest) -> int:
    pin = await session.get(Pin, request.pin_id)
    if pin is None or pin.tenant_id != request.tenant_id or pin.unpinned_at is not None:
        raise NotOnSale("The card is no longer pinned")
    if pin.opens_at > utcnow():
        raise CardNotOpen(opens_at=pin.opens_at.isoformat())
    return pin.show_id


async def _room_of(session: AsyncSession, show_id: int | None) -> int | None:
    if show_id is None:
        return None
    return (await live.get_show(session, show_id)).room_id


async def _why_not(session: AsyncSession, sale_id: int, now: datetime) -> SaleNotOpen | SoldOut:
    sale = await flash.peek_sale(session, sale_id)
    if sale.closed_at is not None or now >= sale.ends_at:
        return SaleNotOpen()
    return SoldOut()


def order_body(order: Order) -> dict[str, Any]:
    """The reply to placing an order, built only from what never changes (a replay returns
    it byte for byte); the order's state now is ``GET /orders/{id}``."""
    return {
        "id": order.id,
        "status": "created",
        "product_id": order.product_id,
        "sku_id": order.sku_id,
        "quantity": order.quantity,
        "unit_price_cents": order.unit_price_cents,
        "subtotal_cents": order.subtotal_cents,
        "discount_cents": order.discount_cents,
        "total_cents": order.total_cents,
        "live_price": order.live_price,
        "show_id": order.show_id,
        "flash_sale_id": order.flash_sale_id,
        "coupon_id": order.coupon_id,
        "created_at": order.created_at.isoformat(),
        "expires_at": order.expires_at.isoformat(),
    }
