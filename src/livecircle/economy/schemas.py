"""Economy schemas."""

from __future__ import annotations

from datetime import date, datetime
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
    enabled: bool


class GiftPatch(Schema):
    """An operator's change to a catalogue gift; fields left out stay as they are."""

    price: int | None = Field(default=None, ge=1, le=10_000_000)
    enabled: bool | None = None
    sort: int | None = Field(default=None, ge=0, le=10_000)


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


# ---- points, check-in, store, levels, memberships ----


class EarnTodayOut(Schema):
    rule: str
    points: int | None = Field(description="Points per earning (None for check-in: it depends on the streak)")
    earned: int = Field(description="Points earned from this rule today (UTC)")
    daily_cap: int | None


class ExpiringOut(Schema):
    day: date
    points: int


class PointsOut(Schema):
    balance: int
    today: list[EarnTodayOut]
    expiry_days: int | None = Field(description="Earned points expire after this many days (None: never)")
    expiring: list[ExpiringOut] = Field(description="Points expiring in the coming days, per day")


class ShareIn(Schema):
    target: str = Field(min_length=1, max_length=64, description='What was shared, e.g. "room:12"')


class EarnedOut(Schema):
    rule: str
    points: int
    balance: int
    earned_today: int
    replayed: bool


class CheckInOut(Schema):
    day: date
    points: int
    streak: int
    freezes_used: int
    freeze_earned: bool
    created: bool = Field(default=True, description="False: already checked in today, this is that check-in")


class CheckInStatusOut(Schema):
    streak: int = Field(description="Current streak; 0 when missed days broke it")
    best_streak: int
    freezes: int
    freeze_max: int
    freeze_price: int = Field(description="Points one more freeze costs")
    checked_in_today: bool
    last_checkin: date | None
    today_points: int = Field(description="Points today's check-in paid, or would pay")


class FreezesOut(Schema):
    freezes: int


class StoreItemIn(Schema):
    name: str = Field(min_length=1, max_length=64)
    description: str = Field(default="", max_length=500)
    kind: Literal["coupon", "goods"]
    cost: int = Field(ge=1, le=100_000_000)
    stock: int = Field(ge=0, le=2**31 - 1)
    per_user_limit: int | None = Field(default=None, ge=1, le=1_000_000)
    payload: dict[str, Any] = Field(default_factory=dict, description="e.g. a coupon template code")
    sort: int = 0
    enabled: bool = True


class StoreItemUpdate(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=64)
    description: str | None = Field(default=None, max_length=500)
    cost: int | None = Field(default=None, ge=1, le=100_000_000)
    add_stock: int = Field(default=0, ge=-(2**31 - 1), le=2**31 - 1, description="Relative change of stock")
    per_user_limit: int | None = Field(default=None, ge=1, le=1_000_000)
    payload: dict[str, Any] | None = None
    sort: int | None = None
    enabled: bool | None = None


class StoreItemOut(Schema):
    id: int
    name: str
    description: str
    kind: str
    cost: int
    stock: int
    per_user_limit: int | None
    payload: dict[str, Any]
    enabled: bool
    sort: int


class RedemptionOut(Schema):
    id: int
    item_id: int
    kind: str
    cost: int
    payload: dict[str, Any]
    created_at: datetime


class RedeemedOut(Schema):
    redemption: RedemptionOut
    balance: int
    replayed: bool


class BadgeOut(Schema):
    code: str
    name: str
    icon: str
    awarded_at: datetime


class LevelOut(Schema):
    xp: int
    level: int
    level_xp: int = Field(description="XP at which the current level began")
    next_level_xp: int | None = Field(description="XP needed for the next level (None at the top)")
    tier: str = Field(description="follower (新关注者) | participant (参与者) | premium (高级会员)")
    premium_until: datetime | None = Field(description="End of a running paid membership")
    badges: list[BadgeOut]
    privileges: list[str]
    chat_badge: dict[str, Any] | None


BadgeStat = Literal["xp", "level", "points_earned", "checkin_streak", "gifts_sent", "coins_gifted"]


class BadgeRuleIn(Schema):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1, max_length=32)
    icon: str = Field(default="🏅", min_length=1, max_length=16)
    stat: BadgeStat
    threshold: int = Field(ge=0, le=10**12)
    enabled: bool = True


class BadgeRuleUpdate(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=32)
    icon: str | None = Field(default=None, min_length=1, max_length=16)
    threshold: int | None = Field(default=None, ge=0, le=10**12)
    enabled: bool | None = None


class BadgeRuleOut(Schema):
    id: int
    code: str
    name: str
    icon: str
    stat: str
    threshold: int
    enabled: bool


class MembershipIn(Schema):
    periods: int = Field(default=1, ge=1, le=12, description="How many paid periods of premium")


class MembershipOut(Schema):
    premium_until: datetime
    coins: int
    days: int
    balance: int
    replayed: bool
