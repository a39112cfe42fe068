"""Lottery schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, Field, model_validator

MAX_WINNERS = 1000


class KeywordRule(BaseModel):
    kind: Literal["keyword"]
    keyword: str = Field(min_length=1, max_length=50)


class FollowsRule(BaseModel):
    kind: Literal["follows"]


class MemberRule(BaseModel):
    kind: Literal["member"]


class TierRule(BaseModel):
    kind: Literal["tier"]
    tier: Literal["follower", "participant", "premium"]


class WatchRule(BaseModel):
    kind: Literal["watch"]
    minutes: int = Field(ge=1, le=600)


class InvitesRule(BaseModel):
    kind: Literal["invites"]
    count: int = Field(ge=1, le=1000)


Rule = Annotated[
    KeywordRule | FollowsRule | MemberRule | TierRule | WatchRule | InvitesRule, Field(discriminator="kind")
]


class PrizeIn(BaseModel):
    kind: Literal["points", "gift", "coupon", "physical"]
    name: str = Field(min_length=1, max_length=100)
    quantity: int = Field(ge=1, le=MAX_WINNERS)
    amount: int = Field(default=0, ge=0, le=10_000_000, description="points, or coins for a gift prize")
    coupon_template_id: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _fits(self) -> Self:
        if self.kind in ("points", "gift") and self.amount < 1:
            raise ValueError(f"a {self.kind} prize needs an amount")
        if (self.kind == "coupon") != (self.coupon_template_id is not None):
            raise ValueError("a coupon prize, and only it, names a coupon_template_id")
        return self


class LotteryCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    rules: list[Rule] = Field(default_factory=list, max_length=6)
    prizes: list[PrizeIn] = Field(min_length=1, max_length=10)
    duration_s: int | None = Field(default=300, ge=10, le=86_400, description="None: the host draws")
    launch: bool = False
    offset_s: int | None = Field(default=None, ge=0, le=86_400)

    @model_validator(mode="after")
    def _shape(self) -> Self:
        kinds = [r.kind for r in self.rules]
        if len(set(kinds)) != len(kinds):
            raise ValueError("each kind of rule at most once")
        if sum(p.quantity for p in self.prizes) > MAX_WINNERS:
            raise ValueError(f"at most {MAX_WINNERS} winners")
        if self.launch and self.offset_s is not None:
            raise ValueError("launch now or at an offset, not both")
        return self


class AddressIn(BaseModel):
    name: str = Field(min_length=1, max_length=50)
    phone: str = Field(min_length=5, max_length=20, pattern=r"^\+?[0-9 -]+$")
    address: str = Field(min_length=5, max_length=300)


class ShipIn(BaseModel):
    note: str = Field(default="", max_length=200)


class LotteryOut(BaseModel):
    id: int
    room_id: int
    show_id: int | None
    title: str
    status: str
    rules: list[dict[str, Any]]
    prizes: list[dict[str, Any]]
    duration_s: int | None
    opened_at: datetime | None
    draw_at: datetime | None
    drawn_at: datetime | None
    seed_hash: str | None
    list_hash: str | None
    entrants: int | None
    entries: int
    winners: list[dict[str, Any]]
    me: dict[str, Any] | None = None
    server_now: datetime


class AuditOut(BaseModel):
    lottery_id: int
    title: str
    status: str
    algorithm: str
    seed_hash: str | None
    seed: str | None
    list_hash: str | None
    tickets: list[str]
    winners: list[dict[str, Any]]
    script_url: str
