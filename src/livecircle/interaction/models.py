"""Interaction tables: chat lines, each room's chat policy and keyword auto-replies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from livecircle.kit.clock import utcnow
from livecircle.kit.db import Base, UtcDateTime
from livecircle.privacy.datamap import Category, Erase, not_personal, personal

# Chat ids are made in the process (kit.ids) so a line is broadcast before its batch is
# written; BIGINT on PostgreSQL, the rowid INTEGER on SQLite (64-bit there already).
ChatId = BigInteger().with_variant(Integer(), "sqlite")


class ChatMessage(Base):
    __tablename__ = "interaction_chat_message"
    __table_args__ = (Index("ix_interaction_chat_message_room_created", "room_id", "id"),)

    id: Mapped[int] = mapped_column(ChatId, primary_key=True, autoincrement=False)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"))
    room_id: Mapped[int] = mapped_column(ForeignKey("live_room.id", ondelete="CASCADE"))
    show_id: Mapped[int | None] = mapped_column(ForeignKey("live_show.id", ondelete="SET NULL"), index=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        index=True,
        info=personal(
            Category.CONTENT, "chat the member sent in live rooms", retention="content", subject=True
        ),
    )
    display_name: Mapped[str] = mapped_column(
        String(64),
        info=personal(Category.CONTENT, "the member's name as shown with a chat line", retention="content"),
    )
    text: Mapped[str] = mapped_column(
        String(2000), info=personal(Category.CONTENT, "a chat line", retention="content")
    )
    # chat | auto_reply
    kind: Mapped[str] = mapped_column(String(16), default="chat")
    # visible | held (waiting for review) | blocked | rejected | deleted
    status: Mapped[str] = mapped_column(String(16), default="visible")
    badge: Mapped[str | None] = mapped_column(String(16), default=None)
    reply_to_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    mentions: Mapped[list[int]] = mapped_column(
        JSON,
        default=list,
        info=personal(
            Category.CONTENT, "members a chat line mentions", retention="content", erase=Erase.ANONYMISE
        ),
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class RoomChatPolicy(Base):
    """How chat works in one room; absent means the defaults (open, no slow mode)."""

    __tablename__ = "interaction_room_policy"

    room_id: Mapped[int] = mapped_column(ForeignKey("live_room.id", ondelete="CASCADE"), primary_key=True)
    # open | members (members of the room's tenant) | followers (of the host)
    mode: Mapped[str] = mapped_column(String(16), default="open")
    slow_mode_seconds: Mapped[int] = mapped_column(Integer, default=0)
    min_account_age_minutes: Mapped[int] = mapped_column(Integer, default=0)
    pinned_message_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class AutoReply(Base):
    """A keyword rule: a matching chat line gets ``reply`` from the room's assistant."""

    __tablename__ = "interaction_auto_reply"

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("live_room.id", ondelete="CASCADE"), index=True)
    match: Mapped[str] = mapped_column(String(16), default="contains")  # contains | exact
    keyword: Mapped[str] = mapped_column(String(50))
    reply: Mapped[str] = mapped_column(String(500))
    cooldown_seconds: Mapped[int] = mapped_column(Integer, default=30)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Mention(Base):
    """A user named with @ in a chat line: their in-app notification."""

    __tablename__ = "interaction_mention"

    message_id: Mapped[int] = mapped_column(ChatId, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        primary_key=True,
        info=personal(
            Category.ACTIVITY, "chat lines mentioning the member", retention="activity", subject=True
        ),
    )
    room_id: Mapped[int] = mapped_column(ForeignKey("live_room.id", ondelete="CASCADE"))
    seen: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ShowStep(Base):
    """Run-of-show: one step of a show's script (docs/runofshow.md). Timed (at T+``offset_s``)
    or conditional (when ``metric comparator threshold`` over the last ``window_s`` has held
    for ``hold_s``, not before T+``offset_s``); its action launches a tool in the live show.
    Bound to ``show_id``, or to the room's next show while ``show_id`` is None."""

    __tablename__ = "interaction_show_step"
    __table_args__ = (Index("ix_interaction_show_step_show_status", "show_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"))
    room_id: Mapped[int] = mapped_column(ForeignKey("live_room.id", ondelete="CASCADE"), index=True)
    # The action: poll | lottery | pin | flash_sale | coupon | community | cue
    tool: Mapped[str] = mapped_column(String(12))
    # What it acts on: the poll, lottery, product (pin), SKU (flash sale), coupon template or
    # community; 0 when the step carries its own content (a poll or lottery spec, a cue).
    tool_id: Mapped[int] = mapped_column(Integer)
    offset_s: Mapped[int] = mapped_column(Integer)  # timed: when; conditional: not before
    kind: Mapped[str] = mapped_column(String(12), default="timed", server_default="timed")
    label: Mapped[str] = mapped_column(
        String(80), default="", server_default="", info=not_personal("a host's name for a step of the script")
    )
    params: Mapped[dict[str, Any] | None] = mapped_column(
        JSON, default=None, info=not_personal("what a step launches: prices, a poll's questions, a cue")
    )
    metric: Mapped[str | None] = mapped_column(String(40), default=None)
    comparator: Mapped[str | None] = mapped_column(String(2), default=None)
    threshold: Mapped[float | None] = mapped_column(Float, default=None)
    window_s: Mapped[int] = mapped_column(Integer, default=60, server_default="60")
    hold_s: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The judge's latest look at a conditional step, and since when its condition holds.
    seen_value: Mapped[float | None] = mapped_column(Float, default=None)
    seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    holding_since: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    # pending (waiting for its show) | scheduled (armed in the live show) | firing (claimed, in
    # the claiming transaction only) | fired | skipped | failed | missed (the show ended first)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    show_id: Mapped[int | None] = mapped_column(ForeignKey("live_show.id", ondelete="SET NULL"), default=None)
    fired_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    fired_by: Mapped[str | None] = mapped_column(String(12), default=None)  # timer | condition | host
    fired_by_user: Mapped[int | None] = mapped_column(
        ForeignKey("identity_user.id", ondelete="SET NULL"),
        default=None,
        info=personal(
            Category.ACTIVITY,
            "which host fired or skipped a step of a show's script by hand",
            retention="activity",
            subject=True,
            erase=Erase.ANONYMISE,
        ),
    )
    result: Mapped[dict[str, Any] | None] = mapped_column(
        JSON, default=None, info=not_personal("what a fired step made: ids of a pin, sale, poll or lottery")
    )
    note: Mapped[str | None] = mapped_column(
        String(200), default=None, info=not_personal("why a planned step of a show failed (a system message)")
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
