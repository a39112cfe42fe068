"""Campaign schemas: the trigger, the flow's steps, the campaign in and out, the report."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, TypeAdapter, field_validator, model_validator

from livecircle.analytics.catalog import EVENT_TYPES
from livecircle.analytics.segments.lifecycle import STAGES
from livecircle.analytics.segments.rfm import TIER_ORDER
from livecircle.kit.schemas import Schema

ACTIVITY = "activity"  # in a branch: any activity of the member (analytics churn.ACTIVITY)
MAX_STEPS = 20


# ---- triggers ----


class SegmentTrigger(Schema):
    """Entered a lifecycle stage, an RFM tier or a tag (profiling: only members who allow it)."""

    type: Literal["segment"] = "segment"
    segment: Literal["lifecycle", "rfm", "tag"] = "lifecycle"
    value: str = Field(min_length=1, max_length=80)
    # churn_risk: also members the churn model scores >= 0.5 (else inactivity alone, > 30 days)
    model: bool = False

    @model_validator(mode="after")
    def _known(self) -> Self:
        if self.segment == "lifecycle" and self.value not in STAGES:
            raise ValueError(f"a lifecycle stage is one of {', '.join(STAGES)}")
        if self.segment == "rfm" and self.value not in TIER_ORDER:
            raise ValueError(f"an RFM tier is one of {', '.join(TIER_ORDER)}")
        return self


class EventTrigger(Schema):
    """Did (or did not) do ``event`` within the last ``days`` days. "Did not" means: active in
    the community before those days, and no such event since."""

    type: Literal["event"] = "event"
    event: str = Field(min_length=1, max_length=40)
    did: bool = True
    days: int = Field(default=14, ge=1, le=365)

    @field_validator("event")
    @classmethod
    def _catalogued(cls, value: str) -> str:
        if value not in EVENT_TYPES:
            raise ValueError("not an analytics event type (analytics/catalog.py)")
        return value


class ShowSoonTrigger(Schema):
    """A scheduled show of a host the member follows, or that they signed up for, starts
    within ``minutes`` (one entry per show)."""

    type: Literal["show_soon"] = "show_soon"
    minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)


class CartMissTrigger(Schema):
    """An order placed ``minutes`` ago or more and still not paid (one entry per order;
    orders placed more than ``lookback_hours`` ago are left alone)."""

    type: Literal["cart_miss"] = "cart_miss"
    minutes: int = Field(default=30, ge=1, le=24 * 60)
    lookback_hours: int = Field(default=48, ge=1, le=24 * 30)


class FlashMissTrigger(Schema):
    """Refused sold out in a flash sale within the last ``hours`` (analytics event
    ``flash_sale_missed``; one entry per sale, e.g. for a consolation coupon)."""

    type: Literal["flash_sale_miss"] = "flash_sale_miss"
    hours: int = Field(default=24, ge=1, le=24 * 30)


Trigger = Annotated[
    SegmentTrigger | EventTrigger | ShowSoonTrigger | CartMissTrigger | FlashMissTrigger,
    Field(discriminator="type"),
]
TRIGGER = TypeAdapter(Trigger)


# ---- steps ----


class CouponStep(Schema):
    type: Literal["coupon"] = "coupon"
    template_id: int = Field(ge=1, le=2**31 - 1)


class MessageStep(Schema):
    """An inbox message of kind ``promotion``, and an e-mail too when ``email``."""

    type: Literal["message"] = "message"
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=2000)
    link: str = Field(default="", max_length=400, description="A path of this site, e.g. /rooms/3")
    email: bool = False

    @field_validator("link")
    @classmethod
    def _local(cls, value: str) -> str:
        if value and (not value.startswith("/") or value.startswith("//")):
            raise ValueError("the link is a path of this site, starting with one /")
        return value


class WebhookStep(Schema):
    """A signed delivery to the tenant's webhook endpoints for ``promotion``."""

    type: Literal["webhook"] = "webhook"
    event: str = Field(default="campaign.step", min_length=1, max_length=60)


class TagStep(Schema):
    type: Literal["tag"] = "tag"
    tag: str = Field(min_length=1, max_length=80)
    remove: bool = False


class WaitStep(Schema):
    type: Literal["wait"] = "wait"
    hours: float = Field(gt=0, le=24 * 90)


class BranchStep(Schema):
    """If the member did one of ``events`` (``activity``: anything) since the last action
    (or since entering): ``then`` = "stop", or the index of a later step to go to.
    Otherwise the flow goes on with the next step."""

    type: Literal["branch"] = "branch"
    events: list[str] = Field(min_length=1, max_length=10)
    since: Literal["last_action", "entry"] = "last_action"
    then: Literal["stop"] | int = "stop"

    @field_validator("events")
    @classmethod
    def _catalogued(cls, value: list[str]) -> list[str]:
        unknown = [e for e in value if e != ACTIVITY and e not in EVENT_TYPES]
        if unknown:
            raise ValueError(f"unknown event types: {', '.join(unknown)}")
        return value


Step = Annotated[
    CouponStep | MessageStep | WebhookStep | TagStep | WaitStep | BranchStep, Field(discriminator="type")
]
STEPS = TypeAdapter(list[Step])
SENDS = ("coupon", "message", "webhook")  # promotional: consent, opt-outs, quiet hours, the cap


# ---- campaigns ----


class CampaignFields(Schema):
    holdout_percent: int = Field(default=10, ge=0, le=50, description="Share kept as a control group")
    cap_sends: int = Field(default=3, ge=1, le=100, description="At most this many promotions per member…")
    cap_days: int = Field(default=7, ge=1, le=90, description="…in this many days, across all campaigns")
    quiet_start: int = Field(default=22, ge=0, le=23, description="Quiet hours start (local hour)")
    quiet_end: int = Field(default=8, ge=0, le=23, description="Quiet hours end (local hour)")
    timezone: str = Field(default="Asia/Shanghai", max_length=40)
    conversion_days: int = Field(default=7, ge=1, le=90, description="An order paid this soon converts")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_zone(value)


class CampaignIn(CampaignFields):
    name: str = Field(min_length=1, max_length=80)
    trigger: Trigger
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)

    @model_validator(mode="after")
    def _flow(self) -> Self:
        check_flow(self.steps)
        return self


class CampaignUpdate(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=80)
    trigger: Trigger | None = None
    steps: list[Step] | None = Field(default=None, min_length=1, max_length=MAX_STEPS)
    holdout_percent: int | None = Field(default=None, ge=0, le=50)
    cap_sends: int | None = Field(default=None, ge=1, le=100)
    cap_days: int | None = Field(default=None, ge=1, le=90)
    quiet_start: int | None = Field(default=None, ge=0, le=23)
    quiet_end: int | None = Field(default=None, ge=0, le=23)
    timezone: str | None = Field(default=None, max_length=40)
    conversion_days: int | None = Field(default=None, ge=1, le=90)

    @model_validator(mode="after")
    def _flow(self) -> Self:
        if self.steps is not None:
            check_flow(self.steps)
        if self.timezone is not None:
            check_zone(self.timezone)
        return self


def check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("not a known time zone (e.g. Asia/Shanghai)") from None
    return value


def check_flow(steps: list[Step]) -> None:
    """A branch goes forward only (so a flow always ends), and the flow sends something."""
    for index, step in enumerate(steps):
        if isinstance(step, BranchStep) and isinstance(step.then, int) and not index < step.then < len(steps):
            raise ValueError(f"step {index}: a branch goes to a later step (index {index + 1}..)")
    if not any(step.type in (*SENDS, "tag") for step in steps):
        raise ValueError("the flow needs at least one coupon, message, webhook or tag step")


class CampaignOut(Schema):
    id: int
    name: str
    status: str
    template: str | None
    trigger: dict[str, object]
    steps: list[dict[str, object]]
    holdout_percent: int
    cap_sends: int
    cap_days: int
    quiet_start: int
    quiet_end: int
    timezone: str
    conversion_days: int
    created_at: datetime
    updated_at: datetime
    activated_at: datetime | None


class CampaignSummary(CampaignOut):
    entrants: int
    holdout: int
    sent: int
    clicked: int


class StatusIn(Schema):
    status: Literal["active", "paused", "ended"]


class ChurnRecallIn(Schema):
    """The churn-recall template: the coupon template to offer (optional: none means the
    flow sends messages only)."""

    coupon_template_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    email: bool = True
    activate: bool = True


# ---- report ----


class StepFigures(Schema):
    step: int
    type: str
    counts: dict[str, int]  # by status
    deferred: int  # went out after quiet hours (and are waiting for them now)
    opened: int  # inbox entries read
    clicked: int  # members who followed the link (inbox or e-mail)
    redeemed: int  # coupons used in an order


class ArmFigures(Schema):
    members: int
    converted: int
    rate: float


class Lift(Schema):
    difference: float  # treatment rate - hold-out rate
    ci_low: float
    ci_high: float
    relative: float | None  # difference / hold-out rate
    z: float | None
    p_value: float | None
    enough_data: bool
    significant: bool | None


class CampaignReport(Schema):
    campaign: CampaignOut
    entrants: int
    treatment: ArmFigures
    holdout: ArmFigures
    lift: Lift
    steps: list[StepFigures]
    active: int
    finished: int
    computed_at: datetime
