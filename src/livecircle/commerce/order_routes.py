"""Buying: orders (idempotent by the Idempotency-Key header), paying them through the
sandbox provider's signed callbacks, and coupons."""

from __future__ import annotations

from typing import Annotated, Literal, cast

from fastapi import APIRouter, Path, Query, Request, status
from fastapi.responses import JSONResponse

from livecircle.commerce import coupons, flash, lifecycle, orders, payments
from livecircle.commerce.deps import Gate, GateWinners, ObjectId, ShopOperator, ShopStaff, tenant_of
from livecircle.commerce.errors import SoldOut
from livecircle.commerce.models import Coupon, CouponTemplate
from livecircle.commerce.schemas import (
    ClaimableOut,
    ClaimIn,
    CouponOut,
    CouponTemplateIn,
    CouponTemplateOut,
    CouponTemplatePatch,
    IssueIn,
    OrderIn,
    OrderOut,
    PaymentOut,
    ShopOrderOut,
)
from livecircle.economy.deps import IdempotencyKey, Sandbox
from livecircle.economy.schemas import SandboxPayIn
from livecircle.identity.deps import CurrentUser
from livecircle.kit.clock import utcnow
from livecircle.kit.deps import AppSettings, DbSession
from livecircle.kit.errors import NotFound

router = APIRouter(prefix="/api/v1", tags=["orders"])
OrderStatus = Literal["created", "paid", "fulfilled", "cancelled", "refunded"]


@router.post("/orders", status_code=status.HTTP_201_CREATED, response_model=None)
async def place_order(
    data: OrderIn,
    key: IdempotencyKey,
    session: DbSession,
    principal: CurrentUser,
    settings: AppSettings,
    gate: Gate,
    winners: GateWinners,
    request: Request,
) -> JSONResponse:
    """One click from a card. The same Idempotency-Key returns the same order and body (200 on a
    replay); another payload under it is 422; while the first is in flight, 409."""
    assert principal.user_id is not None
    tenant_id = tenant_of(principal)
    try:
        placed = await orders.do_place_order(
            session,
            settings.commerce,
            orders.OrderRequest(tenant_id=tenant_id, user_id=principal.user_id, key=key, **data.model_dump()),
            gate,
            winners,
        )
    except SoldOut:
        if data.flash_sale_id is not None and (misses := _misses(request)) is not None:
            misses.note(
                tenant_id=tenant_id, user_id=principal.user_id, sale_id=data.flash_sale_id, sku_id=data.sku_id
            )
        raise
    return JSONResponse(placed.body, status_code=200 if placed.replayed else 201)


def _misses(request: Request) -> flash.Misses | None:
    """The node's recorder of sold-out flash-sale refusals (made on first use, next to the
    analytics buffer; none on an app without analytics)."""
    state = request.app.state
    misses = getattr(state, "flash_misses", None)
    if misses is None:
        node = getattr(state, "analytics_node", None)
        if node is None:
            return None
        misses = state.flash_misses = flash.Misses(node.buffer)
    return cast(flash.Misses, misses)


@router.get("/orders")
async def my_orders(
    session: DbSession, principal: CurrentUser, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[OrderOut]:
    rows = await lifecycle.list_orders(
        session, tenant_id=tenant_of(principal), user_id=principal.user_id, limit=limit
    )
    return [OrderOut.model_validate(o) for o in rows]


@router.get("/orders/{order_id}")
async def get_order(order_id: ObjectId, session: DbSession, principal: CurrentUser) -> OrderOut:
    assert principal.user_id is not None
    return OrderOut.model_validate(
        await lifecycle.get_own_order(session, user_id=principal.user_id, order_id=order_id)
    )


@router.post("/orders/{order_id}/cancel")
async def cancel_order(order_id: ObjectId, session: DbSession, principal: CurrentUser) -> OrderOut:
    assert principal.user_id is not None
    order = await lifecycle.get_own_order(session, user_id=principal.user_id, order_id=order_id)
    return OrderOut.model_validate(await lifecycle.do_cancel(session, order=order))


@router.post("/orders/{order_id}/fulfil")
async def fulfil_order(order_id: ObjectId, session: DbSession, tenant_id: ShopOperator) -> OrderOut:
    order = await lifecycle.get_order(session, order_id)
    if order.tenant_id != tenant_id:
        raise NotFound("No such order")
    return OrderOut.model_validate(await lifecycle.do_fulfil(session, order=order))


@router.post("/orders/{order_id}/refund")
async def refund_order(order_id: ObjectId, session: DbSession, tenant_id: ShopOperator) -> OrderOut:
    order = await lifecycle.get_order(session, order_id)
    if order.tenant_id != tenant_id:
        raise NotFound("No such order")
    return OrderOut.model_validate(await lifecycle.do_refund(session, order=order))


@router.get("/shop/orders")
async def shop_orders(
    session: DbSession,
    tenant_id: ShopOperator,
    order_status: Annotated[OrderStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ShopOrderOut]:
    """The shop's orders, newest first (operators: to fulfil and refund), optionally in one status."""
    rows = await lifecycle.list_shop_orders(session, tenant_id=tenant_id, status=order_status, limit=limit)
    return [ShopOrderOut.model_validate(o) for o in rows]


@router.post("/orders/{order_id}/payments", status_code=status.HTTP_201_CREATED)
async def pay_order(
    order_id: ObjectId, session: DbSession, principal: CurrentUser, provider: Sandbox
) -> PaymentOut:
    """Start paying: the provider's ``pay_url``. The order is paid when its signed callback comes."""
    assert principal.user_id is not None
    order = await lifecycle.get_own_order(session, user_id=principal.user_id, order_id=order_id)
    payment, pay_url = await payments.do_start_payment(session, provider, order=order)
    return PaymentOut.model_validate(payment).model_copy(update={"pay_url": pay_url})


@router.get("/orders/{order_id}/payments")
async def order_payments(order_id: ObjectId, session: DbSession, principal: CurrentUser) -> list[PaymentOut]:
    """The order's payment attempts, newest first: pending, paid, failed or refund_due."""
    assert principal.user_id is not None
    order = await lifecycle.get_own_order(session, user_id=principal.user_id, order_id=order_id)
    return [PaymentOut.model_validate(p) for p in await payments.list_payments(session, order.id)]


@router.post("/orders/payments/sandbox/callback")
async def sandbox_callback(request: Request, session: DbSession, provider: Sandbox) -> dict[str, str]:
    """The provider's signed notice (HMAC-SHA256). Repeats are harmless; a bad signature is 401."""
    body = await request.body()
    notice = provider.verify({k.lower(): v for k, v in request.headers.items()}, body)
    payment = await payments.do_settle_payment(session, notice)
    return {"status": payment.status}


@router.post("/orders/payments/sandbox/{ref}/complete", status_code=status.HTTP_202_ACCEPTED)
async def sandbox_complete(
    ref: Annotated[str, Path(min_length=1, max_length=128)],
    data: SandboxPayIn,
    request: Request,
    session: DbSession,
    principal: CurrentUser,
    settings: AppSettings,
    provider: Sandbox,
) -> dict[str, str]:
    """The sandbox's checkout in one call: it answers like a provider, with a signed callback."""
    if not settings.economy.sandbox_payments:
        raise NotFound()
    payment = await payments.get_payment_by_ref(session, ref)
    order = await lifecycle.get_order(session, payment.order_id)
    if order.user_id != principal.user_id:
        raise NotFound("No such payment")
    provider.answer(
        request.app.state.background,
        ref=ref,
        paid=data.outcome == "success",
        amount_cents=payment.amount_cents,
        path=payments.CALLBACK_PATH,
        delay=data.delay_ms / 1000,
    )
    return {"status": "sent"}


# ---- coupons ----


@router.post("/coupon-templates", status_code=status.HTTP_201_CREATED)
async def create_template(
    data: CouponTemplateIn, session: DbSession, tenant_id: ShopOperator
) -> CouponTemplateOut:
    template = await coupons.do_create_template(session, tenant_id=tenant_id, **data.model_dump())
    return CouponTemplateOut.model_validate(template)


@router.get("/coupon-templates")
async def list_templates(session: DbSession, tenant_id: ShopStaff) -> list[CouponTemplateOut]:
    return [CouponTemplateOut.model_validate(t) for t in await coupons.list_templates(session, tenant_id)]


@router.patch("/coupon-templates/{template_id}")
async def update_template(
    template_id: ObjectId, data: CouponTemplatePatch, session: DbSession, tenant_id: ShopOperator
) -> CouponTemplateOut:
    template = await coupons.do_update_template(
        session, tenant_id=tenant_id, template_id=template_id, **data.model_dump(exclude_unset=True)
    )
    return CouponTemplateOut.model_validate(template)


@router.post("/coupon-templates/{template_id}/issue", status_code=status.HTTP_201_CREATED)
async def issue_coupon(
    template_id: ObjectId, data: IssueIn, session: DbSession, tenant_id: ShopOperator
) -> CouponOut:
    """An operator hands a coupon to a member (any channel)."""
    template = await coupons.get_template(session, tenant_id, template_id)
    coupon = await coupons.do_issue(session, template, user_id=data.user_id, source="manual")
    return coupon_out(coupon, template)


@router.post("/coupon-templates/{template_id}/claim", status_code=status.HTTP_201_CREATED)
async def claim_coupon(
    template_id: ObjectId, data: ClaimIn, session: DbSession, principal: CurrentUser, settings: AppSettings
) -> CouponOut:
    """Claim a dropped coupon (first come, first served) or a member-only one."""
    assert principal.user_id is not None
    template = await coupons.get_template(session, tenant_of(principal), template_id)
    rules = settings.economy
    coupon = await coupons.check_claim(
        session, rules, template, user_id=principal.user_id, show_id=data.show_id
    )
    return coupon_out(coupon, template)


@router.get("/coupons")
async def my_coupons(session: DbSession, principal: CurrentUser) -> list[CouponOut]:
    assert principal.user_id is not None
    rows = await coupons.list_user_coupons(session, tenant_id=tenant_of(principal), user_id=principal.user_id)
    return [coupon_out(c, t) for c, t in rows]


@router.get("/coupon-templates/claimable")
async def claimable_coupons(
    session: DbSession, principal: CurrentUser, settings: AppSettings
) -> list[ClaimableOut]:
    """The member-only coupons on offer now (enabled, not past ``valid_until``; ``issued`` may
    have reached ``total``), whether the caller may claim them and how many they hold."""
    assert principal.user_id is not None
    tenant_id = tenant_of(principal)
    on_offer, eligible = await coupons.list_claimable(
        session, settings.economy, tenant_id=tenant_id, user_id=principal.user_id
    )
    return [
        ClaimableOut(**CouponTemplateOut.model_validate(t).model_dump(), held=held, eligible=eligible)
        for t, held in on_offer
    ]


def coupon_out(coupon: Coupon, template: CouponTemplate) -> CouponOut:
    return CouponOut(
        id=coupon.id,
        template_id=template.id,
        name=template.name,
        kind=template.kind,
        amount_off_cents=template.amount_off_cents,
        percent_off=template.percent_off,
        min_spend_cents=template.min_spend_cents,
        product_id=template.product_id,
        state="expired"
        if coupon.state == "available" and coupon.expires_at is not None and coupon.expires_at <= utcnow()
        else coupon.state,
        source=coupon.source,
        order_id=coupon.order_id,
        issued_at=coupon.issued_at,
        expires_at=coupon.expires_at,
    )
