"""Facts the interaction domain emits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from livecircle.kit.events import DomainEvent


@dataclass(frozen=True, slots=True)
class ChatSent(DomainEvent):
    message_id: int
    tenant_id: int
    room_id: int
    show_id: int | None
    user_id: int
    display_name: str
    text: str
    created_at: datetime
