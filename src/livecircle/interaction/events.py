"""Facts the interaction domain emits."""

from __future__ import annotations

from dataclasses import dataclass

from livecircle.kit.events import DomainEvent


@dataclass(frozen=True, slots=True)
class ChatPolicyChanged(DomainEvent):
    room_id: int
    change: str  # policy | pin | auto_reply


@dataclass(frozen=True, slots=True)
class ChatMessageRemoved(DomainEvent):
    """A visible line was deleted by a moderator: it disappears for every viewer."""

    room_id: int
    message_id: int


@dataclass(frozen=True, slots=True)
class ChatMessageApproved(DomainEvent):
    """A held line passed review and goes out now."""

    room_id: int
    message_id: int
