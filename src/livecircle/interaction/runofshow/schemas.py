"""Run-of-show schemas: a step as the host writes it, a step and a script as the console sees
them, templates."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from livecircle.interaction.lotteries.schemas import LotteryCreate
from livecircle.interaction.polls.schemas import PollCreate

Action = Literal["pin", "flash_sale", "poll", "lottery", "coupon", "community", "cue"]
Comparator = Literal["<", "<=", ">", ">="]
# The metrics a condition may watch: analytics/alerts/window.py's (a test keeps them equal).
Metric = Literal[
    "interaction_rate",
    "online",
    "online_vs_peak",
    "comments_per_minute",
    "likes_per_minute",
    "gifts_per_minute",
    "orders_per_minute",
    "click_to_order",
    "payment_success",
]
TARGETED: frozenset[str] = frozenset({"pin", "flash_sale", "coupon", "community"})
SECONDS_IN_DAY = 86_400
Id = Field(default=None, ge=1, le=2**31 - 1)


class StepIn(BaseModel):
    """One step: when (timed at T+``offset_s``, or a condition not before it) and what."""

    model_config = ConfigDict(extra="forbid")

    label: str = Field(default="", max_length=80)
    kind: Literal["timed", "condition"] = "timed"
    offset_s: int = Field(
        default=0, ge=0, le=SECONDS_IN_DAY, description="timed: when; condition: not before"
    )
    metric: Metric | None = None
    comparator: Comparator | None = None
    threshold: float | None = Field(default=None, ge=-1e12, le=1e12)
    window_s: int = Field(default=60, ge=5, le=3600, description="the window a rate is measured over")
    hold_s: int = Field(default=0, ge=0, le=3600, description="how long the condition must hold")
    action: Action
    target_id: int | None = Id
    countdown_s: Literal[0, 5, 10, 20, 30] = 0  # pin
    price_cents: int | None = Field(default=None, ge=1, le=100_000_000)  # flash sale
    stock: int | None = Field(default=None, ge=1, le=1_000_000)
    duration_s: int | None = Field(default=None, ge=10, le=7 * SECONDS_IN_DAY)
    per_user_limit: int = Field(default=1, ge=1, le=99)
    poll: PollCreate | None = None  # a poll made when the step fires (or target_id: a draft)
    lottery: LotteryCreate | None = None
    text: str | None = Field(default=None, min_length=1, max_length=200)  # cue

    @model_validator(mode="after")
    def _shape(self) -> Self:
        condition = (self.metric, self.comparator, self.threshold)
        if self.kind == "condition" and None in condition:
            raise ValueError("a condition step needs metric, comparator and threshold")
        if self.kind == "timed" and condition != (None, None, None):
            raise ValueError("a timed step has no metric, comparator or threshold")
        self._check_action()
        return self

    def _check_action(self) -> None:
        if self.action in TARGETED and self.target_id is None:
            raise ValueError(f"a {self.action} step needs target_id")
        if self.action == "flash_sale" and None in (self.price_cents, self.stock, self.duration_s):
            raise ValueError("a flash_sale step needs price_cents, stock and duration_s")
        for tool in ("poll", "lottery"):
            spec = getattr(self, tool)
            if self.action == tool and (self.target_id is None) == (spec is None):
                raise ValueError(f"a {tool} step names a draft (target_id) or carries its {tool}, not both")
            if spec is not None and (self.action != tool or spec.launch or spec.offset_s is not None):
                raise ValueError(f"only a {tool} step carries a {tool}, without launch or offset_s")
        if (self.action == "cue") != (self.text is not None):
            raise ValueError("a cue step, and only it, has a text")

    def params(self) -> dict[str, Any]:
        """What the step row keeps beyond its target (``ShowStep.params``)."""
        if self.action == "pin":
            return {"countdown_s": self.countdown_s}
        if self.action == "flash_sale":
            fields = ("price_cents", "stock", "duration_s", "per_user_limit")
            return {name: getattr(self, name) for name in fields}
        if self.action == "poll" and self.poll is not None:
            return {"poll": self.poll.model_dump(mode="json", exclude={"launch", "offset_s"})}
        if self.action == "lottery" and self.lottery is not None:
            return {"lottery": self.lottery.model_dump(mode="json", exclude={"launch", "offset_s"})}
        if self.action == "cue":
            return {"text": self.text}
        return {}


class StepOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    show_id: int | None
    room_id: int
    label: str
    kind: str
    action: str
    target_id: int | None
    params: dict[str, Any]
    offset_s: int
    metric: str | None
    comparator: str | None
    threshold: float | None
    window_s: int
    hold_s: int
    status: str
    due_at: datetime | None = Field(description="timed: when it fires (once the show is live)")
    seen_value: float | None = Field(description="conditional: the value the judge saw last")
    seen_at: datetime | None
    holding_since: datetime | None
    fired_at: datetime | None
    fired_by: str | None = Field(description="timer | condition | host")
    fired_by_user: int | None
    result: dict[str, Any] | None
    note: str | None


class ScriptOut(BaseModel):
    show_id: int
    room_id: int
    show_status: str
    started_at: datetime | None
    server_now: datetime
    steps: list[StepOut]


class TemplateIn(BaseModel):
    name: str = Field(min_length=1, max_length=80)


class ApplyIn(BaseModel):
    template_id: int = Field(ge=1, le=2**31 - 1)


class TemplateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    steps: list[dict[str, Any]]
    created_at: datetime
    left_out: list[int] = Field(default_factory=list, description="steps not kept: they name a one-off draft")
