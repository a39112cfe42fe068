"""Paying orders through the economy's provider interface (the sandbox ships; real providers
plug in). Each attempt is recorded, so the payment success rate is paid / settled."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.commerce import funnel, lifecycle
from livecircle.commerce.errors import OrderStateConflict, PaymentNotFound
from livecircle.commerce.events import OrderPaid
from livecircle.commerce.models import Order, Payment
from livecircle.economy.payments import PaymentNotice, PaymentProvider
from livecircle.kit import jobs
from livecircle.kit.clock import utcnow
from livecircle.kit.errors import BadRequest
from livecircle.kit.events import emit
from livecircle.kit.tracking import track
from livecircle.privacy import consent

PAY_PATH = "/api/v1/orders/payments/sandbox/{ref}/complete"
CALLBACK_PATH = "/api/v1/orders/payments/sandbox/callback"


async def do_start_payment(
    session: AsyncSession, provider: PaymentProvider, *, order: Order
) -> tuple[Payment, str]:
    """A payment attempt for an unpaid order and where to pay it; the pending one if any.
    Raises ConsentRequired until the buyer gave the separate ``payment`` consent (PIPL art. 29)."""
    await consent.require(session, order.user_id, consent.Purpose.PAYMENT)
    if order.status != "created" or order.expires_at <= utcnow():
        raise OrderStateConflict("Only an unpaid, unexpired order can be paid", order_status=order.status)
    pending = await session.scalar(
        select(Payment)
        .where(Payment.order_id == order.id, Payment.status == "pending")
        .order_by(Payment.id.desc())
    )
    if pending is not None:
        return pending, _pay_url(provider, pending)
    payment = Payment(
        tenant_id=order.tenant_id,
        order_id=order.id,
        provider=provider.name,
        amount_cents=order.total_cents,
        show_id=order.show_id,
    )
    session.add(payment)
    await session.flush()
    checkout = provider.start(
        purpose="order",
        ref_id=payment.id,
        amount_cents=payment.amount_cents,
        description=f"order {order.id}",
        pay_path=PAY_PATH,
    )
    payment.provider_ref = checkout.ref
    await session.flush()
    return payment, checkout.pay_url


async def list_payments(session: AsyncSession, order_id: int) -> list[Payment]:
    query = select(Payment).where(Payment.order_id == order_id).order_by(Payment.id.desc())
    return list((await session.scalars(query)).all())


def _pay_url(provider: PaymentProvider, payment: Payment) -> str:
    return getattr(provider, "base_url", "") + PAY_PATH.format(ref=payment.provider_ref)


async def get_payment_by_ref(session: AsyncSession, ref: str) -> Payment:
    payment = await session.scalar(select(Payment).where(Payment.provider_ref == ref))
    if payment is None:
        raise PaymentNotFound()
    return payment


async def do_settle_payment(session: AsyncSession, notice: PaymentNotice) -> Payment:
    """The provider's verified notice, applied once however often it comes. A payment that
    arrives after its order was released is kept as ``refund_due``."""
    payment = await get_payment_by_ref(session, notice.ref)
    if notice.amount_cents != payment.amount_cents:
        raise BadRequest("The paid amount differs from the order's", expected=payment.amount_cents)
    now = utcnow()
    settled = await session.execute(
        update(Payment)
        .where(Payment.id == payment.id, Payment.status == "pending")
        .values(status="paid" if notice.status == "paid" else "failed", settled_at=now)
    )
    if cast(CursorResult[Any], settled).rowcount != 1 or notice.status != "paid":
        if cast(CursorResult[Any], settled).rowcount == 1:  # this notice settled it: a failure
            track(
                session,
                "payment_failed",
                event_id=f"payment_failed:{payment.id}",
                tenant_id=payment.tenant_id,
                show_id=payment.show_id,
                amount=payment.amount_cents,
                props={"order_id": payment.order_id},
            )
        await session.refresh(payment)
        return payment
    if await lifecycle.transition(session, payment.order_id, ("created",), "paid", paid_at=now):
        order = await lifecycle.get_order(session, payment.order_id)
        await jobs.cancel(session, lifecycle.timeout_key(order.id))
        await funnel.record(
            session,
            tenant_id=order.tenant_id,
            show_id=order.show_id,
            product_id=order.product_id,
            kind="pay",
            dedupe=f"pay:{order.id}",
            user_id=order.user_id,
        )
        emit(session, OrderPaid(order.tenant_id, order.id, order.user_id, order.show_id, order.total_cents))
    else:
        await session.execute(update(Payment).where(Payment.id == payment.id).values(status="refund_due"))
    await session.refresh(payment)
    return payment
