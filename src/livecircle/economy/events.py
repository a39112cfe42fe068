"""Facts the economy emits (after commit); higher layers broadcast or count them."""

from __future__ import annotations

from dataclasses import dataclass

from livecircle.kit.events import DomainEvent


@dataclass(frozen=True, slots=True)
class CoinsToppedUp(DomainEvent):
    tenant_id: int
    user_id: int
    topup_id: int
    coins: int
    amount_cents: int
