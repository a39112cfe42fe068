"""Live API schemas."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import Field

from livecircle.identity.schemas import Principal
from livecircle.kit.schemas import Schema


class Scenario(StrEnum):
    BRAND = "brand"  # 品牌宣传
    PRODUCT_SEEDING = "product_seeding"  # 产品种草
    USER_SERVICE = "user_service"  # 用户服务


class Visibility(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


class ShowStatus(StrEnum):
    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"


class RoomCreate(Schema):
    title: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=2000)
    visibility: Visibility = Visibility.PUBLIC


class RoomOut(Schema):
    id: int
    tenant_id: int
    owner_id: int
    title: str
    description: str
    visibility: Visibility
    created_at: datetime


class ShowCreate(Schema):
    title: str = Field(min_length=1, max_length=120)
    scenario: Scenario = Scenario.BRAND
    scheduled_at: datetime | None = None


class ShowOut(Schema):
    id: int
    room_id: int
    title: str
    scenario: Scenario
    status: ShowStatus
    scheduled_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    publishing: bool
    peak_viewers: int = 0
    like_count: int = 0


class StreamKeyOut(Schema):
    rtmp_url: str = Field(description="Server URL to paste into OBS")
    stream_key: str | None = Field(description="Secret key; null when revoked")
    publish_url: str | None = Field(description="rtmp_url and key combined, for ffmpeg")


class RoomState(Schema):
    """What a player page needs to know: what to play and where."""

    room: RoomOut
    show: ShowOut | None
    mode: str = Field(description="live | replay | offline")
    playback_url: str | None


@dataclass(frozen=True, slots=True)
class RoomViewer:
    """Who sits on a room socket: attached to the connection by the gateway's admission."""

    principal: Principal
    room_id: int
    tenant_id: int
    # The browser's anonymous id (cookie), so a viewer's events merge into their account
    # when they sign up; a fresh one per socket when the client sends none.
    anon_id: str | None = None
