"""Invite facts, released after commit (analytics and notifications may listen)."""

from __future__ import annotations

from dataclasses import dataclass

from livecircle.kit.events import DomainEvent


@dataclass(frozen=True, slots=True)
class InviteRecorded(DomainEvent):
    """An invited sign-up was attributed: ``status`` is pending, or rejected with ``reason``."""

    tenant_id: int
    invite_id: int
    inviter_id: int
    invitee_id: int
    status: str
    reason: str | None


@dataclass(frozen=True, slots=True)
class InviteVested(DomainEvent):
    tenant_id: int
    invite_id: int
    inviter_id: int
    invitee_id: int
    trigger: str  # watch | order
    reward_kind: str  # points | coupon


@dataclass(frozen=True, slots=True)
class InviteRejected(DomainEvent):
    """A pending invite will never pay (a cap, or the reward could not be handed out)."""

    tenant_id: int
    invite_id: int
    inviter_id: int
    invitee_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class InviteOrderAttributed(DomainEvent):
    """The invitee's first paid order, within the window, counts for the inviter."""

    tenant_id: int
    invite_id: int
    inviter_id: int
    invitee_id: int
    order_id: int
