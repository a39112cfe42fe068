"""Invite tables: one record per invited sign-up, the opens of invite links, and the IPs and
devices each user was recently seen with (what the self-invite rule compares against)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from livecircle.kit.clock import utcnow
from livecircle.kit.db import Base, UtcDateTime
from livecircle.privacy.datamap import Category, Erase, not_personal, personal

STATUSES = ("pending", "vested", "rejected")


class Invite(Base):
    """``pending`` until the reward vests (``vested``) or a rule refuses it (``rejected`` with
    ``reason``); the sign-up itself always stands. One per invitee, enforced by the key."""

    __tablename__ = "growth_invite"
    __table_args__ = (
        Index("ix_growth_invite_inviter_status", "inviter_id", "status"),
        Index("ix_growth_invite_board", "tenant_id", "status", "vested_at"),
        Index("ix_growth_invite_ip_registered", "ip", "registered_at"),
        Index("ix_growth_invite_device_registered", "device", "registered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"))
    inviter_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        info=personal(
            Category.ACTIVITY,
            "who invited whom, for invite rewards",
            retention="activity",
            subject=True,
            erase=Erase.ANONYMISE,
        ),
    )
    invitee_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        unique=True,
        info=personal(
            Category.ACTIVITY,
            "the invited member's sign-up, for invite rewards",
            retention="activity",
            subject=True,
        ),
    )
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # The invitee's latest open of the inviter's link from the same device; None: code typed in.
    opened_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    ip: Mapped[str | None] = mapped_column(
        String(64),
        default=None,
        info=personal(
            Category.DEVICE,
            "the invitee's IP, against invite fraud",
            retention="activity",
            erase=Erase.ANONYMISE,
        ),
    )
    device: Mapped[str | None] = mapped_column(
        String(64),
        default=None,
        info=personal(
            Category.DEVICE,
            "the invitee's device id, against invite fraud",
            retention="activity",
            erase=Erase.ANONYMISE,
            alias=True,
        ),
    )
    status: Mapped[str] = mapped_column(String(12), default="pending")
    reason: Mapped[str | None] = mapped_column(
        String(32), default=None, info=not_personal("a fixed code: why an invite was rejected")
    )  # see docs/invites.md
    evidence: Mapped[str | None] = mapped_column(String(64), default=None)  # ip | device | account | ...
    first_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("commerce_order.id", ondelete="SET NULL"), default=None
    )
    first_order_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    vested_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    vested_by: Mapped[str | None] = mapped_column(
        String(8), default=None, info=not_personal("a fixed code: watch | order")
    )  # watch | order
    rejected_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    reward_kind: Mapped[str | None] = mapped_column(String(8), default=None)  # points | coupon
    reward_ref: Mapped[str | None] = mapped_column(
        String(64), default=None, info=not_personal("the id of the reward's transfer or coupon")
    )  # transfer or coupon id


class InviteOpen(Base):
    """The latest time a device opened an inviter's link (``/i/{code}``), and how often."""

    __tablename__ = "growth_invite_open"
    __table_args__ = (UniqueConstraint("inviter_id", "device", name="uq_growth_invite_open_inviter_device"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inviter_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        info=personal(
            Category.ACTIVITY, "opens of the member's invite link", retention="activity", subject=True
        ),
    )
    device: Mapped[str] = mapped_column(
        String(64),
        info=personal(
            Category.DEVICE, "the device that opened an invite link", retention="activity", alias=True
        ),
    )
    ip: Mapped[str | None] = mapped_column(
        String(64),
        default=None,
        info=personal(Category.DEVICE, "the IP that opened an invite link", retention="activity"),
    )
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    opens: Mapped[int] = mapped_column(Integer, default=1)


class UserMark(Base):
    """An IP or device a user signed up, signed in or used the invite pages from."""

    __tablename__ = "growth_user_mark"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "value", name="uq_growth_user_mark_user_kind_value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        info=personal(
            Category.DEVICE,
            "IPs and devices the member used, against invite fraud",
            retention="activity",
            subject=True,
        ),
    )
    kind: Mapped[str] = mapped_column(String(8))  # ip | device
    value: Mapped[str] = mapped_column(
        String(64), info=personal(Category.DEVICE, "an IP or device id the member used", retention="activity")
    )
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
