"""Community schemas: what an operator or host writes, what members see."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from livecircle.kit.schemas import Schema

MinTier = Literal["participant", "premium"]


class CommunityCreate(Schema):
    name: str = Field(min_length=1, max_length=80)
    description: str = Field(default="", max_length=2000)
    rules: str = Field(default="", max_length=2000, description="Community rules shown before joining")
    room_id: int | None = Field(default=None, description="The room whose host pushes this group's card")
    min_tier: MinTier | None = Field(default=None, description="Member-only: the lowest tier that may join")


class CommunityUpdate(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=80)
    description: str | None = Field(default=None, max_length=2000)
    rules: str | None = Field(default=None, max_length=2000)
    min_tier: MinTier | None = None


class JoinIn(Schema):
    show_id: int | None = Field(default=None, description="The live show whose card brought the viewer")
    invite_code: str | None = Field(default=None, max_length=16, description="The inviter's personal code")


class RoleIn(Schema):
    role: Literal["admin", "member"]


class CommunityOut(Schema):
    id: int
    tenant_id: int
    owner_id: int
    room_id: int | None
    name: str
    description: str
    rules: str
    min_tier: str | None
    member_count: int
    created_at: datetime
    my_role: str | None = None


class MemberOut(Schema):
    user_id: int
    display_name: str
    role: str
    source: str
    show_id: int | None
    joined_at: datetime


class CardPushed(Schema):
    community_id: int
    show_id: int
