"""Live tables: rooms, shows and recordings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from livecircle.kit.clock import utcnow
from livecircle.kit.db import Base, UtcDateTime
from livecircle.privacy.datamap import Category, Erase, not_personal, personal


def stream_name_for(room_id: int) -> str:
    """The room's public media name: HLS paths and nginx use it, never the secret key."""
    return f"r{room_id}"


def room_id_from_stream_name(name: str) -> int | None:
    digits = name[1:]
    return int(digits) if name.startswith("r") and digits.isdigit() and len(digits) < 10 else None


class Room(Base):
    __tablename__ = "live_room"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id"),
        index=True,
        info=personal(Category.ACTIVITY, "which host runs a room", subject=True, erase=Erase.ANONYMISE),
    )
    title: Mapped[str] = mapped_column(
        String(120), info=not_personal("a room's public title, the brand's channel")
    )
    description: Mapped[str] = mapped_column(
        Text, default="", info=not_personal("a room's public description, the brand's channel")
    )
    visibility: Mapped[str] = mapped_column(String(16), default="public")
    # What the room is about (美妆, 数码, ...): viewers' interest tags come from it.
    category: Mapped[str] = mapped_column(String(40), default="")
    # None once revoked: nothing can publish until a new key is issued.
    stream_key: Mapped[str | None] = mapped_column(
        String(64),
        unique=True,
        default=None,
        info=not_personal("the room's secret stream key (the brand's, not a person's)"),
    )
    key_rotated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    @property
    def stream_name(self) -> str:
        return stream_name_for(self.id)


class Show(Base):
    __tablename__ = "live_show"

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("live_room.id", ondelete="CASCADE"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(
        String(120), info=not_personal("a show's public title, the brand's programme")
    )
    scenario: Mapped[str] = mapped_column(String(24), default="brand")
    status: Mapped[str] = mapped_column(String(16), default="scheduled", index=True)
    scheduled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    publishing: Mapped[bool] = mapped_column(Boolean, default=False)
    disconnected_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    publish_count: Mapped[int] = mapped_column(Integer, default=0)
    peak_viewers: Mapped[int] = mapped_column(Integer, default=0)
    like_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Recording(Base):
    """One recorded part of a show (a reconnect starts a new part); HLS VOD on disk."""

    __tablename__ = "live_recording"

    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("live_show.id", ondelete="CASCADE"), index=True)
    part: Mapped[int] = mapped_column(Integer)
    directory: Mapped[str] = mapped_column(String(500))
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Follow(Base):
    """A viewer follows a host (their rooms' owner): followers-only chat, reminders later."""

    __tablename__ = "live_follow"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        primary_key=True,
        info=personal(Category.ACTIVITY, "hosts the member follows", subject=True),
    )
    host_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        primary_key=True,
        info=personal(Category.ACTIVITY, "members following the host", subject=True),
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Watch(Base):
    """Seconds a signed-in viewer watched a show, credited while their room socket is open.
    ``credited_at`` keeps two tabs or two nodes from crediting the same interval twice."""

    __tablename__ = "live_watch"

    show_id: Mapped[int] = mapped_column(ForeignKey("live_show.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        primary_key=True,
        info=personal(
            Category.ACTIVITY, "how long the member watched each show", retention="activity", subject=True
        ),
    )
    seconds: Mapped[int] = mapped_column(Integer, default=0)
    credited_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
