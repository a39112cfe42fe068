"""Facts the economy emits (after commit); higher layers broadcast or count them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from livecircle.kit.events import DomainEvent


@dataclass(frozen=True, slots=True)
class CoinsToppedUp(DomainEvent):
    tenant_id: int
    user_id: int
    topup_id: int
    coins: int
    amount_cents: int


@dataclass(frozen=True, slots=True)
class PointsEarned(DomainEvent):
    tenant_id: int
    user_id: int
    rule: str  # checkin | chat | share | watch | invite | ...
    points: int


@dataclass(frozen=True, slots=True)
class StoreItemRedeemed(DomainEvent):
    """Points were exchanged for an item; commerce issues the coupon or ships the goods."""

    tenant_id: int
    user_id: int
    item_id: int
    redemption_id: int
    kind: str  # coupon | goods
    payload: dict[str, object]


@dataclass(frozen=True, slots=True)
class MembershipBought(DomainEvent):
    tenant_id: int
    user_id: int
    days: int
    coins: int
    premium_until: datetime
