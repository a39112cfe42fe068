"""Interaction schemas."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from livecircle.kit.schemas import Schema


class ChatIn(Schema):
    text: str = Field(min_length=1, max_length=2000)


class ChatOut(Schema):
    id: int
    room_id: int
    show_id: int | None
    user_id: int
    display_name: str
    text: str
    created_at: datetime


def chat_event(message: ChatOut) -> dict[str, object]:
    """The realtime event for one chat line (see docs/realtime.md)."""
    return {"type": "chat", **message.model_dump(mode="json")}
