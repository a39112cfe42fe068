"""Discussion tables: posts (posts, announcements, daily topics), comments, likes, check-ins,
activities and their sign-ups, and reports. Counters (likes, comments, sign-ups, open reports)
move in the same transaction as the rows they count."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column

from livecircle.kit.clock import utcnow
from livecircle.kit.db import Base, UtcDateTime
from livecircle.privacy.datamap import Category, Erase, not_personal, personal

VISIBLE = "visible"
HELD = "held"  # the word filter wants a moderator's look first
HIDDEN = "hidden"  # removed by an admin, or by N open reports until reviewed
DELETED = "deleted"  # by its author (or an admin)


class Post(Base):
    __tablename__ = "community_post"
    __table_args__ = (
        Index("ix_community_post_feed", "community_id", "id"),
        # At most one pinned announcement per community, whatever two admins do at once.
        Index(
            "uq_community_post_pinned",
            "community_id",
            unique=True,
            sqlite_where=sql_text("pinned"),
            postgresql_where=sql_text("pinned"),
        ),
        # One daily topic per community and UTC day (other kinds leave topic_day NULL).
        UniqueConstraint("community_id", "topic_day", name="uq_community_post_topic_day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"))
    community_id: Mapped[int] = mapped_column(ForeignKey("community_group.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        index=True,
        info=personal(Category.CONTENT, "posts the member wrote", retention="content", subject=True),
    )
    kind: Mapped[str] = mapped_column(String(12), default="post")  # post | announcement | daily_topic
    title: Mapped[str] = mapped_column(
        String(200), default="", info=personal(Category.CONTENT, "a post's title", retention="content")
    )
    body: Mapped[str] = mapped_column(
        Text, info=personal(Category.CONTENT, "a post's text", retention="content")
    )  # after the word filter (masked words starred)
    state: Mapped[str] = mapped_column(String(8), default=VISIBLE)  # visible | held | hidden | deleted
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    topic_day: Mapped[date | None] = mapped_column(Date, default=None)  # daily topics: their UTC day
    like_count: Mapped[int] = mapped_column(Integer, default=0)  # = its rows in community_post_like
    comment_count: Mapped[int] = mapped_column(Integer, default=0)  # its visible comments
    open_reports: Mapped[int] = mapped_column(Integer, default=0)
    flagged: Mapped[str] = mapped_column(
        String(200),
        default="",
        info=personal(Category.CONTENT, "the words of a post that held it for review", retention="content"),
    )  # the words that held it
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Comment(Base):
    __tablename__ = "community_comment"
    __table_args__ = (Index("ix_community_comment_post", "post_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"))
    community_id: Mapped[int] = mapped_column(
        ForeignKey("community_group.id", ondelete="CASCADE"), index=True
    )
    post_id: Mapped[int] = mapped_column(ForeignKey("community_post.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        index=True,
        info=personal(Category.CONTENT, "comments the member wrote", retention="content", subject=True),
    )
    body: Mapped[str] = mapped_column(
        Text, info=personal(Category.CONTENT, "a comment's text", retention="content")
    )
    state: Mapped[str] = mapped_column(String(8), default=VISIBLE)
    open_reports: Mapped[int] = mapped_column(Integer, default=0)
    flagged: Mapped[str] = mapped_column(
        String(200),
        default="",
        info=personal(
            Category.CONTENT, "the words of a comment that held it for review", retention="content"
        ),
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class PostLike(Base):
    """One like; the primary key (post_id, user_id) is the one-like-per-account rule."""

    __tablename__ = "community_post_like"

    post_id: Mapped[int] = mapped_column(
        ForeignKey("community_post.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
        info=personal(Category.ACTIVITY, "posts the member liked", retention="activity", subject=True),
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class TopicCheckIn(Base):
    """A member's 打卡 on a community's daily topic: one per member, community and UTC day."""

    __tablename__ = "community_checkin"

    community_id: Mapped[int] = mapped_column(
        ForeignKey("community_group.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
        info=personal(
            Category.ACTIVITY, "the member's daily-topic check-ins", retention="activity", subject=True
        ),
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("community_post.id", ondelete="CASCADE"), index=True)
    comment_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_comment.id", ondelete="SET NULL"), default=None
    )
    streak: Mapped[int] = mapped_column(Integer)  # consecutive days in this community, this one included
    points: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Activity(Base):
    """An activity or event (线上活动, AMA) members sign up for; ``signups`` never passes
    ``capacity`` (None: unlimited)."""

    __tablename__ = "community_activity"
    __table_args__ = (Index("ix_community_activity_starts", "community_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"))
    community_id: Mapped[int] = mapped_column(ForeignKey("community_group.id", ondelete="CASCADE"))
    created_by: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        info=personal(
            Category.ACTIVITY, "who organised a community event", subject=True, erase=Erase.ANONYMISE
        ),
    )
    title: Mapped[str] = mapped_column(
        String(120), info=not_personal("an event's public details, for the community")
    )
    description: Mapped[str] = mapped_column(
        Text, default="", info=not_personal("an event's public details, for the community")
    )
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    capacity: Mapped[int | None] = mapped_column(Integer, default=None)
    signups: Mapped[int] = mapped_column(Integer, default=0)  # = its rows in community_activity_signup
    location: Mapped[str] = mapped_column(
        String(200),
        default="",
        info=not_personal("where a community event takes place (a venue, not a person's whereabouts)"),
    )
    link: Mapped[str] = mapped_column(String(500), default="")
    state: Mapped[str] = mapped_column(String(12), default="scheduled")  # scheduled | cancelled
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ActivitySignup(Base):
    __tablename__ = "community_activity_signup"

    activity_id: Mapped[int] = mapped_column(
        ForeignKey("community_activity.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
        info=personal(
            Category.ACTIVITY, "events the member signed up for", retention="activity", subject=True
        ),
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ContentReport(Base):
    """A member's report of a post or a comment: one per reporter and target."""

    __tablename__ = "community_report"
    __table_args__ = (
        UniqueConstraint("target_kind", "target_id", "reporter_id", name="uq_community_report_reporter"),
        Index("ix_community_report_target", "target_kind", "target_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"))
    community_id: Mapped[int] = mapped_column(
        ForeignKey("community_group.id", ondelete="CASCADE"), index=True
    )
    target_kind: Mapped[str] = mapped_column(String(8))  # post | comment
    target_id: Mapped[int] = mapped_column(Integer)
    reporter_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        info=personal(Category.CONTENT, "reports the member filed", retention="content", subject=True),
    )
    reason: Mapped[str] = mapped_column(
        String(200),
        default="",
        info=personal(Category.CONTENT, "why the member reported a post or comment", retention="content"),
    )
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | dismissed | upheld
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    resolved_by: Mapped[int | None] = mapped_column(
        ForeignKey("identity_user.id", ondelete="SET NULL"),
        default=None,
        info=personal(
            Category.ACTIVITY,
            "which moderator resolved a report",
            retention="audit",
            subject=True,
            erase=Erase.ANONYMISE,
        ),
    )
