"""Community facts, released after commit (analytics and growth subscribe)."""

from __future__ import annotations

from dataclasses import dataclass

from livecircle.kit.events import DomainEvent


@dataclass(frozen=True, slots=True)
class CommunityJoined(DomainEvent):
    tenant_id: int
    community_id: int
    user_id: int
    source: str  # room | invite | page
    show_id: int | None
    inviter_id: int | None


@dataclass(frozen=True, slots=True)
class CommunityLeft(DomainEvent):
    tenant_id: int
    community_id: int
    user_id: int


@dataclass(frozen=True, slots=True)
class CommunityCardPushed(DomainEvent):
    """The host pushed the group's join card into a live room."""

    tenant_id: int
    community_id: int
    room_id: int
    show_id: int
