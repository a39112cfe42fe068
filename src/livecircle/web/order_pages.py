"""Order pages: my orders (paid through the sandbox, cancelled, coupons) and the shop's orders
for operators, with fulfil and refund: the API's transitions, called the same way."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.commerce import lifecycle
from livecircle.commerce.errors import OrderNotFound
from livecircle.economy.deps import operator_tenant
from livecircle.identity.deps import CsrfChecked, CurrentPrincipal
from livecircle.identity.schemas import Principal
from livecircle.kit.deps import DbSession
from livecircle.kit.errors import AppError
from livecircle.web.commerce_pages import SHOP, product_names, render

router = APIRouter(include_in_schema=False)
ORDER_STATUSES = ("created", "paid", "fulfilled", "cancelled", "refunded")
Short = Annotated[str, Form(max_length=200)]


# ---- my orders ----


@router.get("/orders")
async def orders_page(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    if not principal.is_authenticated or principal.tenant_id is None:
        return RedirectResponse("/login?next=/orders", status_code=303)
    mine = await lifecycle.list_orders(session, tenant_id=principal.tenant_id, user_id=principal.user_id)
    names = await product_names(session, principal.tenant_id, only={o.product_id for o in mine})
    return render(request, "orders.html", principal, names=names)


# ---- operators: orders ----


@router.get("/console/orders")
async def console_orders(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    status: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    """The shop's orders, newest first (one status, or all), with fulfil and refund buttons."""
    if not principal.is_authenticated:
        return RedirectResponse("/login?next=/console/orders", status_code=303)
    done = {"order": request.query_params.get("done"), "action": request.query_params.get("action")}
    return await _orders_page(request, session, principal, status=status, done=done)


@router.post("/console/orders/{order_id}/{action}", dependencies=[CsrfChecked])
async def console_order_action(
    request: Request,
    order_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    action: Literal["fulfil", "refund"],
    session: DbSession,
    principal: CurrentPrincipal,
    status: Short = "",
) -> Response:
    """Ship a paid order, or refund a paid or shipped one (stock and coupon go back): the API's
    transitions, POST /api/v1/orders/{id}/fulfil and /refund."""
    tenant_id = operator_tenant(principal, SHOP)
    try:
        async with session.begin_nested():
            order = await lifecycle.get_order(session, order_id)
            if order.tenant_id != tenant_id:
                raise OrderNotFound()
            move = lifecycle.do_fulfil if action == "fulfil" else lifecycle.do_refund
            await move(session, order=order)
    except AppError as exc:  # not in a state that allows it (any more), or not this shop's
        context = {"error": exc.code, "error_order": order_id}
        code = exc.status_code
        return await _orders_page(request, session, principal, code, status=status, **context)
    query = f"done={order_id}&action={action}" + (f"&status={status}" if status in ORDER_STATUSES else "")
    return RedirectResponse(f"/console/orders?{query}#order-{order_id}", status_code=303)


async def _orders_page(
    request: Request,
    session: AsyncSession,
    principal: Principal,
    status_code: int = 200,
    *,
    status: str,
    **context: Any,
) -> Response:
    tenant_id = operator_tenant(principal, SHOP)
    wanted = status if status in ORDER_STATUSES else None
    rows = await lifecycle.list_shop_orders(session, tenant_id=tenant_id, status=wanted, limit=200)
    names = await product_names(session, tenant_id)
    context = {"done": None, "error": None, "error_order": None} | context
    page = {"orders": rows, "names": names, "status": wanted, "statuses": ORDER_STATUSES}
    return render(request, "console_orders.html", principal, status_code, **context, **page)
