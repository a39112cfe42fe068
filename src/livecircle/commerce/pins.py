"""Product cards the host pins for every viewer: at most ``max_pins`` at once per show, each
with a countdown (0/5/10/20/30 s) after which buying opens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.commerce import catalog
from livecircle.commerce.errors import NotOnSale, PinNotFound, TooManyPins
from livecircle.commerce.events import ProductPinned, ProductUnpinned
from livecircle.commerce.models import Pin, Product
from livecircle.identity.schemas import Principal
from livecircle.kit.clock import utcnow
from livecircle.kit.db import one_sqlite_writer
from livecircle.kit.events import emit
from livecircle.live import service as live
from livecircle.live.models import Show


async def do_pin(
    session: AsyncSession, *, show: Show, product_id: int, countdown_s: int, user_id: int, max_pins: int
) -> Pin:
    """Raises NotOnSale (the product is not in the show), TooManyPins."""
    offers = await catalog.show_offers(session, show.id)
    if product_id not in offers:
        raise NotOnSale("Attach the product to the show before pinning it")
    await one_sqlite_writer(session)
    if session.get_bind().dialect.name == "postgresql":  # two hosts pinning at once: one at a time
        await session.execute(select(Show.id).where(Show.id == show.id).with_for_update())
    active = await session.scalar(
        select(func.count()).select_from(Pin).where(Pin.show_id == show.id, Pin.unpinned_at.is_(None))
    )
    if (active or 0) >= max_pins:
        raise TooManyPins(f"At most {max_pins} products are highlighted at once; unpin one first")
    now = utcnow()
    pin = Pin(
        tenant_id=show.tenant_id,
        show_id=show.id,
        room_id=show.room_id,
        product_id=product_id,
        countdown_s=countdown_s,
        opens_at=now + timedelta(seconds=countdown_s),
        pinned_by=user_id,
        pinned_at=now,
    )
    session.add(pin)
    await session.flush()
    emit(session, ProductPinned(show.tenant_id, show.room_id, show.id, pin.id, pin.product_id))
    return pin


async def do_unpin(session: AsyncSession, *, show: Show, pin_id: int) -> None:
    pin = await session.get(Pin, pin_id)
    if pin is None or pin.show_id != show.id:
        raise PinNotFound()
    result = await session.execute(
        update(Pin).where(Pin.id == pin_id, Pin.unpinned_at.is_(None)).values(unpinned_at=utcnow())
    )
    if result.rowcount:  # type: ignore[attr-defined]
        emit(session, ProductUnpinned(show.tenant_id, show.room_id, show.id, pin.id, pin.product_id))


async def active_pins(session: AsyncSession, show_id: int) -> list[Pin]:
    return list(
        (
            await session.scalars(
                select(Pin).where(Pin.show_id == show_id, Pin.unpinned_at.is_(None)).order_by(Pin.id)
            )
        ).all()
    )


async def get_pin(session: AsyncSession, pin_id: int) -> Pin:
    pin = await session.get(Pin, pin_id)
    if pin is None:
        raise PinNotFound()
    return pin


async def access_pin(session: AsyncSession, principal: Principal, pin_id: int) -> Pin:
    """The card, if ``principal`` may see its room (its tenant's members: without a query).
    Raises PinNotFound, RoomNotFound."""
    pin = await get_pin(session, pin_id)
    if principal.tenant_id != pin.tenant_id:
        await live.access_room(session, principal, pin.room_id)
    return pin


async def cards(session: AsyncSession, pins: list[Pin]) -> list[dict[str, Any]]:
    """What viewers see of each pinned card: the product, its SKUs at the show's prices, and
    when buying opens (clients count down against ``server_now``)."""
    if not pins:
        return []
    offers = await catalog.show_offers(session, pins[0].show_id)
    products = {
        p.id: p
        for p in await session.scalars(
            select(Product).where(Product.id.in_([pin.product_id for pin in pins]))
        )
    }
    now = utcnow()
    out = []
    for pin in pins:
        product = products[pin.product_id]
        out.append(
            {
                "pin_id": pin.id,
                "show_id": pin.show_id,
                "product_id": product.id,
                "name": product.name,
                "description": product.description,
                "image_url": product.image_url,
                "external_url": product.external_url,
                "countdown_s": pin.countdown_s,
                "opens_at": pin.opens_at.isoformat(),
                "server_now": now.isoformat(),
                "skus": [
                    {
                        "sku_id": offer.sku.id,
                        "name": offer.sku.name,
                        "price_cents": offer.price_cents,
                        "list_price_cents": offer.sku.price_cents,
                        "live_price": offer.live_price,
                        "in_stock": offer.sku.stock > 0,
                    }
                    for offer in offers.get(product.id, [])
                ],
            }
        )
    return out
