"""Moderation API schemas."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from livecircle.kit.schemas import Schema


class SanctionKind(StrEnum):
    MUTE = "mute"
    BAN = "ban"


class SanctionIn(Schema):
    user_id: int = Field(ge=1, le=2**31 - 1)
    kind: SanctionKind
    minutes: int | None = Field(
        default=10, ge=1, le=60 * 24 * 365, description="Mute length; ignored for bans"
    )
    reason: str = Field(default="", max_length=200)


class SanctionOut(Schema):
    id: int
    room_id: int
    user_id: int
    kind: str
    until: datetime | None
    reason: str
    created_at: datetime


class WordIn(Schema):
    word: str = Field(min_length=1, max_length=100)
    action: str = Field(pattern="^(block|mask|review)$")
    category: str = Field(default="custom", min_length=1, max_length=32)


class WordOut(Schema):
    id: int
    word: str
    action: str
    category: str


class ReportIn(Schema):
    reason: str = Field(default="", max_length=200)


class ReportOut(Schema):
    id: int
    room_id: int
    message_id: int
    reporter_id: int
    reason: str
    status: str
    created_at: datetime


class LogOut(Schema):
    id: int
    room_id: int | None
    actor_id: int | None
    action: str
    target_user_id: int | None
    target_message_id: int | None
    detail: dict[str, Any]
    created_at: datetime
