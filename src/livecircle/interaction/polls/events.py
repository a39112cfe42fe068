"""Poll facts, released after commit."""

from __future__ import annotations

from dataclasses import dataclass

from livecircle.kit.events import DomainEvent


@dataclass(frozen=True, slots=True)
class PollOpened(DomainEvent):
    tenant_id: int
    room_id: int
    show_id: int
    poll_id: int


@dataclass(frozen=True, slots=True)
class PollVoted(DomainEvent):
    tenant_id: int
    room_id: int
    show_id: int | None
    poll_id: int
    user_id: int


@dataclass(frozen=True, slots=True)
class PollClosed(DomainEvent):
    tenant_id: int
    room_id: int
    show_id: int | None
    poll_id: int
