"""Commerce JSON API for operators and hosts: products and SKUs, what a show sells, pinned
cards, flash sales, coupon drops, a show's funnel and orders."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, status

from livecircle.commerce import catalog, coupons, flash, funnel, lifecycle, pins
from livecircle.commerce.deps import ManagedShow, ObjectId, ShopOperator, ShopStaff, shop_operator, tenant_of
from livecircle.commerce.models import Product
from livecircle.commerce.schemas import (
    AttachIn,
    DropIn,
    FlashSaleIn,
    FunnelIn,
    OfferOut,
    OrderOut,
    PinIn,
    ProductIn,
    ProductOut,
    ProductPatch,
    ShowProductOut,
    SkuIn,
    SkuOut,
    SkuPatch,
)
from livecircle.identity.deps import CurrentPrincipal, CurrentUser
from livecircle.kit.clock import utcnow
from livecircle.kit.deps import AppSettings, DbSession
from livecircle.live import service as live

router = APIRouter(prefix="/api/v1", tags=["commerce"])


async def _product_out(session: DbSession, products: list[Product]) -> list[ProductOut]:
    skus = await catalog.skus_of(session, [p.id for p in products])
    return [
        ProductOut.model_validate(p).model_copy(
            update={"skus": [SkuOut.model_validate(s) for s in skus[p.id]]}
        )
        for p in products
    ]


@router.post("/products", status_code=status.HTTP_201_CREATED)
async def create_product(data: ProductIn, session: DbSession, tenant_id: ShopOperator) -> ProductOut:
    fields = data.model_dump(exclude={"skus"})
    product = await catalog.do_create_product(
        session, tenant_id=tenant_id, skus=[s.model_dump() for s in data.skus], **fields
    )
    return (await _product_out(session, [product]))[0]


@router.get("/products")
async def list_products(session: DbSession, tenant_id: ShopStaff) -> list[ProductOut]:
    return await _product_out(session, await catalog.list_products(session, tenant_id, enabled_only=False))


@router.patch("/products/{product_id}")
async def update_product(
    product_id: ObjectId, data: ProductPatch, session: DbSession, tenant_id: ShopOperator
) -> ProductOut:
    product = await catalog.do_update_product(
        session, tenant_id=tenant_id, product_id=product_id, **data.model_dump(exclude_unset=True)
    )
    return (await _product_out(session, [product]))[0]


@router.post("/products/{product_id}/skus", status_code=status.HTTP_201_CREATED)
async def add_sku(product_id: ObjectId, data: SkuIn, session: DbSession, tenant_id: ShopOperator) -> SkuOut:
    sku = await catalog.do_add_sku(session, tenant_id=tenant_id, product_id=product_id, **data.model_dump())
    return SkuOut.model_validate(sku)


@router.patch("/skus/{sku_id}")
async def update_sku(sku_id: ObjectId, data: SkuPatch, session: DbSession, tenant_id: ShopOperator) -> SkuOut:
    sku = await catalog.do_update_sku(
        session, tenant_id=tenant_id, sku_id=sku_id, **data.model_dump(exclude_unset=True)
    )
    return SkuOut.model_validate(sku)


# ---- a show: what it sells, cards, flash sales, drops ----


@router.get("/shows/{show_id}/products")
async def show_products(
    show_id: ObjectId, session: DbSession, principal: CurrentPrincipal
) -> list[ShowProductOut]:
    """What the show sells, at the price a buyer pays there (public like the room)."""
    show = await live.get_show(session, show_id)
    await live.access_room(session, principal, show.room_id)
    offers = await catalog.show_offers(session, show.id)
    products = {p.id: p for p in await catalog.list_products(session, show.tenant_id, enabled_only=True)}
    return [
        ShowProductOut(
            product_id=pid,
            name=products[pid].name,
            image_url=products[pid].image_url,
            external_url=products[pid].external_url,
            offers=[
                OfferOut(
                    sku_id=o.sku.id,
                    name=o.sku.name,
                    price_cents=o.price_cents,
                    list_price_cents=o.sku.price_cents,
                    live_price=o.live_price,
                    stock=o.sku.stock,
                )
                for o in items
            ],
        )
        for pid, items in offers.items()
        if pid in products
    ]


@router.put("/shows/{show_id}/products", status_code=status.HTTP_204_NO_CONTENT)
async def attach_product(data: AttachIn, show: ManagedShow, session: DbSession) -> None:
    prices = {p.sku_id: p.live_price_cents for p in data.prices}
    await catalog.do_attach(session, show=show, product_id=data.product_id, live_prices=prices)


@router.delete("/shows/{show_id}/products/{product_id}", status_code=status.HTTP_204_NO_CONTENT)
async def detach_product(product_id: ObjectId, show: ManagedShow, session: DbSession) -> None:
    await catalog.do_detach(session, show=show, product_id=product_id)


@router.get("/shows/{show_id}/pins")
async def show_pins(
    show_id: ObjectId, session: DbSession, principal: CurrentPrincipal
) -> list[dict[str, Any]]:
    """The cards pinned now (a viewer joining late sees them too)."""
    show = await live.get_show(session, show_id)
    await live.access_room(session, principal, show.room_id)
    return await pins.cards(session, await pins.active_pins(session, show.id))


@router.post("/shows/{show_id}/pins", status_code=status.HTTP_201_CREATED)
async def pin_product(
    data: PinIn, show: ManagedShow, session: DbSession, principal: CurrentUser, settings: AppSettings
) -> dict[str, Any]:
    assert principal.user_id is not None
    pin = await pins.do_pin(
        session,
        show=show,
        product_id=data.product_id,
        countdown_s=data.countdown_s,
        user_id=principal.user_id,
        max_pins=settings.commerce.max_pins,
    )
    return (await pins.cards(session, [pin]))[0]


@router.delete("/shows/{show_id}/pins/{pin_id}", status_code=status.HTTP_204_NO_CONTENT)
async def unpin_product(pin_id: ObjectId, show: ManagedShow, session: DbSession) -> None:
    await pins.do_unpin(session, show=show, pin_id=pin_id)


@router.get("/shows/{show_id}/flash-sales")
async def show_sales(
    show_id: ObjectId, session: DbSession, principal: CurrentPrincipal
) -> list[dict[str, Any]]:
    show = await live.get_show(session, show_id)
    await live.access_room(session, principal, show.room_id)
    now = utcnow()
    return [flash.sale_view(sale, now) for sale in await flash.list_show_sales(session, show.id)]


@router.post("/shows/{show_id}/flash-sales", status_code=status.HTTP_201_CREATED)
async def start_sale(data: FlashSaleIn, show: ManagedShow, session: DbSession) -> dict[str, Any]:
    starts_at = data.starts_at or utcnow()
    ends_at = data.ends_at or starts_at + timedelta(seconds=data.duration_s or 0)
    sale = await flash.do_create_sale(
        session,
        tenant_id=show.tenant_id,
        show=show,
        sku_id=data.sku_id,
        price_cents=data.price_cents,
        starts_at=starts_at,
        ends_at=ends_at,
        stock_total=data.stock,
        per_user_limit=data.per_user_limit,
    )
    return flash.sale_view(sale)


@router.get("/flash-sales/{sale_id}")
async def get_sale(sale_id: ObjectId, session: DbSession, principal: CurrentPrincipal) -> dict[str, Any]:
    """A sale's card, for whoever may see its room."""
    return flash.sale_view(await flash.access_sale(session, principal, sale_id))


@router.post("/flash-sales/{sale_id}/end")
async def end_sale(sale_id: ObjectId, session: DbSession, principal: CurrentUser) -> dict[str, Any]:
    sale = await flash.get_sale(session, tenant_of(principal), sale_id)
    if sale.show_id is None:
        await shop_operator(principal)
    else:
        await catalog.manage_show(session, principal, sale.show_id)
    return flash.sale_view(await flash.do_end_sale_now(session, sale=sale))


@router.post("/shows/{show_id}/coupon-drops", status_code=status.HTTP_202_ACCEPTED)
async def drop_coupon(data: DropIn, show: ManagedShow, session: DbSession) -> dict[str, str]:
    template = await coupons.get_template(session, show.tenant_id, data.template_id)
    await coupons.do_drop(session, show=show, template=template)
    return {"status": "dropped"}


@router.get("/shows/{show_id}/funnel")
async def show_funnel(show: ManagedShow, session: DbSession) -> dict[str, Any]:
    return await funnel.show_funnel(session, show.id)


@router.get("/shows/{show_id}/orders")
async def show_orders(show: ManagedShow, session: DbSession) -> list[OrderOut]:
    rows = await lifecycle.list_orders(session, tenant_id=show.tenant_id, show_id=show.id, limit=200)
    return [OrderOut.model_validate(o) for o in rows]


@router.post("/funnel", status_code=status.HTTP_202_ACCEPTED)
async def funnel_step(data: FunnelIn, session: DbSession, principal: CurrentPrincipal) -> dict[str, bool]:
    """A viewer saw a card, opened its checkout or chose a SKU. Anonymous viewers send their
    random ``viewer`` id; each step counts once per viewer and card."""
    pin = await pins.access_pin(session, principal, data.pin_id)
    who = f"u{principal.user_id}" if principal.user_id is not None else f"a{data.viewer or ''}"
    if principal.user_id is None and data.viewer is None:
        return {"counted": False}
    counted = await funnel.record(
        session,
        tenant_id=pin.tenant_id,
        show_id=pin.show_id,
        product_id=pin.product_id,
        kind=data.kind,
        dedupe=f"{data.kind}:{pin.id}:{who}",
        user_id=principal.user_id,
        viewer=data.viewer,
    )
    return {"counted": counted}
