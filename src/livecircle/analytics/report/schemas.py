"""Report schemas: the stored report as the API shows it, and the show's targets."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

TargetValue = Annotated[float, Field(ge=0, le=1e12, allow_inf_nan=False)]


class ReportOut(BaseModel):
    show_id: int
    built_at: datetime
    build_seconds: float
    data: dict[str, Any]
    links: dict[str, str]


class TargetsIn(BaseModel):
    """Replaces the show's targets: figure name → target (ratios as fractions, money in cents)."""

    targets: dict[str, TargetValue] = Field(max_length=40)


class TargetsOut(BaseModel):
    show_id: int
    targets: dict[str, float]
