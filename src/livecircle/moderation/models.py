"""Moderation tables: operator word lists, sanctions, reports and the action log.

Messages are referred to by id only: chat lives in ``interaction``, a layer above.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from livecircle.kit.clock import utcnow
from livecircle.kit.db import Base, UtcDateTime
from livecircle.privacy.datamap import Category, Erase, personal


class ModerationWord(Base):
    """One operator-managed entry; the tenant's filter is the default list plus these."""

    __tablename__ = "moderation_word"
    __table_args__ = (UniqueConstraint("tenant_id", "word"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"), index=True)
    word: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(16))  # block | mask | review
    category: Mapped[str] = mapped_column(String(32), default="custom")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class Sanction(Base):
    """A mute (with an end) or a ban (until lifted) of a user in a room."""

    __tablename__ = "moderation_sanction"
    __table_args__ = (Index("ix_moderation_sanction_room_user", "room_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"))
    room_id: Mapped[int] = mapped_column(ForeignKey("live_room.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        info=personal(Category.ACTIVITY, "mutes and bans of the member", retention="audit", subject=True),
    )
    kind: Mapped[str] = mapped_column(String(8))  # mute | ban
    until: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    reason: Mapped[str] = mapped_column(
        String(200),
        default="",
        info=personal(Category.ACTIVITY, "why a moderator muted or banned the member", retention="audit"),
    )
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("identity_user.id", ondelete="SET NULL"),
        info=personal(
            Category.ACTIVITY,
            "which moderator muted or banned",
            retention="audit",
            subject=True,
            erase=Erase.ANONYMISE,
        ),
    )
    lifted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Report(Base):
    """A viewer's report of a chat message, waiting for a moderator."""

    __tablename__ = "moderation_report"
    __table_args__ = (UniqueConstraint("message_id", "reporter_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"))
    room_id: Mapped[int] = mapped_column(ForeignKey("live_room.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int] = mapped_column(BigInteger)
    reporter_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        info=personal(Category.CONTENT, "chat lines the member reported", retention="content", subject=True),
    )
    reason: Mapped[str] = mapped_column(
        String(200),
        default="",
        info=personal(Category.CONTENT, "why the member reported a line", retention="content"),
    )
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | resolved
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ModerationLog(Base):
    """Every moderator action and every automatic verdict, append-only."""

    __tablename__ = "moderation_log"
    __table_args__ = (Index("ix_moderation_log_room", "room_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"))
    room_id: Mapped[int | None] = mapped_column(ForeignKey("live_room.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("identity_user.id", ondelete="SET NULL"),
        info=personal(
            Category.ACTIVITY, "which moderator acted", retention="audit", subject=True, erase=Erase.ANONYMISE
        ),
    )
    action: Mapped[str] = mapped_column(String(32))
    target_user_id: Mapped[int | None] = mapped_column(
        Integer,
        default=None,
        info=personal(
            Category.ACTIVITY,
            "whom a moderation action was about",
            retention="audit",
            subject=True,
            erase=Erase.ANONYMISE,
        ),
    )
    target_message_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    detail: Mapped[dict[str, Any]] = mapped_column(
        JSON,
        default=dict,
        info=personal(
            Category.ACTIVITY,
            "the facts of a moderation action (the line's text, the reason)",
            retention="audit",
            erase=Erase.ANONYMISE,
        ),
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
