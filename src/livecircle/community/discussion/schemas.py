"""Discussion schemas: what members and admins write, what they see."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, Field

from livecircle.kit.schemas import Schema

PostKind = Literal["post", "announcement", "daily_topic"]
HARD_MAX = 20_000  # the settings' limits (community.post_max_length, ...) are checked by the service


class PostCreate(Schema):
    kind: PostKind = "post"
    title: str = Field(default="", max_length=200, description="Optional for posts")
    body: str = Field(min_length=1, max_length=HARD_MAX)
    pinned: bool = Field(default=False, description="Announcements: pin it on top (unpins the last one)")


class PostOut(Schema):
    id: int
    community_id: int
    author_id: int
    author_name: str
    kind: str
    title: str
    body: str
    state: str
    pinned: bool
    topic_day: date | None
    like_count: int
    comment_count: int
    created_at: datetime
    liked: bool = False  # by the caller


class FeedOut(Schema):
    items: list[PostOut]
    next_cursor: int | None = Field(description="Pass as ?cursor= for the next (older) page")


class CommentIn(Schema):
    body: str = Field(min_length=1, max_length=HARD_MAX)


class CommentOut(Schema):
    id: int
    post_id: int
    author_id: int
    author_name: str
    body: str
    state: str
    created_at: datetime


class CommentsOut(Schema):
    items: list[CommentOut]
    next_cursor: int | None


class LikeOut(Schema):
    post_id: int
    like_count: int
    liked: bool


class CheckInIn(Schema):
    text: str | None = Field(default=None, max_length=500, description="Becomes a comment on the topic")


class CheckInOut(Schema):
    community_id: int
    day: date
    post_id: int
    comment_id: int | None
    streak: int
    points: int
    created: bool = True


class CheckInStatusOut(Schema):
    day: date
    topic: PostOut | None
    checked_in: bool
    streak: int  # consecutive days up to today (or yesterday, while today is still open)
    points: int  # what today's check-in pays


class ActivityCreate(Schema):
    title: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=5000)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    capacity: int | None = Field(default=None, ge=1, le=1_000_000, description="None: unlimited")
    location: str = Field(default="", max_length=200)
    link: str = Field(default="", max_length=500, pattern=r"^(https?://\S+)?$")


class ActivityUpdate(Schema):
    title: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=5000)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    capacity: int | None = Field(default=None, ge=1, le=1_000_000)
    location: str | None = Field(default=None, max_length=200)
    link: str | None = Field(default=None, max_length=500, pattern=r"^(https?://\S+)?$")


class ActivityOut(Schema):
    id: int
    community_id: int
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    capacity: int | None
    signups: int
    seats_left: int | None
    location: str
    link: str
    state: str
    signup_open: bool
    signed_up: bool = False  # the caller


class SignupOut(Schema):
    activity_id: int
    signups: int
    seats_left: int | None
    signed_up: bool


class SignupMemberOut(Schema):
    user_id: int
    display_name: str
    signed_up_at: datetime


class ReportIn(Schema):
    reason: str = Field(default="", max_length=200)


class ReportOut(Schema):
    id: int
    target_kind: str
    target_id: int
    reason: str
    status: str
    created_at: datetime


class ReviewIn(Schema):
    decision: Literal["approve", "remove"]


class QueueItemOut(Schema):
    target_kind: str  # post | comment
    target_id: int
    post_id: int
    author_id: int
    author_name: str
    title: str
    body: str
    state: str  # held (the word filter) | visible or hidden (reported)
    flagged: str  # the words that held it
    open_reports: int
    reasons: list[str]
    since: datetime  # held: when written; reported: the first open report


class ReviewOut(Schema):
    target_kind: str
    target_id: int
    state: str
    open_reports: int
