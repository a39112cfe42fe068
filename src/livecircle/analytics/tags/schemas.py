"""Tag rule definitions (what an operator edits) and the API's shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator

from livecircle.kit.schemas import Schema

Kind = Literal["interest", "consumption"]
InterestSource = Literal["view_start", "product_click", "order_paid"]
Metric = Literal["spend_cents", "paid_orders", "median_order_cents"]
DEFAULT_WEIGHTS: dict[InterestSource, float] = {"view_start": 1.0, "product_click": 2.0, "order_paid": 3.0}
METRIC_LABELS: dict[str, tuple[str, str]] = {
    "spend_cents": ("支付金额", "paid amount"),
    "paid_orders": ("支付订单数", "paid orders"),
    "median_order_cents": ("订单金额中位数", "median order value"),
}


class InterestDefinition(Schema):
    """A category is an interest when Σ weight x times met reaches ``min_score`` in the window:
    shows watched in rooms of the category (``view_start``, once per show), its products'
    cards opened (``product_click``) and its products bought (``order_paid``)."""

    prefix: str = Field(default="兴趣", min_length=1, max_length=12)
    window_days: int = Field(default=30, ge=1, le=365)
    weights: dict[InterestSource, float] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    min_score: float = Field(default=1.0, ge=0)
    max_tags: int = Field(default=3, ge=1, le=10)

    @field_validator("weights")
    @classmethod
    def _weights(cls, value: dict[str, float]) -> dict[str, float]:
        if not value or any(weight < 0 for weight in value.values()):
            raise ValueError("weights must be non-negative and name at least one source")
        return value


class Band(Schema):
    min: int = Field(ge=0, description="lowest value of the band (cents, or orders)")
    tag: str = Field(min_length=1, max_length=60)


class ConsumptionDefinition(Schema):
    """``metric`` over the window cut into bands: an account gets the tag of the highest band
    whose ``min`` its value reaches (none below the lowest)."""

    metric: Metric
    window_days: int = Field(default=90, ge=1, le=365)
    bands: list[Band] = Field(min_length=1, max_length=10)

    @field_validator("bands")
    @classmethod
    def _ascending(cls, value: list[Band]) -> list[Band]:
        mins = [band.min for band in value]
        if mins != sorted(set(mins)):
            raise ValueError("bands must go up by min, each min once")
        return value


class TagRuleIn(Schema):
    name: str = Field(min_length=1, max_length=40)
    kind: Kind
    definition: dict[str, Any]
    enabled: bool = True


class TagRulePatch(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=40)
    definition: dict[str, Any] | None = None
    enabled: bool | None = None


class TagRuleOut(Schema):
    id: int
    name: str
    kind: str
    definition: dict[str, Any]
    enabled: bool
    updated_at: datetime


class UserTagOut(Schema):
    user_id: int
    tag: str
    kind: str
    reason: str
    reason_en: str
    computed_at: datetime


class TagRunOut(Schema):
    tags: int
    accounts: int
    skipped_opted_out: int
    computed_at: datetime


class CoverageOut(Schema):
    viewers: int = Field(description="accounts with a view_start in the period that allow profiling")
    tagged: int = Field(description="of those, accounts carrying at least one tag")
    coverage: float | None
    target: float
    opted_out: int = Field(description="viewers in the period who opted out (not counted above)")
    days: int
    last_run_at: datetime | None


class ProfilingIn(Schema):
    profiling_opt_out: bool


class MyTagsOut(Schema):
    profiling_opt_out: bool
    tags: list[UserTagOut]


def parse_definition(kind: str, definition: dict[str, Any]) -> InterestDefinition | ConsumptionDefinition:
    """Validate a definition for its kind. Raises pydantic.ValidationError (a ValueError)."""
    if kind == "interest":
        return InterestDefinition.model_validate(definition)
    return ConsumptionDefinition.model_validate(definition)
