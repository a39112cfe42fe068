"""Commerce facts, released after commit. Analytics reads the funnel from them; the room
hears about cards, sales and drops through ``tasks``."""

from __future__ import annotations

from dataclasses import dataclass

from livecircle.kit.events import DomainEvent


@dataclass(frozen=True, slots=True)
class ProductPinned(DomainEvent):
    tenant_id: int
    room_id: int
    show_id: int
    pin_id: int
    product_id: int


@dataclass(frozen=True, slots=True)
class ProductUnpinned(DomainEvent):
    tenant_id: int
    room_id: int
    show_id: int
    pin_id: int
    product_id: int


@dataclass(frozen=True, slots=True)
class FlashSaleScheduled(DomainEvent):
    tenant_id: int
    room_id: int | None
    show_id: int | None
    sale_id: int


@dataclass(frozen=True, slots=True)
class FlashSaleEnded(DomainEvent):
    """Closed at its end or by the host; what was left went back to the SKU."""

    tenant_id: int
    room_id: int | None
    show_id: int | None
    sale_id: int


@dataclass(frozen=True, slots=True)
class CouponDropped(DomainEvent):
    tenant_id: int
    room_id: int
    show_id: int
    template_id: int


@dataclass(frozen=True, slots=True)
class OrderPlaced(DomainEvent):
    tenant_id: int
    order_id: int
    user_id: int
    show_id: int | None
    room_id: int | None
    product_id: int
    flash_sale_id: int | None
    total_cents: int


@dataclass(frozen=True, slots=True)
class OrderPaid(DomainEvent):
    tenant_id: int
    order_id: int
    user_id: int
    show_id: int | None
    total_cents: int


@dataclass(frozen=True, slots=True)
class OrderReleased(DomainEvent):
    """Cancelled (by the buyer or the timeout) or refunded: stock and coupon went back."""

    tenant_id: int
    order_id: int
    user_id: int
    show_id: int | None
    room_id: int | None
    flash_sale_id: int | None
    quantity: int
    status: str
    reason: str


@dataclass(frozen=True, slots=True)
class FunnelStepRecorded(DomainEvent):
    tenant_id: int
    show_id: int | None
    product_id: int
    kind: str
    user_id: int | None
