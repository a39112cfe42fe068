"""Points tables: progress (XP, level, streak), the daily points, check-ins, point lots
(expiry), the points store and its redemptions, badges and memberships. Every amount is an
integer; the points themselves move through the ledger (``economy.models``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from livecircle.kit.clock import utcnow
from livecircle.kit.db import Base, UtcDateTime
from livecircle.privacy.datamap import Category, Erase, not_personal, personal


class Progress(Base):
    """A user's standing: XP from earned points, the check-in streak and its freezes."""

    __tablename__ = "economy_progress"
    __table_args__ = (
        CheckConstraint("xp >= 0 AND points_earned >= 0", name="xp_not_negative"),
        CheckConstraint("streak >= 0 AND best_streak >= 0 AND freezes >= 0", name="streak_not_negative"),
    )

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("identity_tenant.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        primary_key=True,
        info=personal(Category.ACTIVITY, "the member's level, XP and check-in streak", subject=True),
    )
    xp: Mapped[int] = mapped_column(BigInteger, default=0)
    points_earned: Mapped[int] = mapped_column(BigInteger, default=0)
    streak: Mapped[int] = mapped_column(Integer, default=0)
    best_streak: Mapped[int] = mapped_column(Integer, default=0)
    freezes: Mapped[int] = mapped_column(Integer, default=0)
    last_checkin: Mapped[date | None] = mapped_column(Date, default=None)


class PointsDaily(Base):
    """Points a user earned from one rule in one (UTC) day: the rule's daily cap holds here."""

    __tablename__ = "economy_points_daily"
    __table_args__ = (CheckConstraint("earned >= 0", name="earned_not_negative"),)

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("identity_tenant.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        primary_key=True,
        info=personal(
            Category.ACTIVITY,
            "points earned per rule and day, for daily caps",
            retention="activity",
            subject=True,
        ),
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    rule: Mapped[str] = mapped_column(String(16), primary_key=True)
    earned: Mapped[int] = mapped_column(BigInteger, default=0)


class CheckIn(Base):
    """One daily check-in (签到): one row per user and day."""

    __tablename__ = "economy_checkin"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("identity_tenant.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        primary_key=True,
        info=personal(Category.ACTIVITY, "the member's daily check-ins", retention="activity", subject=True),
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    points: Mapped[int] = mapped_column(Integer)
    streak: Mapped[int] = mapped_column(Integer)
    freezes_used: Mapped[int] = mapped_column(Integer, default=0)
    freeze_earned: Mapped[bool] = mapped_column(Boolean, default=False)
    transfer_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class PointLot(Base):
    """Earned points that expire together (only while expiry is on); spent oldest first."""

    __tablename__ = "economy_point_lot"
    __table_args__ = (
        Index("ix_economy_point_lot_owner_expiry", "tenant_id", "user_id", "expires_at"),
        CheckConstraint("remaining >= 0 AND remaining <= amount", name="remaining_in_range"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        info=personal(Category.FINANCIAL, "the member's points that expire together", subject=True),
    )
    amount: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    transfer_id: Mapped[int] = mapped_column(BigInteger)
    earned_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class StoreItem(Base):
    """An item of the points store (积分兑换); ``stock`` never goes below zero."""

    __tablename__ = "economy_store_item"
    __table_args__ = (
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("cost > 0", name="cost_positive"),
        CheckConstraint("per_user_limit IS NULL OR per_user_limit > 0", name="limit_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64), info=not_personal("the brand's points store"))
    description: Mapped[str] = mapped_column(
        String(500), default="", info=not_personal("the brand's points store")
    )
    kind: Mapped[str] = mapped_column(String(16))  # coupon | goods
    cost: Mapped[int] = mapped_column(BigInteger)  # points
    stock: Mapped[int] = mapped_column(Integer, default=0)
    per_user_limit: Mapped[int | None] = mapped_column(Integer, default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(
        JSON,
        default=dict,
        info=not_personal("what a store item grants (a coupon template), set by the brand"),
    )  # e.g. a coupon template code
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    sort: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Redemption(Base):
    """Points exchanged for a store item; fulfilment (a coupon, a parcel) happens elsewhere."""

    __tablename__ = "economy_redemption"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id", "key"),
        Index("ix_economy_redemption_item_user", "item_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        info=personal(
            Category.COMMERCE,
            "points the member exchanged for goods (kept like an order)",
            retention="commerce",
            subject=True,
            erase=Erase.LEGAL_HOLD,
        ),
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("economy_store_item.id", ondelete="RESTRICT"))
    key: Mapped[str] = mapped_column(
        String(255),
        info=personal(
            Category.COMMERCE,
            "the member's app's idempotency key for a redemption",
            retention="commerce",
            erase=Erase.ANONYMISE,
        ),
    )
    kind: Mapped[str] = mapped_column(String(16))
    cost: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(
        JSON,
        default=dict,
        info=personal(
            Category.COMMERCE,
            "what the member received (a coupon, delivery details)",
            retention="commerce",
            erase=Erase.ANONYMISE,
        ),
    )
    transfer_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class BadgeRule(Base):
    """An operator's badge: awarded once when the user's ``stat`` reaches ``threshold``."""

    __tablename__ = "economy_badge_rule"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        CheckConstraint("threshold >= 0", name="threshold_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(32), info=not_personal("the brand's badge code"))
    name: Mapped[str] = mapped_column(String(32), info=not_personal("the brand's badge name"))
    icon: Mapped[str] = mapped_column(String(16), default="🏅")
    stat: Mapped[str] = mapped_column(String(32))  # checkin_streak | gifts_sent | level | xp | ...
    threshold: Mapped[int] = mapped_column(BigInteger)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class UserBadge(Base):
    __tablename__ = "economy_user_badge"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        primary_key=True,
        info=personal(Category.ACTIVITY, "badges the member earned", subject=True),
    )
    badge_id: Mapped[int] = mapped_column(
        ForeignKey("economy_badge_rule.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"))
    awarded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Membership(Base):
    """Paid premium (高级会员) until ``premium_until``; each purchase extends it."""

    __tablename__ = "economy_membership"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("identity_tenant.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        primary_key=True,
        info=personal(Category.COMMERCE, "the member's paid premium period", subject=True),
    )
    premium_until: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
