"""Co-host facts, released after commit; ``tasks`` tells the room."""

from __future__ import annotations

from dataclasses import dataclass

from livecircle.kit.events import DomainEvent


@dataclass(frozen=True, slots=True)
class CohostRequestChanged(DomainEvent):
    """A request was made (applied, invited) or moved on (accepted, rejected, declined,
    removed, left, cancelled, ended). ``previous`` is None for a new request."""

    tenant_id: int
    room_id: int
    show_id: int
    request_id: int
    user_id: int
    display_name: str
    status: str
    previous: str | None
    source: str
