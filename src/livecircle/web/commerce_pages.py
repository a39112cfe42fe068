"""Live-commerce pages: the operator's products (server-rendered forms, like the gift
catalogue), and the helpers the coupon and order pages share. The rules are the JSON API's:
the forms validate with its schemas and call the same commerce functions. The room page and
the host console get their shop context here too; their live controls call the JSON API."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from livecircle.commerce import catalog, coupons
from livecircle.commerce.schemas import (
    ProductIn,
    ProductPatch,
    SkuIn,
    SkuPatch,
)
from livecircle.economy.deps import operator_tenant
from livecircle.identity.deps import CsrfChecked, CurrentPrincipal
from livecircle.identity.schemas import Principal
from livecircle.kit.deps import DbSession
from livecircle.kit.errors import AppError
from livecircle.kit.templating import get_pages
from livecircle.live import service as live_service
from livecircle.live.schemas import ShowStatus

router = APIRouter(include_in_schema=False)
SHOP = "products, coupons and orders"  # what operators manage (the API's wording)
LongText = Annotated[str, Form(max_length=4000)]
Short = Annotated[str, Form(max_length=200)]
M = TypeVar("M", bound=BaseModel)
# What the operator pages show when a handler says nothing else.
_PRODUCTS_PAGE: dict[str, Any] = {
    "form": {},
    "sku_rows": [],
    "invalid": [],
    "editing": None,
    "error": None,
    "saved": None,
}


# ---- context for the room page and the host console ----


async def shop_show_id(session: AsyncSession, room_id: int) -> int | None:
    """The show a room sells in: the live one, else the next scheduled one."""
    show = await live_service.get_current_show(session, room_id)
    live_or_next = (ShowStatus.LIVE.value, ShowStatus.SCHEDULED.value)
    return show.id if show is not None and show.status in live_or_next else None


async def console_shop(session: AsyncSession, *, room_id: int, tenant_id: int) -> dict[str, Any]:
    """What the host console's shop panel needs besides the JSON API: the show, the tenant's
    products to attach and the coupons the host may drop (the API lists both to operators only)."""
    show_id = await shop_show_id(session, room_id)
    if show_id is None:
        return {"showId": None, "products": [], "dropTemplates": []}
    drops = await coupons.list_templates(session, tenant_id, channel="drop", enabled_only=True)
    return {
        "showId": show_id,
        "products": await catalogue(session, tenant_id, enabled_only=True),
        "dropTemplates": [template_view(t) for t in drops],
    }


async def catalogue(session: AsyncSession, tenant_id: int, *, enabled_only: bool) -> list[dict[str, Any]]:
    products = await catalog.list_products(session, tenant_id, enabled_only=enabled_only)
    skus = await catalog.skus_of(session, [p.id for p in products])
    return [_product_view(p, skus[p.id]) for p in products]


def _product_view(product: Any, skus: list[Any]) -> dict[str, Any]:
    return {
        "id": product.id,
        "name": product.name,
        "description": product.description,
        "image_url": product.image_url,
        "external_url": product.external_url,
        "enabled": product.enabled,
        "skus": [{"id": s.id, "name": s.name, "price_cents": s.price_cents, "stock": s.stock} for s in skus],
    }


def template_view(template: Any) -> dict[str, Any]:
    fields = ("id", "name", "kind", "amount_off_cents", "percent_off", "min_spend_cents", "channel")
    view = {name: getattr(template, name) for name in fields}
    return view | {
        "product_id": template.product_id,
        "total": template.total,
        "issued": template.issued,
        "per_user": template.per_user,
        "valid_days": template.valid_days,
        "valid_until": template.valid_until,
        "enabled": template.enabled,
    }


# ---- operators: products ----


@router.get("/console/products")
async def console_products(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    if not principal.is_authenticated:
        return RedirectResponse("/login?next=/console/products", status_code=303)
    return await _products_page(request, session, principal, saved=request.query_params.get("saved"))


@router.post("/console/products", dependencies=[CsrfChecked])
async def console_create_product(
    request: Request, session: DbSession, principal: CurrentPrincipal
) -> Response:
    tenant_id = operator_tenant(principal, SHOP)
    fields, rows = _product_form(await request.form())
    skus = [_sku_fields(**row) for row in rows]
    payload = fields | {"external_url": fields["external_url"].strip() or None, "skus": skus}
    data, invalid = validate(ProductIn, payload)
    if data is None:
        context = {"form": fields, "sku_rows": rows, "invalid": invalid}
        return await _products_page(request, session, principal, status_code=422, **context)
    product = await catalog.do_create_product(
        session,
        tenant_id=tenant_id,
        skus=[s.model_dump() for s in data.skus],
        **data.model_dump(exclude={"skus"}),
    )
    return _saved(product.id)


@router.post("/console/products/{product_id}", dependencies=[CsrfChecked])
async def console_edit_product(
    request: Request,
    product_id: int,
    session: DbSession,
    principal: CurrentPrincipal,
    name: Short,
    description: LongText = "",
    image_url: LongText = "",
    external_url: LongText = "",
) -> Response:
    tenant_id = operator_tenant(principal, SHOP)
    payload = {"name": name, "description": description, "image_url": image_url}
    data, invalid = validate(ProductPatch, payload | {"external_url": external_url.strip() or None})
    if data is None:
        context = {"invalid": invalid, "editing": product_id}
        return await _products_page(request, session, principal, status_code=422, **context)
    changes = data.model_dump(exclude_unset=True)
    await catalog.do_update_product(session, tenant_id=tenant_id, product_id=product_id, **changes)
    return _saved(product_id)


@router.post("/console/products/{product_id}/enabled", dependencies=[CsrfChecked])
async def console_product_enabled(
    product_id: int, session: DbSession, principal: CurrentPrincipal, enabled: Annotated[bool, Form()]
) -> Response:
    """Put a product on sale or take it off (a product off sale cannot be ordered anywhere)."""
    tenant_id = operator_tenant(principal, SHOP)
    await catalog.do_update_product(session, tenant_id=tenant_id, product_id=product_id, enabled=enabled)
    return _saved(product_id)


@router.post("/console/products/{product_id}/skus", dependencies=[CsrfChecked])
async def console_add_sku(
    request: Request,
    product_id: int,
    session: DbSession,
    principal: CurrentPrincipal,
    name: Short,
    price: Short,
    stock: Short = "0",
) -> Response:
    tenant_id = operator_tenant(principal, SHOP)
    data, _ = validate(SkuIn, _sku_fields(name, price, stock))
    if data is None:
        context = {"invalid": ["skus"], "editing": product_id}
        return await _products_page(request, session, principal, status_code=422, **context)
    await catalog.do_add_sku(session, tenant_id=tenant_id, product_id=product_id, **data.model_dump())
    return _saved(product_id)


@router.post("/console/skus/{sku_id}", dependencies=[CsrfChecked])
async def console_update_sku(
    request: Request,
    sku_id: int,
    session: DbSession,
    principal: CurrentPrincipal,
    price: Short = "",
    stock_delta: Short = "",
) -> Response:
    """A new list price (blank: unchanged) and a restock (+) or removal (−) of unsold units."""
    tenant_id = operator_tenant(principal, SHOP)
    payload: dict[str, Any] = {"stock_delta": stock_delta.strip() or 0}
    if price.strip():
        payload["price_cents"] = cents(price)
    data, _ = validate(SkuPatch, payload)
    if data is None:
        return await _products_page(request, session, principal, status_code=422, invalid=["sku_change"])
    try:
        async with session.begin_nested():
            sku = await catalog.do_update_sku(
                session, tenant_id=tenant_id, sku_id=sku_id, **data.model_dump(exclude_unset=True)
            )
    except AppError as exc:  # removing more units than are left
        return await _products_page(request, session, principal, status_code=exc.status_code, error=exc.code)
    return _saved(sku.product_id)


async def _products_page(
    request: Request, session: AsyncSession, principal: Principal, status_code: int = 200, **context: Any
) -> Response:
    tenant_id = operator_tenant(principal, SHOP)
    products = await catalogue(session, tenant_id, enabled_only=False)
    context = _PRODUCTS_PAGE | context | {"products": products}
    return render(request, "console_products.html", principal, status_code, **context)


def _product_form(form: FormData) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The new-product form: its fields, and its SKU rows (one per row of inputs; blank rows left out)."""
    fields = {k: str(form.get(k, "")) for k in ("name", "description", "image_url", "external_url")}
    columns = (form.getlist(f"sku_{name}") for name in ("name", "price", "stock"))
    rows = [{"name": str(n), "price": str(p), "stock": str(s)} for n, p, s in zip(*columns, strict=False)]
    return fields, [row for row in rows if row["name"].strip() or row["price"].strip()]


def _saved(product_id: int) -> Response:
    return RedirectResponse(f"/console/products?saved={product_id}#product-{product_id}", status_code=303)


# ---- helpers ----


async def product_names(
    session: AsyncSession, tenant_id: int, *, only: set[int] | None = None
) -> dict[int, dict[str, Any]]:
    """Product and SKU names by id (disabled ones too: old orders name them), for order lists."""
    return {
        p["id"]: {"name": p["name"], "skus": {s["id"]: s["name"] for s in p["skus"]}}
        for p in await catalogue(session, tenant_id, enabled_only=False)
        if only is None or p["id"] in only
    }


def render(
    request: Request, name: str, principal: Principal, status_code: int = 200, **context: Any
) -> Response:
    return get_pages(request).render(request, name, {"principal": principal, **context}, status_code)


def cents(yuan: str) -> int | str:
    """Yuan as typed ("69", "69.9", "¥69.00") in cents (6900); anything else is returned as it
    came, for the schema to refuse."""
    text = yuan.strip().lstrip("¥").replace(",", "")
    try:
        amount = Decimal(text)
        exact = amount.is_finite() and amount == amount.quantize(Decimal("0.01"))
    except InvalidOperation:
        return yuan
    return int(amount * 100) if exact else yuan


def _sku_fields(name: str, price: str, stock: str) -> dict[str, Any]:
    return {"name": name, "price_cents": cents(price), "stock": stock.strip() or 0}


def validate(model: type[M], payload: dict[str, Any]) -> tuple[M | None, list[str]]:
    """The schema's answer: the data, or the names of the fields it refused ("value": the whole)."""
    try:
        return model.model_validate(payload), []
    except ValidationError as exc:
        return None, sorted({str(e["loc"][0]) if e["loc"] else "value" for e in exc.errors()})
