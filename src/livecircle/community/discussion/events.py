"""Discussion facts, released after commit (growth schedules activity reminders from them,
analytics counts them). Held content emits nothing until an admin approves it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from livecircle.kit.events import DomainEvent


@dataclass(frozen=True, slots=True)
class PostPublished(DomainEvent):
    """A post became visible: on creation, or when an admin approved it."""

    tenant_id: int
    community_id: int
    post_id: int
    author_id: int
    kind: str  # post | announcement | daily_topic


@dataclass(frozen=True, slots=True)
class CommentPublished(DomainEvent):
    tenant_id: int
    community_id: int
    post_id: int
    comment_id: int
    author_id: int


@dataclass(frozen=True, slots=True)
class PostLiked(DomainEvent):
    tenant_id: int
    community_id: int
    post_id: int
    user_id: int
    author_id: int


@dataclass(frozen=True, slots=True)
class TopicCheckedIn(DomainEvent):
    """A member did the daily check-in task (打卡) of a community."""

    tenant_id: int
    community_id: int
    user_id: int
    day: date
    streak: int
    points: int


@dataclass(frozen=True, slots=True)
class ActivityScheduled(DomainEvent):
    """An activity was created or moved: (re)schedule its reminders for ``starts_at``."""

    activity_id: int
    community_id: int
    tenant_id: int
    starts_at: datetime


@dataclass(frozen=True, slots=True)
class ActivityCancelled(DomainEvent):
    activity_id: int
    community_id: int
    tenant_id: int


@dataclass(frozen=True, slots=True)
class ActivitySignedUp(DomainEvent):
    activity_id: int
    community_id: int
    tenant_id: int
    user_id: int


@dataclass(frozen=True, slots=True)
class ActivitySignupCancelled(DomainEvent):
    activity_id: int
    community_id: int
    tenant_id: int
    user_id: int


@dataclass(frozen=True, slots=True)
class ContentReported(DomainEvent):
    tenant_id: int
    community_id: int
    target_kind: str  # post | comment
    target_id: int
    reporter_id: int
    hidden: bool  # this report reached the threshold and hid the target
