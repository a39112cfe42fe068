"""Q&A tables: one row per question of a show, one per upvote (the database keeps it to one
per account and question)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column

from livecircle.kit.clock import utcnow
from livecircle.kit.db import Base, UtcDateTime
from livecircle.privacy.datamap import Category, Erase, personal

OPEN = "open"
ANSWERED = "answered"
HIDDEN = "hidden"


class Question(Base):
    __tablename__ = "interaction_question"
    __table_args__ = (
        Index("ix_interaction_question_show_user", "show_id", "user_id"),
        # At most one pinned question per show, whatever two moderators do at the same moment.
        Index(
            "uq_interaction_question_show_pinned",
            "show_id",
            unique=True,
            sqlite_where=sql_text("pinned"),
            postgresql_where=sql_text("pinned"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"))
    room_id: Mapped[int] = mapped_column(ForeignKey("live_room.id", ondelete="CASCADE"), index=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("live_show.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        info=personal(
            Category.CONTENT, "questions the member asked a host", retention="content", subject=True
        ),
    )
    display_name: Mapped[str] = mapped_column(
        String(64),
        info=personal(Category.CONTENT, "the member's name as shown with a question", retention="content"),
    )  # as the asker was called then
    text: Mapped[str] = mapped_column(
        String(300), info=personal(Category.CONTENT, "a question's text", retention="content")
    )  # after the word filter (masked words starred)
    votes: Mapped[int] = mapped_column(Integer, default=0)  # = its rows in interaction_question_vote
    status: Mapped[str] = mapped_column(String(16), default=OPEN)  # open | answered | hidden
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    answered_by: Mapped[int | None] = mapped_column(
        ForeignKey("identity_user.id", ondelete="SET NULL"),
        default=None,
        info=personal(
            Category.ACTIVITY,
            "which host marked a question answered",
            retention="content",
            subject=True,
            erase=Erase.ANONYMISE,
        ),
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class QuestionVote(Base):
    """One upvote; the primary key (question_id, user_id) is the one-vote-per-account rule."""

    __tablename__ = "interaction_question_vote"

    question_id: Mapped[int] = mapped_column(
        ForeignKey("interaction_question.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
        info=personal(Category.ACTIVITY, "questions the member voted up", retention="activity", subject=True),
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
