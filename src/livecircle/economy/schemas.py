"""Economy schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from livecircle.kit.schemas import Schema


class WalletOut(Schema):
    coins: int
    points: int
    earned_coins: int = Field(description="A host's share of the gifts received, in coins")
    spent_today: int = Field(description="Coins tipped today (UTC), counted against the daily cap")
    daily_cap: int
    daily_reminder: int


class HistoryItem(Schema):
    id: int
    kind: str
    subject: str | None
    room_id: int | None
    currency: str
    account: str
    amount: int = Field(description="Signed: what this movement did to the account")
    created_at: datetime


class GiftOut(Schema):
    id: int
    name: str
    price: int
    currency: str
    effect: str
    icon: str
    combo: bool


class GiftIn(Schema):
    name: str = Field(min_length=1, max_length=32)
    price: int = Field(ge=1, le=10_000_000)
    currency: Literal["coin", "point"] = "coin"
    effect: Literal["float", "banner", "fullscreen"] = "float"
    icon: str = Field(default="🎁", min_length=1, max_length=16)


class GiftSendIn(Schema):
    gift_id: int = Field(ge=1, le=2**31 - 1)
    count: int = Field(default=1, ge=1, le=999)


class GiftSent(Schema):
    """The body of a gift send, replayed unchanged for a repeated idempotency key."""

    transfer_id: int
    gift: dict[str, Any]
    count: int
    currency: str
    amount: int
    host_share: int
    balance: int
    spent_today: int
    reminder: dict[str, int] | None


class TopUpIn(Schema):
    coins: int = Field(ge=1, le=10_000_000)


class TopUpOut(Schema):
    id: int
    coins: int
    amount_cents: int
    provider: str
    status: str
    pay_url: str | None = None
    created_at: datetime
    settled_at: datetime | None


class SandboxPayIn(Schema):
    outcome: Literal["success", "failure"] = "success"
    delay_ms: int = Field(default=0, ge=0, le=60_000)


class ContributorOut(Schema):
    rank: int
    user_id: int
    display_name: str
    total: int
