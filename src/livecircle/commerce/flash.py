"""限时秒杀: flash sales per SKU. Creating one takes its units from the SKU's stock; a durable
job closes it at its end and gives back what is left."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from livecircle.commerce import catalog, stock
from livecircle.commerce.errors import FlashSaleNotFound, NotOnSale, SoldOut
from livecircle.commerce.events import FlashSaleEnded, FlashSaleScheduled
from livecircle.commerce.models import FlashSale
from livecircle.identity.schemas import Principal
from livecircle.kit import jobs
from livecircle.kit.clock import utcnow
from livecircle.kit.db import one_sqlite_writer
from livecircle.kit.errors import BadRequest
from livecircle.kit.events import emit
from livecircle.kit.tracking import TrackBuffer, event_row
from livecircle.live import service as live
from livecircle.live.models import Show

CLOSE_JOB = "commerce.flash_sale_close"
MISSED = "flash_sale_missed"
MISSES_KEPT = 100_000  # (sale, member) pairs a node remembers having recorded


class Misses:
    """Sold-out refusals of signed-in members, recorded as ``flash_sale_missed`` events.

    The refusal rolls its transaction back, so the event goes through the node's
    ``TrackBuffer`` (batched, outside any request's transaction). Its id is
    ``flash_sale_missed:{sale}:{member}``: stored once per sale and member whichever node
    or retry records it; a node also skips pairs it recorded lately (a rush of retries
    adds no rows to the buffer)."""

    def __init__(self, buffer: TrackBuffer) -> None:
        self.buffer = buffer
        self._seen: dict[tuple[int, int], None] = {}

    def note(self, *, tenant_id: int, user_id: int, sale_id: int, sku_id: int) -> None:
        key = (sale_id, user_id)
        if key in self._seen:
            return
        if len(self._seen) >= MISSES_KEPT:
            self._seen.pop(next(iter(self._seen)))
        self._seen[key] = None
        self.buffer.add(
            event_row(
                MISSED,
                tenant_id=tenant_id,
                event_id=f"{MISSED}:{sale_id}:{user_id}",
                user_id=user_id,
                props={"flash_sale_id": sale_id, "sku_id": sku_id},
            )
        )


async def do_create_sale(
    session: AsyncSession,
    *,
    tenant_id: int,
    show: Show | None,
    sku_id: int,
    price_cents: int,
    starts_at: datetime,
    ends_at: datetime,
    stock_total: int,
    per_user_limit: int,
) -> FlashSale:
    """Raises SkuNotFound, NotOnSale (not in the show), SoldOut (the SKU has fewer units)."""
    if ends_at <= starts_at or ends_at <= utcnow():
        raise BadRequest("A flash sale ends after it starts, and in the future")
    sku = await catalog.get_sku(session, tenant_id, sku_id)
    if show is not None:
        await catalog.offer_for(session, tenant_id=tenant_id, sku_id=sku_id, show_id=show.id)
    await one_sqlite_writer(session)
    if not await stock.take_sku(session, sku_id, stock_total):
        raise SoldOut("The SKU has fewer units in stock than the sale offers", stock=sku.stock)
    sale = FlashSale(
        tenant_id=tenant_id,
        show_id=show.id if show else None,
        room_id=show.room_id if show else None,
        product_id=sku.product_id,
        sku_id=sku_id,
        price_cents=price_cents,
        starts_at=starts_at,
        ends_at=ends_at,
        stock_total=stock_total,
        per_user_limit=per_user_limit,
    )
    session.add(sale)
    await session.flush()
    await stock.stock_sale(session, sale.id, stock_total)
    set_committed_value(sale, "stock_left", stock_total)  # the sum of the slots just written
    await jobs.schedule(
        session, CLOSE_JOB, key=f"flash-close:{sale.id}", run_at=ends_at, payload={"sale_id": sale.id}
    )
    emit(session, FlashSaleScheduled(tenant_id, sale.room_id, sale.show_id, sale.id))
    return sale


async def get_sale(session: AsyncSession, tenant_id: int, sale_id: int) -> FlashSale:
    sale = await session.get(FlashSale, sale_id)
    if sale is None or sale.tenant_id != tenant_id:
        raise FlashSaleNotFound()
    return sale


async def access_sale(session: AsyncSession, principal: Principal, sale_id: int) -> FlashSale:
    """The sale as it is now, if ``principal`` may see its room (a sale outside a show: its
    tenant's members). Raises FlashSaleNotFound, RoomNotFound (another tenant's private room)."""
    sale = await peek_sale(session, sale_id)
    if sale.room_id is not None:
        await live.access_room(session, principal, sale.room_id)
    elif sale.tenant_id != principal.tenant_id:
        raise FlashSaleNotFound()
    return sale


async def peek_sale(session: AsyncSession, sale_id: int) -> FlashSale:
    """The sale as it is now (not the session's cached copy)."""
    sale = await session.scalar(
        select(FlashSale).where(FlashSale.id == sale_id).execution_options(populate_existing=True)
    )
    if sale is None:
        raise FlashSaleNotFound()
    return sale


async def list_show_sales(session: AsyncSession, show_id: int) -> list[FlashSale]:
    return list(
        (
            await session.scalars(
                select(FlashSale).where(FlashSale.show_id == show_id).order_by(FlashSale.id)
            )
        ).all()
    )


async def do_close_sale(session: AsyncSession, sale_id: int) -> int:
    """The close job: at most once per sale; returns the units given back to the SKU."""
    sale = await peek_sale(session, sale_id)
    if sale.closed_at is not None:
        return 0
    moved = await stock.close_flash(session, sale_id, utcnow())
    emit(session, FlashSaleEnded(sale.tenant_id, sale.room_id, sale.show_id, sale.id))
    return moved


async def do_end_sale_now(session: AsyncSession, *, sale: FlashSale) -> FlashSale:
    """The host ends a sale early."""
    if sale.closed_at is not None:
        raise NotOnSale("The flash sale has ended")
    await do_close_sale(session, sale.id)
    await jobs.cancel(session, f"flash-close:{sale.id}")
    return await peek_sale(session, sale.id)


def sale_view(sale: FlashSale, now: datetime | None = None) -> dict[str, Any]:
    """What every viewer sees; clients count down against ``server_now``."""
    now = now or utcnow()
    if sale.closed_at is not None or now >= sale.ends_at:
        state = "ended"
    elif now < sale.starts_at:
        state = "upcoming"
    else:
        state = "open" if sale.stock_left > 0 else "sold_out"
    return {
        "sale_id": sale.id,
        "show_id": sale.show_id,
        "product_id": sale.product_id,
        "sku_id": sale.sku_id,
        "price_cents": sale.price_cents,
        "starts_at": sale.starts_at.isoformat(),
        "ends_at": sale.ends_at.isoformat(),
        "stock_total": sale.stock_total,
        "stock_left": sale.stock_left,
        "per_user_limit": sale.per_user_limit,
        "state": state,
        "server_now": now.isoformat(),
    }
