"""Notification tables: the inbox, preferences, tenant webhook endpoints, show sign-ups
and the reminder planned for each scheduled show."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from livecircle.kit.clock import utcnow
from livecircle.kit.db import Base, UtcDateTime
from livecircle.privacy.datamap import Category, Erase, not_personal, personal


class Notification(Base):
    """One inbox entry. ``dedupe_key`` makes a notification idempotent per user."""

    __tablename__ = "growth_notification"
    __table_args__ = (
        UniqueConstraint("user_id", "dedupe_key", name="uq_growth_notification_user_dedupe"),
        Index("ix_growth_notification_user_newest", "user_id", "id"),
        Index("ix_growth_notification_user_unread", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        info=personal(Category.ACTIVITY, "the member's inbox", retention="activity", subject=True),
    )
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(
        String(200), info=personal(Category.ACTIVITY, "a notification to the member", retention="activity")
    )
    body: Mapped[str] = mapped_column(
        Text,
        default="",
        info=personal(Category.ACTIVITY, "a notification to the member", retention="activity"),
    )
    link: Mapped[str] = mapped_column(String(500), default="")
    dedupe_key: Mapped[str] = mapped_column(
        String(200), info=not_personal("deduplication key made of object ids (show, activity) and a time")
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class NotificationPreference(Base):
    """An explicit choice; a (kind, channel) without a row is on."""

    __tablename__ = "growth_notification_preference"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        primary_key=True,
        info=personal(
            Category.PREFERENCES, "which notifications the member wants, by which channel", subject=True
        ),
    )
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    enabled: Mapped[bool] = mapped_column(
        Boolean, info=personal(Category.PREFERENCES, "the member's choice for a kind and channel")
    )
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class WebhookEndpoint(Base):
    """Where a tenant's notifications are POSTed, signed with ``secret`` (an empty ``kinds``
    list means every kind)."""

    __tablename__ = "growth_webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    # Kept as is: the HMAC needs it. Shown once, when the endpoint is created.
    secret: Mapped[str] = mapped_column(String(128), info=not_personal("the brand's webhook signing secret"))
    kinds: Mapped[list[str]] = mapped_column(
        JSON, default=list, info=not_personal("which notification kinds the brand's endpoint gets")
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(
        String(200), default="", info=not_personal("an operator's note about the brand's endpoint")
    )
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("identity_user.id", ondelete="SET NULL"),
        info=personal(
            Category.ACTIVITY,
            "which operator added a webhook endpoint",
            retention="audit",
            subject=True,
            erase=Erase.ANONYMISE,
        ),
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ShowSignup(Base):
    """A viewer asked to be reminded of a scheduled show (预约)."""

    __tablename__ = "growth_show_signup"

    show_id: Mapped[int] = mapped_column(ForeignKey("live_show.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
        info=personal(
            Category.ACTIVITY, "shows the member asked to be reminded of", retention="activity", subject=True
        ),
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ShowReminderPlan(Base):
    """The reminder job planned for a show's current start time: a changed time is found by
    comparing ``starts_at`` with the show's, and ``job_key`` is what to cancel then."""

    __tablename__ = "growth_show_reminder_plan"

    show_id: Mapped[int] = mapped_column(ForeignKey("live_show.id", ondelete="CASCADE"), primary_key=True)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    job_key: Mapped[str] = mapped_column(String(255))
    planned_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
