"""Ledger tables: accounts, transfers (one per idempotency key), entries; the gift catalogue;
top-ups; per-day spending. Every amount is an integer (coins, points, cents). Points,
check-ins, the points store, badges and memberships are in ``economy.points_models``."""

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


class Account(Base):
    """One account per owner, currency and kind.

    ``wallet`` accounts keep their balance in the row, updated in the same
    transaction as their entries; the database refuses a negative one. The
    other kinds (a host's ``earnings``, the platform's ``revenue``, the
    ``issuance`` that coins and points come from) are journal accounts:
    credited by many transfers at once, so their balance is the sum of their
    entries and no row becomes a hot spot.
    """

    __tablename__ = "economy_account"
    __table_args__ = (
        UniqueConstraint("tenant_id", "owner", "currency", "kind"),
        CheckConstraint("kind <> 'wallet' OR balance >= 0", name="wallet_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="RESTRICT"))
    owner: Mapped[str] = mapped_column(
        String(32),
        info=personal(
            Category.FINANCIAL,
            "whose ledger account it is (user:<id>)",
            retention="account",
            erase=Erase.ANONYMISE,
        ),
    )  # "user:<id>" or "platform"
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("identity_user.id", ondelete="RESTRICT"),
        index=True,
        default=None,
        info=personal(
            Category.FINANCIAL,
            "the member's wallets and earnings (ledger, kept by law)",
            retention="account",
            subject=True,
            erase=Erase.LEGAL_HOLD,
        ),
    )
    currency: Mapped[str] = mapped_column(String(8))  # coin | point
    kind: Mapped[str] = mapped_column(String(16))  # wallet | earnings | revenue | issuance
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Transfer(Base):
    """One balanced change of the ledger. ``key`` is the caller's idempotency key: the same key
    never moves anything twice, and a replay returns ``result`` as first returned."""

    __tablename__ = "economy_transfer"
    __table_args__ = (
        UniqueConstraint("tenant_id", "key"),
        Index("ix_economy_transfer_show_kind", "show_id", "kind"),
        Index("ix_economy_transfer_room_kind", "room_id", "kind"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="RESTRICT"))
    key: Mapped[str] = mapped_column(
        String(255),
        info=personal(
            Category.FINANCIAL,
            "a transfer's idempotency key; some embed the member's id",
            retention="commerce",
            erase=Erase.ANONYMISE,
        ),
    )
    request_hash: Mapped[str] = mapped_column(
        String(64), info=not_personal("a hash of the request, for idempotent replays")
    )
    kind: Mapped[str] = mapped_column(String(16))  # topup | gift | grant | ...
    currency: Mapped[str] = mapped_column(String(8))
    amount: Mapped[int] = mapped_column(BigInteger)
    actor_id: Mapped[int | None] = mapped_column(
        Integer,
        index=True,
        default=None,
        info=personal(
            Category.FINANCIAL,
            "who moved coins or points (ledger, kept by law)",
            retention="commerce",
            subject=True,
            erase=Erase.LEGAL_HOLD,
        ),
    )
    # Where it happened (plain ids: the live domain sits above this one).
    room_id: Mapped[int | None] = mapped_column(Integer, default=None)
    show_id: Mapped[int | None] = mapped_column(Integer, default=None)
    subject: Mapped[str | None] = mapped_column(String(64), default=None)  # e.g. "gift:3"
    result: Mapped[dict[str, Any] | None] = mapped_column(
        JSON,
        default=None,
        info=personal(
            Category.FINANCIAL,
            "the answer a transfer gave (balances), replayed on retries",
            retention="commerce",
            erase=Erase.LEGAL_HOLD,
        ),
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Entry(Base):
    """One leg of a transfer: the legs of a transfer sum to zero."""

    __tablename__ = "economy_entry"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    transfer_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("economy_transfer.id", ondelete="RESTRICT"),
        index=True,
    )
    account_id: Mapped[int] = mapped_column(
        ForeignKey("economy_account.id", ondelete="RESTRICT"),
        index=True,
        info=personal(
            Category.FINANCIAL,
            "ledger legs on the member's accounts",
            retention="commerce",
            erase=Erase.LEGAL_HOLD,
            parent=True,
        ),
    )
    amount: Mapped[int] = mapped_column(BigInteger)


class DailySpend(Base):
    """Coins or points a user spent on tips in one (UTC) day: the daily cap holds in the database."""

    __tablename__ = "economy_daily_spend"
    __table_args__ = (CheckConstraint("spent >= 0", name="spent_not_negative"),)

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("identity_tenant.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        primary_key=True,
        info=personal(
            Category.FINANCIAL, "tips per day, for the daily cap", retention="activity", subject=True
        ),
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    currency: Mapped[str] = mapped_column(String(8), primary_key=True)
    spent: Mapped[int] = mapped_column(BigInteger, default=0)


class Gift(Base):
    __tablename__ = "economy_gift"
    __table_args__ = (CheckConstraint("price > 0", name="price_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(32), info=not_personal("the brand's gift catalogue"))
    price: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(8), default="coin")  # coin gifts; point tips
    effect: Mapped[str] = mapped_column(String(16), default="float")  # float | banner | fullscreen
    icon: Mapped[str] = mapped_column(String(16), default="🎁")
    combo: Mapped[bool] = mapped_column(Boolean, default=True)
    sort: Mapped[int] = mapped_column(Integer, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class TopUp(Base):
    """Coins bought with money through a payment provider; credited once, when paid."""

    __tablename__ = "economy_topup"
    __table_args__ = (
        UniqueConstraint("user_id", "client_key"),
        CheckConstraint("coins > 0 AND amount_cents > 0", name="positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="RESTRICT"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="RESTRICT"),
        index=True,
        info=personal(
            Category.FINANCIAL,
            "coins the member bought (kept by law)",
            retention="commerce",
            subject=True,
            erase=Erase.LEGAL_HOLD,
        ),
    )
    client_key: Mapped[str] = mapped_column(
        String(255),
        info=personal(
            Category.FINANCIAL,
            "the member's app's idempotency key for a top-up",
            retention="commerce",
            erase=Erase.ANONYMISE,
        ),
    )
    coins: Mapped[int] = mapped_column(BigInteger)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
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
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | paid | failed
    transfer_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
