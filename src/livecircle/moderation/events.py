"""Facts the moderation domain emits (released after commit)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from livecircle.kit.events import DomainEvent


@dataclass(frozen=True, slots=True)
class UserSanctioned(DomainEvent):
    tenant_id: int
    room_id: int
    user_id: int
    kind: str  # mute | ban | unmute | unban
    until: datetime | None


@dataclass(frozen=True, slots=True)
class WordListChanged(DomainEvent):
    tenant_id: int
