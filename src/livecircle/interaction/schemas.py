"""Interaction schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from livecircle.kit.schemas import Schema


class ChatIn(Schema):
    text: str = Field(min_length=1, max_length=2000)
    reply_to: int | None = Field(default=None, ge=1, le=2**53)


class ChatOut(Schema):
    id: int
    room_id: int
    show_id: int | None
    user_id: int
    display_name: str
    text: str
    kind: str = "chat"
    badge: str | None = None
    reply_to_id: int | None = None
    mentions: list[int] = Field(default_factory=list)
    created_at: datetime


class ChatPosted(Schema):
    status: str = Field(description="visible: broadcast now; held: waiting for a moderator")
    message: ChatOut


class PolicyIn(Schema):
    mode: Literal["open", "members", "followers"] | None = None
    slow_mode_seconds: int | None = Field(default=None, ge=0, le=3600)
    min_account_age_minutes: int | None = Field(default=None, ge=0, le=60 * 24 * 90)


class PolicyOut(Schema):
    room_id: int
    mode: str
    slow_mode_seconds: int
    min_account_age_minutes: int
    pinned_message_id: int | None


class PinIn(Schema):
    message_id: int | None = Field(default=None, ge=1, le=2**53, description="null unpins")


class AutoReplyIn(Schema):
    match: Literal["contains", "exact"] = "contains"
    keyword: str = Field(min_length=1, max_length=50)
    reply: str = Field(min_length=1, max_length=500)
    cooldown_seconds: int = Field(default=30, ge=0, le=86400)
    enabled: bool = True


class AutoReplyOut(Schema):
    id: int
    room_id: int
    match: str
    keyword: str
    reply: str
    cooldown_seconds: int
    enabled: bool


class HeldOut(Schema):
    id: int
    room_id: int
    user_id: int
    display_name: str
    text: str
    created_at: datetime


class LikeIn(Schema):
    count: int = Field(default=1, ge=1, le=100)


def chat_event(message: ChatOut) -> dict[str, Any]:
    """The realtime event for one chat line (see docs/realtime.md)."""
    return {"type": "chat", **message.model_dump(mode="json")}


def chat_event_from_row(row: Any) -> dict[str, Any]:
    return chat_event(ChatOut.model_validate(row))


# Left out of a chat line on the wire (docs/realtime.md): what a client derives (the socket is
# the room's; the time is in the time-ordered id) and the optional fields that are empty.
DERIVED_ON_THE_WIRE = frozenset({"room_id", "show_id", "created_at"})
ONLY_WHEN_SET = frozenset({"badge", "mentions", "reply_to", "pri"})


def chat_on_the_wire(event: dict[str, Any]) -> dict[str, Any]:
    """A chat event as sockets receive it: a line is sent to every viewer of the room, and these
    fields were ~30 % of its bytes."""
    return {
        key: value
        for key, value in event.items()
        if key not in DERIVED_ON_THE_WIRE
        and not (key in ONLY_WHEN_SET and not value)
        and not (key == "kind" and value == "chat")
    }
