"""Identity facts, released after commit."""

from __future__ import annotations

from dataclasses import dataclass

from livecircle.kit.events import DomainEvent


@dataclass(frozen=True, slots=True)
class UserRegistered(DomainEvent):
    tenant_id: int
    user_id: int
    # Who brought the user (their code at sign-up), and where from: growth's invite rules use them.
    invited_by_id: int | None = None
    ip: str | None = None
    device: str | None = None


@dataclass(frozen=True, slots=True)
class UserSignedIn(DomainEvent):
    """A password sign-in, with the IP and device it came from (when the caller knows them)."""

    user_id: int
    ip: str | None = None
    device: str | None = None
