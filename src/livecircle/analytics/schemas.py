"""Analytics API shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from livecircle.kit.schemas import Schema

EVENT_ID = r"^[A-Za-z0-9_.:-]{8,80}$"


class EventIn(Schema):
    event_id: str = Field(
        pattern=EVENT_ID, description="Unique per event: a retry with the same id is stored once"
    )
    type: str = Field(min_length=1, max_length=40)
    ts: datetime | None = Field(
        default=None, description="Operators' imports only; others get the server's time"
    )
    user_id: int | None = Field(default=None, ge=1, lt=2**31, description="Operators' imports only")
    room_id: int | None = Field(default=None, ge=1, lt=2**31)
    show_id: int | None = Field(default=None, ge=1, lt=2**31)
    amount: int | None = Field(default=None, ge=-(2**62), le=2**62)
    props: dict[str, Any] = Field(default_factory=dict)


class EventBatchIn(Schema):
    events: list[EventIn] = Field(min_length=1, max_length=500)


class EventBatchOut(Schema):
    accepted: int
    duplicates: int


class DashboardOut(Schema):
    show_id: int
    room_id: int
    status: str
    as_of: datetime
    figures: dict[str, Any]
    definitions: dict[str, str]
    alerts: list[dict[str, Any]]


class AlertRuleIn(Schema):
    name: str = Field(min_length=1, max_length=80)
    metric: str = Field(min_length=1, max_length=40)
    comparator: str = Field(pattern=r"^(<|<=|>|>=)$")
    threshold: float = Field(ge=-1e12, le=1e12)
    window_seconds: int = Field(default=120, ge=5, le=3600)
    cooldown_seconds: int = Field(default=300, ge=10, le=86_400)
    min_viewers: int = Field(default=5, ge=0, le=10_000_000)
    action: str = Field(default="", pattern=r"^(poll|coupon|lottery|)$")
    room_id: int | None = Field(default=None, ge=1, lt=2**31)
    webhook_url: str = Field(default="", max_length=500)
    enabled: bool = True


class AlertRulePatch(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=80)
    threshold: float | None = Field(default=None, ge=-1e12, le=1e12)
    window_seconds: int | None = Field(default=None, ge=5, le=3600)
    cooldown_seconds: int | None = Field(default=None, ge=10, le=86_400)
    min_viewers: int | None = Field(default=None, ge=0, le=10_000_000)
    action: str | None = Field(default=None, pattern=r"^(poll|coupon|lottery|)$")
    webhook_url: str | None = Field(default=None, max_length=500)
    enabled: bool | None = None


class AlertRuleOut(Schema):
    id: int
    room_id: int | None
    name: str
    metric: str
    comparator: str
    threshold: float
    window_seconds: int
    cooldown_seconds: int
    min_viewers: int
    action: str
    webhook_url: str
    webhook_secret: str
    enabled: bool
