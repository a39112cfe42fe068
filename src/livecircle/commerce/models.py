"""Commerce tables: products and SKUs, what a show sells at its live price, pinned cards,
flash sales and their buyers, coupon templates and issued coupons, orders, payment
attempts and funnel steps. Money is integer cents; stock is an integer the database keeps
from going negative."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column

from livecircle.kit.clock import utcnow
from livecircle.kit.db import Base, UtcDateTime
from livecircle.privacy.datamap import Category, Erase, not_personal, personal

ORDER_STATES = ("created", "paid", "fulfilled", "cancelled", "refunded")
PIN_COUNTDOWNS = (0, 5, 10, 20, 30)
COUPON_CHANNELS = ("new_user", "follow", "drop", "member", "points", "manual")


class Product(Base):
    __tablename__ = "commerce_product"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120), info=not_personal("the brand's catalogue"))
    description: Mapped[str] = mapped_column(Text, default="", info=not_personal("the brand's catalogue"))
    image_url: Mapped[str] = mapped_column(String(500), default="")
    external_url: Mapped[str | None] = mapped_column(String(500), default=None)
    # What it is (美妆, 数码, ...): buyers' and clickers' interest tags come from it.
    category: Mapped[str] = mapped_column(String(40), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Sku(Base):
    """One buyable variant of a product (size, colour) with its list price and stock."""

    __tablename__ = "commerce_sku"
    __table_args__ = (
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("commerce_product.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60), info=not_personal("the brand's catalogue"))
    price_cents: Mapped[int] = mapped_column(BigInteger)
    stock: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ShowItem(Base):
    """A SKU on sale in a show, at its live-exclusive price when one is set."""

    __tablename__ = "commerce_show_item"
    __table_args__ = (
        UniqueConstraint("show_id", "sku_id"),
        CheckConstraint("live_price_cents IS NULL OR live_price_cents >= 0", name="live_price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"))
    show_id: Mapped[int] = mapped_column(ForeignKey("live_show.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("commerce_product.id", ondelete="CASCADE"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("commerce_sku.id", ondelete="CASCADE"))
    live_price_cents: Mapped[int | None] = mapped_column(BigInteger, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Pin(Base):
    """A product card the host pushed to every viewer; buying opens after the countdown."""

    __tablename__ = "commerce_pin"
    __table_args__ = (Index("ix_commerce_pin_show_active", "show_id", "unpinned_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"))
    show_id: Mapped[int] = mapped_column(ForeignKey("live_show.id", ondelete="CASCADE"))
    room_id: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(ForeignKey("commerce_product.id", ondelete="CASCADE"))
    countdown_s: Mapped[int] = mapped_column(Integer, default=0)
    opens_at: Mapped[datetime] = mapped_column(UtcDateTime)
    pinned_by: Mapped[int] = mapped_column(
        Integer,
        info=personal(
            Category.ACTIVITY,
            "which host pinned a product card",
            retention="commerce",
            subject=True,
            erase=Erase.ANONYMISE,
        ),
    )
    pinned_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    unpinned_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class FlashSlot(Base):
    """One share of a flash sale's units. The units are spread over a few rows so that buyers
    deciding at once lock different rows (``FOR UPDATE SKIP LOCKED``) and their commits share
    the disk's flushes; on one row, each decision would wait for the previous one's commit."""

    __tablename__ = "commerce_flash_slot"
    __table_args__ = (CheckConstraint("stock_left >= 0", name="stock_not_negative"),)

    sale_id: Mapped[int] = mapped_column(
        ForeignKey("commerce_flash_sale.id", ondelete="CASCADE"), primary_key=True
    )
    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    stock_left: Mapped[int] = mapped_column(Integer)


class FlashSale(Base):
    """限时秒杀: ``stock_total`` units of a SKU taken from its stock at a price, between two
    times. ``stock_left`` is the sum of the sale's slots (``FlashSlot``), each decided by one
    conditional UPDATE and never negative; when the sale closes what is left goes back to
    the SKU."""

    __tablename__ = "commerce_flash_sale"
    __table_args__ = (
        CheckConstraint("per_user_limit >= 1", name="per_user_limit_positive"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"))
    show_id: Mapped[int | None] = mapped_column(
        ForeignKey("live_show.id", ondelete="SET NULL"), index=True, default=None
    )
    room_id: Mapped[int | None] = mapped_column(Integer, default=None)
    product_id: Mapped[int] = mapped_column(ForeignKey("commerce_product.id", ondelete="CASCADE"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("commerce_sku.id", ondelete="CASCADE"), index=True)
    price_cents: Mapped[int] = mapped_column(BigInteger)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    stock_total: Mapped[int] = mapped_column(Integer)
    per_user_limit: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    stock_left: Mapped[int] = column_property(
        select(func.coalesce(func.sum(FlashSlot.stock_left), 0))
        .where(FlashSlot.sale_id == id)
        .correlate_except(FlashSlot)
        .scalar_subquery()
    )


class FlashBuyer(Base):
    """How many units of a flash sale a user holds in live orders (the per-user limit)."""

    __tablename__ = "commerce_flash_buyer"
    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity_not_negative"),)

    sale_id: Mapped[int] = mapped_column(
        ForeignKey("commerce_flash_sale.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        primary_key=True,
        info=personal(
            Category.COMMERCE,
            "how much the member bought in a flash sale (per-user limit)",
            retention="commerce",
            subject=True,
        ),
    )
    quantity: Mapped[int] = mapped_column(Integer, default=0)


class CouponTemplate(Base):
    """What a coupon is worth and how it is handed out (``channel``); ``total`` caps how many
    are issued (first come, first served) and ``issued`` counts them."""

    __tablename__ = "commerce_coupon_template"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'fixed' AND amount_off_cents > 0)"
            " OR (kind = 'percent' AND percent_off BETWEEN 1 AND 99)",
            name="value",
        ),
        CheckConstraint("total IS NULL OR issued <= total", name="issued_within_total"),
        CheckConstraint("min_spend_cents >= 0 AND per_user >= 1", name="limits"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60), info=not_personal("the brand's coupon offer"))
    kind: Mapped[str] = mapped_column(String(8))  # fixed | percent
    amount_off_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    percent_off: Mapped[int] = mapped_column(Integer, default=0)
    min_spend_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    channel: Mapped[str] = mapped_column(String(16))  # one of COUPON_CHANNELS
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("commerce_product.id", ondelete="CASCADE"), default=None
    )
    total: Mapped[int | None] = mapped_column(Integer, default=None)
    issued: Mapped[int] = mapped_column(Integer, default=0)
    per_user: Mapped[int] = mapped_column(Integer, default=1)
    valid_days: Mapped[int | None] = mapped_column(Integer, default=None)  # from issue
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Coupon(Base):
    """One coupon a user holds. ``slot`` numbers a user's coupons of one template, so the
    per-user limit is a unique constraint. Used once; returned when its order is cancelled."""

    __tablename__ = "commerce_coupon"
    __table_args__ = (
        UniqueConstraint("template_id", "user_id", "slot"),
        Index("ix_commerce_coupon_user_state", "user_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"))
    template_id: Mapped[int] = mapped_column(ForeignKey("commerce_coupon_template.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        info=personal(Category.COMMERCE, "coupons the member holds", retention="commerce", subject=True),
    )
    slot: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[str] = mapped_column(String(16), default="available")  # available | used
    order_id: Mapped[int | None] = mapped_column(Integer, default=None)
    source: Mapped[str] = mapped_column(String(32))  # channel, plus the show of a drop
    show_id: Mapped[int | None] = mapped_column(Integer, default=None)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class Order(Base):
    """One order of one SKU. ``client_key`` is the buyer's idempotency key: the same key
    never orders twice, and a replay returns the body first returned (built from what never
    changes)."""

    __tablename__ = "commerce_order"
    __table_args__ = (
        UniqueConstraint("user_id", "client_key"),
        Index("ix_commerce_order_status_expires", "status", "expires_at"),
        Index("ix_commerce_order_show_status", "show_id", "status"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "discount_cents >= 0 AND total_cents >= 0 AND total_cents = subtotal_cents - discount_cents",
            name="amounts",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="RESTRICT"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="RESTRICT"),
        index=True,
        info=personal(
            Category.COMMERCE,
            "orders the member placed; kept for tax and consumer law (电子商务法 art. 31)",
            retention="commerce",
            subject=True,
            erase=Erase.LEGAL_HOLD,
        ),
    )
    client_key: Mapped[str] = mapped_column(
        String(255),
        info=personal(
            Category.COMMERCE,
            "the member's app's idempotency key for an order",
            retention="commerce",
            erase=Erase.ANONYMISE,
        ),
    )
    request_hash: Mapped[str] = mapped_column(
        String(64), info=not_personal("a hash of the order request, for idempotent replays")
    )
    status: Mapped[str] = mapped_column(String(16), default="created")
    product_id: Mapped[int] = mapped_column(Integer)
    sku_id: Mapped[int] = mapped_column(Integer, index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_cents: Mapped[int] = mapped_column(BigInteger)
    subtotal_cents: Mapped[int] = mapped_column(BigInteger)
    discount_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    total_cents: Mapped[int] = mapped_column(BigInteger)
    live_price: Mapped[bool] = mapped_column(Boolean, default=False)  # bought at a live-only price
    show_id: Mapped[int | None] = mapped_column(Integer, default=None)
    room_id: Mapped[int | None] = mapped_column(Integer, default=None)
    pin_id: Mapped[int | None] = mapped_column(Integer, default=None)
    flash_sale_id: Mapped[int | None] = mapped_column(Integer, index=True, default=None)
    coupon_id: Mapped[int | None] = mapped_column(Integer, default=None)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    fulfilled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    refunded_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    cancel_reason: Mapped[str | None] = mapped_column(
        String(32),
        default=None,
        info=not_personal("a fixed code: why an order was cancelled (timeout, buyer, stock)"),
    )


class Payment(Base):
    """One attempt to pay an order through a provider; the success rate is paid / settled."""

    __tablename__ = "commerce_payment"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="RESTRICT"))
    order_id: Mapped[int] = mapped_column(
        ForeignKey("commerce_order.id", ondelete="RESTRICT"),
        index=True,
        info=personal(
            Category.FINANCIAL,
            "payments of the member's orders",
            retention="commerce",
            erase=Erase.LEGAL_HOLD,
            parent=True,
        ),
    )
    provider: Mapped[str] = mapped_column(String(32))
    provider_ref: Mapped[str | None] = mapped_column(
        String(128),
        unique=True,
        default=None,
        info=personal(
            Category.FINANCIAL,
            "the payment provider's reference, for reconciliation",
            retention="commerce",
            erase=Erase.LEGAL_HOLD,
        ),
    )
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    # pending | paid | failed | refund_due (paid after the order was cancelled)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    show_id: Mapped[int | None] = mapped_column(Integer, index=True, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class FunnelStep(Base):
    """impression → click → add → order → pay, per show and product. ``dedupe`` makes a
    step count once (one impression per viewer per card)."""

    __tablename__ = "commerce_funnel_step"
    __table_args__ = (Index("ix_commerce_funnel_show_kind", "show_id", "kind"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer)
    show_id: Mapped[int | None] = mapped_column(Integer, default=None)
    product_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(12))  # impression | click | add | order | pay
    user_id: Mapped[int | None] = mapped_column(
        Integer,
        default=None,
        info=personal(
            Category.ACTIVITY,
            "the shopping funnel: who saw, clicked and bought a card",
            retention="analytics_raw",
            subject=True,
            erase=Erase.ANONYMISE,
        ),
    )
    viewer: Mapped[str | None] = mapped_column(
        String(64),
        default=None,
        info=personal(
            Category.DEVICE,
            "the anonymous viewer of a funnel step",
            retention="analytics_raw",
            erase=Erase.ANONYMISE,
            alias=True,
        ),
    )
    dedupe: Mapped[str] = mapped_column(
        String(160),
        unique=True,
        info=personal(
            Category.ACTIVITY,
            "deduplication key of a funnel step; embeds the viewer",
            retention="analytics_raw",
            erase=Erase.ANONYMISE,
        ),
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
