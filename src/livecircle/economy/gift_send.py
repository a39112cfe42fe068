"""What a gift send is, as the gift batcher sees it: the send, the job waiting for its batch,
how the coins split between sender, host and platform, and the rows committed batches have
seen exist."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from livecircle.config import EconomySettings
from livecircle.economy.ledger import AccountRef, Posted
from livecircle.kit.errors import AppError


@dataclass(frozen=True, slots=True)
class GiftSend:
    tenant_id: int
    user_id: int
    host_id: int
    gift_id: int
    count: int
    key: str
    room_id: int | None = None
    show_id: int | None = None

    def request(self) -> dict[str, Any]:
        """What the idempotency key stands for (hashed: the same key must carry the same)."""
        return {
            "op": "gift",
            "user": self.user_id,
            "gift": self.gift_id,
            "count": self.count,
            "host": self.host_id,
            "room": self.room_id,
        }


@dataclass(slots=True)
class Job:
    """One gift send waiting for its batch; ``outcome`` is what the batch decided for it."""

    send: GiftSend
    rules: EconomySettings
    future: asyncio.Future[Posted]
    digest: str = ""
    gift: Any = None  # the catalogue row
    total: int = 0
    legs: list[tuple[AccountRef, int]] = field(default_factory=list)
    outcome: Posted | AppError | None = None

    @property
    def claim(self) -> tuple[int, str]:
        return (self.send.tenant_id, self.send.key)

    @property
    def cap(self) -> int:
        return self.rules.daily_cap if self.gift.currency == "coin" else self.rules.daily_points_cap


SpendKey = tuple[int, int, str]  # tenant, user, currency (today)
KNOWN_ACCOUNTS_LIMIT = 200_000


@dataclass(slots=True)
class Seen:
    """Rows one batch found or created: worth remembering once it has committed."""

    accounts: dict[tuple[int, AccountRef], int] = field(default_factory=dict)
    spending: set[SpendKey] = field(default_factory=set)


@dataclass(slots=True)
class Known:
    """Rows committed batches have seen exist (accounts are never deleted; spending rows stay
    for their day), so a batch need not look for them or create them again."""

    accounts: dict[tuple[int, AccountRef], int] = field(default_factory=dict)
    spending: set[SpendKey] = field(default_factory=set)
    day: date | None = None

    def keep(self, seen: Seen) -> None:
        if len(self.accounts) > KNOWN_ACCOUNTS_LIMIT:
            self.accounts.clear()
        self.accounts.update(seen.accounts)
        self.spending |= seen.spending

    def spending_on(self, day: date) -> set[SpendKey]:
        if day != self.day:
            self.day, self.spending = day, set()
        return self.spending


def gift_legs(
    rules: EconomySettings, send: GiftSend, currency: str, total: int
) -> list[tuple[AccountRef, int]]:
    """The sender pays ``total``; the host gets their share, the platform the rest."""
    host_part = total * rules.host_share_percent // 100
    legs = [(AccountRef.wallet(send.user_id, currency), -total)]
    if host_part:
        legs.append((AccountRef.earnings(send.host_id, currency), host_part))
    if total - host_part:
        legs.append((AccountRef.revenue(currency), total - host_part))
    return legs
