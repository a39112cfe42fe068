"""Products, their SKUs, and what a show sells at which price."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.commerce.errors import NotOnSale, ProductNotFound, SkuNotFound
from livecircle.commerce.models import Product, ShowItem, Sku
from livecircle.identity.schemas import Principal
from livecircle.live import service as live
from livecircle.live.models import Show


async def manage_show(session: AsyncSession, principal: Principal, show_id: int) -> Show:
    """The show if ``principal`` hosts its room or operates the tenant. Raises ShowNotFound, NotRoomOwner."""
    show = await live.get_show(session, show_id)
    await live.check_manage_room(session, principal, show.room_id)
    return show


async def do_create_product(
    session: AsyncSession, *, tenant_id: int, skus: Sequence[dict[str, Any]], **fields: Any
) -> Product:
    product = Product(tenant_id=tenant_id, **fields)
    session.add(product)
    await session.flush()
    session.add_all(Sku(tenant_id=tenant_id, product_id=product.id, **sku) for sku in skus)
    await session.flush()
    return product


async def do_update_product(
    session: AsyncSession, *, tenant_id: int, product_id: int, **changes: Any
) -> Product:
    product = await get_product(session, tenant_id, product_id)
    for name, value in changes.items():
        setattr(product, name, value)
    await session.flush()
    return product


async def do_add_sku(session: AsyncSession, *, tenant_id: int, product_id: int, **fields: Any) -> Sku:
    await get_product(session, tenant_id, product_id)
    sku = Sku(tenant_id=tenant_id, product_id=product_id, **fields)
    session.add(sku)
    await session.flush()
    return sku


async def do_update_sku(session: AsyncSession, *, tenant_id: int, sku_id: int, **changes: Any) -> Sku:
    """Price and name; ``stock_delta`` restocks (or removes unsold stock, never below 0)."""
    sku = await get_sku(session, tenant_id, sku_id)
    delta = changes.pop("stock_delta", 0) or 0
    for name, value in changes.items():
        setattr(sku, name, value)
    if delta:
        await session.refresh(sku, ["stock"], with_for_update=True)
        if sku.stock + delta < 0:
            raise NotOnSale("Cannot remove more stock than is left", stock=sku.stock)
        sku.stock += delta
    await session.flush()
    return sku


async def get_product(session: AsyncSession, tenant_id: int, product_id: int) -> Product:
    product = await session.get(Product, product_id)
    if product is None or product.tenant_id != tenant_id:
        raise ProductNotFound()
    return product


async def get_sku(session: AsyncSession, tenant_id: int, sku_id: int) -> Sku:
    sku = await session.get(Sku, sku_id)
    if sku is None or sku.tenant_id != tenant_id:
        raise SkuNotFound()
    return sku


async def list_products(session: AsyncSession, tenant_id: int, *, enabled_only: bool) -> list[Product]:
    query = select(Product).where(Product.tenant_id == tenant_id).order_by(Product.id.desc())
    if enabled_only:
        query = query.where(Product.enabled.is_(True))
    return list((await session.scalars(query)).all())


async def skus_of(session: AsyncSession, product_ids: Sequence[int]) -> dict[int, list[Sku]]:
    found: dict[int, list[Sku]] = {pid: [] for pid in product_ids}
    rows = await session.scalars(select(Sku).where(Sku.product_id.in_(product_ids)).order_by(Sku.id))
    for sku in rows:
        found[sku.product_id].append(sku)
    return found


async def do_attach(
    session: AsyncSession, *, show: Show, product_id: int, live_prices: dict[int, int | None]
) -> list[ShowItem]:
    """Put a product's SKUs on sale in ``show``; ``live_prices`` maps SKU → live-exclusive price
    (None: the list price). Attaching again updates the prices."""
    await get_product(session, show.tenant_id, product_id)
    skus = (await skus_of(session, [product_id]))[product_id]
    unknown = set(live_prices) - {sku.id for sku in skus}
    if unknown:
        raise SkuNotFound("These SKUs are not the product's", sku_ids=sorted(unknown))
    existing = {
        item.sku_id: item
        for item in await session.scalars(
            select(ShowItem).where(ShowItem.show_id == show.id, ShowItem.product_id == product_id)
        )
    }
    items = []
    for sku in skus:
        item = existing.get(sku.id)
        if item is None:
            item = ShowItem(tenant_id=show.tenant_id, show_id=show.id, product_id=product_id, sku_id=sku.id)
            session.add(item)
        item.live_price_cents = live_prices.get(sku.id, item.live_price_cents)
        items.append(item)
    await session.flush()
    return items


async def do_detach(session: AsyncSession, *, show: Show, product_id: int) -> None:
    for item in await session.scalars(
        select(ShowItem).where(ShowItem.show_id == show.id, ShowItem.product_id == product_id)
    ):
        await session.delete(item)
    await session.flush()


@dataclass(frozen=True, slots=True)
class Offer:
    """A SKU as a buyer sees it in a show: the price they pay and whether it is live-only."""

    sku: Sku
    price_cents: int
    live_price: bool


async def show_offers(session: AsyncSession, show_id: int) -> dict[int, list[Offer]]:
    """Product id → its SKUs on sale in the show, at the price a buyer pays there."""
    rows = await session.execute(
        select(ShowItem, Sku)
        .join(Sku, Sku.id == ShowItem.sku_id)
        .where(ShowItem.show_id == show_id)
        .order_by(ShowItem.product_id, Sku.id)
    )
    offers: dict[int, list[Offer]] = {}
    for item, sku in rows:
        offers.setdefault(item.product_id, []).append(_offer(item, sku))
    return offers


async def offer_for(session: AsyncSession, *, tenant_id: int, sku_id: int, show_id: int | None) -> Offer:
    """What buying ``sku_id`` costs, in ``show_id`` or (None) from the shop. Raises NotOnSale."""
    sku = await get_sku(session, tenant_id, sku_id)
    product = await session.get(Product, sku.product_id)
    if product is None or not product.enabled:
        raise NotOnSale()
    if show_id is None:
        return Offer(sku, sku.price_cents, False)
    item = await session.scalar(
        select(ShowItem).where(ShowItem.show_id == show_id, ShowItem.sku_id == sku_id)
    )
    if item is None:
        raise NotOnSale("This item is not on sale in this show")
    return _offer(item, sku)


def _offer(item: ShowItem, sku: Sku) -> Offer:
    if item.live_price_cents is None:
        return Offer(sku, sku.price_cents, False)
    return Offer(sku, item.live_price_cents, item.live_price_cents < sku.price_cents)
