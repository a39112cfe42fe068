"""Interaction tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from livecircle.kit.clock import utcnow
from livecircle.kit.db import Base, UtcDateTime


class ChatMessage(Base):
    __tablename__ = "interaction_chat_message"
    __table_args__ = (Index("ix_interaction_chat_message_room_created", "room_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"))
    room_id: Mapped[int] = mapped_column(ForeignKey("live_room.id", ondelete="CASCADE"))
    show_id: Mapped[int | None] = mapped_column(ForeignKey("live_show.id", ondelete="SET NULL"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("identity_user.id", ondelete="CASCADE"), index=True)
    display_name: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
