"""Commerce schemas. Amounts are integer cents."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

from livecircle.kit.schemas import Schema

Cents = int
Id = int
ID = Field(ge=1, le=2**31 - 1)
PRICE = Field(ge=0, le=100_000_000)


class SkuIn(Schema):
    name: str = Field(min_length=1, max_length=60)
    price_cents: Cents = PRICE
    stock: int = Field(default=0, ge=0, le=10_000_000)


class SkuPatch(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=60)
    price_cents: Cents | None = Field(default=None, ge=0, le=100_000_000)
    stock_delta: int = Field(
        default=0, ge=-10_000_000, le=10_000_000, description="Restock (+) or remove (-)"
    )


class SkuOut(Schema):
    id: Id
    product_id: Id
    name: str
    price_cents: Cents
    stock: int


class ProductIn(Schema):
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=4000)
    image_url: str = Field(default="", max_length=500, pattern=r"^(|https?://\S+|/\S*)$")
    external_url: str | None = Field(default=None, max_length=500, pattern=r"^https?://\S+$")
    skus: list[SkuIn] = Field(min_length=1, max_length=50)


class ProductPatch(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=4000)
    image_url: str | None = Field(default=None, max_length=500, pattern=r"^(|https?://\S+|/\S*)$")
    external_url: str | None = Field(default=None, max_length=500, pattern=r"^https?://\S+$")
    enabled: bool | None = None


class ProductOut(Schema):
    id: Id
    name: str
    description: str
    image_url: str
    external_url: str | None
    enabled: bool
    skus: list[SkuOut] = Field(default_factory=list)


class LivePrice(Schema):
    sku_id: Id = ID
    live_price_cents: Cents | None = Field(default=None, ge=0, le=100_000_000)


class AttachIn(Schema):
    product_id: Id = ID
    prices: list[LivePrice] = Field(
        default_factory=list, max_length=50, description="Live-exclusive prices per SKU"
    )


class OfferOut(Schema):
    sku_id: Id
    name: str
    price_cents: Cents = Field(description="What a buyer pays in this show")
    list_price_cents: Cents
    live_price: bool = Field(description="Cheaper than the list price, in this show only")
    stock: int


class ShowProductOut(Schema):
    product_id: Id
    name: str
    image_url: str
    external_url: str | None
    offers: list[OfferOut]


class PinIn(Schema):
    product_id: Id = ID
    countdown_s: Literal[0, 5, 10, 20, 30] = 0


class FlashSaleIn(Schema):
    sku_id: Id = ID
    price_cents: Cents = PRICE
    stock: int = Field(ge=1, le=1_000_000)
    per_user_limit: int = Field(default=1, ge=1, le=99)
    starts_at: datetime | None = Field(default=None, description="Default: now")
    ends_at: datetime | None = None
    duration_s: int | None = Field(default=None, ge=10, le=7 * 86400, description="Instead of ends_at")

    @model_validator(mode="after")
    def _one_end(self) -> FlashSaleIn:
        if (self.ends_at is None) == (self.duration_s is None):
            raise ValueError("give exactly one of ends_at and duration_s")
        for moment in (self.starts_at, self.ends_at):
            if moment is not None and moment.tzinfo is None:
                raise ValueError("times need a timezone")
        return self


class CouponTemplateIn(Schema):
    name: str = Field(min_length=1, max_length=60)
    kind: Literal["fixed", "percent"]
    amount_off_cents: Cents = Field(default=0, ge=0, le=100_000_000)
    percent_off: int = Field(default=0, ge=0, le=99)
    min_spend_cents: Cents = Field(default=0, ge=0, le=100_000_000)
    channel: Literal["new_user", "follow", "drop", "member", "points", "manual"]
    product_id: Id | None = Field(default=None, ge=1, le=2**31 - 1)
    total: int | None = Field(default=None, ge=1, le=10_000_000, description="How many may be issued")
    per_user: int = Field(default=1, ge=1, le=100)
    valid_days: int | None = Field(default=None, ge=1, le=3650)
    valid_until: datetime | None = None

    @model_validator(mode="after")
    def _value(self) -> CouponTemplateIn:
        if self.kind == "fixed" and self.amount_off_cents <= 0:
            raise ValueError("a fixed coupon takes amount_off_cents > 0")
        if self.kind == "percent" and not 1 <= self.percent_off <= 99:
            raise ValueError("a percentage coupon takes percent_off from 1 to 99")
        if self.valid_until is not None and self.valid_until.tzinfo is None:
            raise ValueError("valid_until needs a timezone")
        return self


class CouponTemplatePatch(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=60)
    enabled: bool | None = None
    total: int | None = Field(default=None, ge=1, le=10_000_000)


class CouponTemplateOut(Schema):
    id: Id
    name: str
    kind: str
    amount_off_cents: Cents
    percent_off: int
    min_spend_cents: Cents
    channel: str
    product_id: Id | None
    total: int | None
    issued: int
    per_user: int
    valid_days: int | None
    valid_until: datetime | None
    enabled: bool


class IssueIn(Schema):
    user_id: Id = ID


class ClaimIn(Schema):
    show_id: Id | None = Field(default=None, ge=1, le=2**31 - 1, description="The show that dropped it")


class DropIn(Schema):
    template_id: Id = ID


class CouponOut(Schema):
    id: Id
    template_id: Id
    name: str
    kind: str
    amount_off_cents: Cents
    percent_off: int
    min_spend_cents: Cents
    product_id: Id | None
    state: str
    source: str
    order_id: Id | None
    issued_at: datetime
    expires_at: datetime | None


class OrderIn(Schema):
    sku_id: Id = ID
    quantity: int = Field(default=1, ge=1, le=999)
    show_id: Id | None = Field(default=None, ge=1, le=2**31 - 1)
    pin_id: Id | None = Field(default=None, ge=1, le=2**31 - 1)
    flash_sale_id: Id | None = Field(default=None, ge=1, le=2**31 - 1)
    coupon_id: Id | None = Field(default=None, ge=1, le=2**31 - 1)


class OrderOut(Schema):
    id: Id
    status: str
    product_id: Id
    sku_id: Id
    quantity: int
    unit_price_cents: Cents
    subtotal_cents: Cents
    discount_cents: Cents
    total_cents: Cents
    live_price: bool
    show_id: Id | None
    flash_sale_id: Id | None
    coupon_id: Id | None
    created_at: datetime
    expires_at: datetime
    paid_at: datetime | None
    fulfilled_at: datetime | None
    cancelled_at: datetime | None
    refunded_at: datetime | None
    cancel_reason: str | None


class PaymentOut(Schema):
    id: Id
    order_id: Id
    provider: str
    amount_cents: Cents
    status: str
    pay_url: str = ""


class FunnelIn(Schema):
    kind: Literal["impression", "click", "add"]
    pin_id: Id = ID
    sku_id: Id | None = Field(default=None, ge=1, le=2**31 - 1)
    viewer: str | None = Field(
        default=None,
        min_length=8,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Anonymous viewer id",
    )


class ShopOrderOut(OrderOut):
    """An order as the shop's operators see it: with its buyer."""

    user_id: int


class ClaimableOut(CouponTemplateOut):
    """A member-only coupon on offer, as the caller sees it."""

    held: int = Field(description="How many of these the caller holds (at most per_user)")
    eligible: bool = Field(description="The caller's tier gives exclusive discounts: they may claim it")
