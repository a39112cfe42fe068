"""Planning schemas: topics, suggestions, planning a show, the calendar and the targets."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator

from livecircle.live.schemas import Scenario

TopicStatus = Literal["idea", "planned", "used"]
ShowCount = Annotated[int, Field(ge=0, le=1000)]
TargetValue = Annotated[float, Field(ge=0, le=1e12, allow_inf_nan=False)]
Tag = Annotated[str, Field(min_length=1, max_length=24)]


class TopicIn(BaseModel):
    title: str = Field(min_length=1, max_length=120)
    notes: str = Field(default="", max_length=4000)
    scenario: Scenario = Scenario.BRAND
    tags: list[Tag] = Field(default_factory=list, max_length=12)

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a topic needs a title")
        return value.strip()


class TopicPatch(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=120)
    notes: str | None = Field(default=None, max_length=4000)
    scenario: Scenario | None = None
    tags: list[Tag] | None = Field(default=None, max_length=12)
    status: TopicStatus | None = None


class TopicOut(BaseModel):
    id: int
    title: str
    notes: str
    scenario: str
    tags: list[str]
    status: str
    source: str
    suggestion_key: str | None
    evidence: dict[str, Any]
    created_at: datetime
    shows: list[int] = Field(default_factory=list, description="Shows planned from the topic")


class SuggestionOut(BaseModel):
    id: int
    key: str
    kind: str
    title: str
    scenario: str = Field(description="The scenario a topic adopted from it starts with")
    score: int
    evidence: dict[str, Any]
    computed_at: datetime
    topic_id: int | None = Field(default=None, description="The topic adopted from it, if any")


class SuggestionsOut(BaseModel):
    computed_at: datetime | None
    suggestions: list[SuggestionOut]


class PlanShowIn(BaseModel):
    room_id: int = Field(ge=1, le=2**31 - 1)
    scheduled_at: datetime
    title: str | None = Field(default=None, min_length=1, max_length=120)
    scenario: Scenario | None = None

    @field_validator("scheduled_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("give the time with its offset (UTC: a trailing Z)")
        return value


class PlannedShowOut(BaseModel):
    show_id: int
    room_id: int
    topic_id: int
    title: str
    scenario: str
    status: str
    scheduled_at: datetime | None


class MonthTargetsIn(BaseModel):
    """Shows wanted in the month: ``all`` and per scenario (missing: no target)."""

    targets: dict[Literal["all", "brand", "product_seeding", "user_service"], ShowCount] = Field(max_length=4)


class KpiTargetsIn(BaseModel):
    """Figure name → target (ratios as fractions, money in cents); replaces the set."""

    targets: dict[str, TargetValue] = Field(max_length=40)


class EffectiveTarget(BaseModel):
    metric: str
    target: float
    source: Literal["show", "tenant", "seed"]
    alerts: bool = Field(description="Whether the live dashboard alerts below it (show targets only)")


class ShowTargetsOut(BaseModel):
    show_id: int
    own: dict[str, float]
    defaults: dict[str, float]
    effective: list[EffectiveTarget]


class ComparisonRow(BaseModel):
    metric: str
    target: float
    actual: float | None
    met: bool | None
    source: str


class ComparisonOut(BaseModel):
    show_id: int
    status: str
    as_of: datetime
    rows: list[ComparisonRow]
