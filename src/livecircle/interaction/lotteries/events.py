"""Lottery facts, released after commit."""

from __future__ import annotations

from dataclasses import dataclass

from livecircle.kit.events import DomainEvent


@dataclass(frozen=True, slots=True)
class LotteryOpened(DomainEvent):
    tenant_id: int
    room_id: int
    show_id: int
    lottery_id: int


@dataclass(frozen=True, slots=True)
class LotteryDrawn(DomainEvent):
    tenant_id: int
    room_id: int
    show_id: int | None
    lottery_id: int
    winner_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class LotteryWon(DomainEvent):
    """One per winner, for notifications (inbox, e-mail) in the growth domain."""

    tenant_id: int
    lottery_id: int
    user_id: int
    prize: str
    status: str
