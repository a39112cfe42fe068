"""Facts the live domain emits (released after commit)."""

from __future__ import annotations

from dataclasses import dataclass

from livecircle.kit.events import DomainEvent


@dataclass(frozen=True, slots=True)
class ShowStarted(DomainEvent):
    tenant_id: int
    room_id: int
    show_id: int
    resumed: bool


@dataclass(frozen=True, slots=True)
class PublisherDisconnected(DomainEvent):
    tenant_id: int
    room_id: int
    show_id: int


@dataclass(frozen=True, slots=True)
class ShowEnded(DomainEvent):
    tenant_id: int
    room_id: int
    show_id: int


@dataclass(frozen=True, slots=True)
class ReplayReady(DomainEvent):
    tenant_id: int
    room_id: int
    show_id: int


@dataclass(frozen=True, slots=True)
class StreamKeyChanged(DomainEvent):
    """Rotated or revoked: whoever publishes with the old key must be kicked."""

    tenant_id: int
    room_id: int


@dataclass(frozen=True, slots=True)
class WatchCredited(DomainEvent):
    """Watch time was added for these viewers of a live show (growth vests invites on it)."""

    tenant_id: int
    room_id: int
    show_id: int
    user_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class HostFollowed(DomainEvent):
    """A viewer started following a host (from ``room_id``)."""

    tenant_id: int
    user_id: int
    host_id: int
    room_id: int
