"""Invite schemas: my code, link, counts and invites; the leaderboard."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class InviteCounts(BaseModel):
    pending: int
    vested: int
    rejected: int


class InviteRowOut(BaseModel):
    id: int
    invitee_id: int
    invitee_name: str
    registered_at: datetime
    opened_at: datetime | None = Field(description="When the invitee opened the link; None: code typed in")
    status: str = Field(description="pending | vested | rejected")
    reason: str | None = Field(
        description="Why rejected: self_invite, outside_window, burst, daily_cap, points_cap, reward_failed"
    )
    vested_at: datetime | None
    vested_by: str | None = Field(description="watch | order")
    reward_kind: str | None = Field(description="points | coupon")
    first_order_id: int | None
    first_order_at: datetime | None


class MyInvitesOut(BaseModel):
    code: str
    link: str = Field(description="The personal link: opens /i/{code}, which leads to sign-up")
    counts: InviteCounts
    invites: list[InviteRowOut] = Field(description="Newest first, at most 100")


class BoardEntryOut(BaseModel):
    rank: int
    user_id: int
    display_name: str
    vested: int = Field(description="Invites whose reward vested")


class LeaderboardOut(BaseModel):
    all_time: list[BoardEntryOut]
    last_7_days: list[BoardEntryOut]
