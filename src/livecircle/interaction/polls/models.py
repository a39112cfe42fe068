"""Poll tables: the poll, its questions and options, one ballot per account and its answers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from livecircle.kit.clock import utcnow
from livecircle.kit.db import Base, UtcDateTime
from livecircle.privacy.datamap import Category, Erase, not_personal, personal


class Poll(Base):
    __tablename__ = "interaction_poll"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"))
    room_id: Mapped[int] = mapped_column(ForeignKey("live_room.id", ondelete="CASCADE"), index=True)
    # Set when the poll opens in a live show; a draft belongs to the room only.
    show_id: Mapped[int | None] = mapped_column(ForeignKey("live_show.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # poll | survey
    title: Mapped[str] = mapped_column(String(200), info=not_personal("a poll's question, set by the host"))
    status: Mapped[str] = mapped_column(String(12), default="draft")  # draft | open | closed
    duration_s: Mapped[int | None] = mapped_column(Integer)  # None: open until the host closes it
    created_by: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        info=personal(Category.ACTIVITY, "which host created a poll", subject=True, erase=Erase.ANONYMISE),
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    closes_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class PollQuestion(Base):
    __tablename__ = "interaction_poll_question"
    __table_args__ = (UniqueConstraint("poll_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("interaction_poll.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(200), info=not_personal("a poll's question, set by the host"))
    kind: Mapped[str] = mapped_column(String(8))  # single | multiple | text


class PollOption(Base):
    __tablename__ = "interaction_poll_option"
    __table_args__ = (UniqueConstraint("question_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("interaction_poll_question.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(100), info=not_personal("a poll's option, set by the host"))


class PollBallot(Base):
    """One per account and poll: the unique key is what makes "one vote per account" hold
    under any concurrency."""

    __tablename__ = "interaction_poll_ballot"
    __table_args__ = (UniqueConstraint("poll_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("interaction_poll.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        index=True,
        info=personal(
            Category.ACTIVITY, "polls and surveys the member answered", retention="activity", subject=True
        ),
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class PollAnswer(Base):
    __tablename__ = "interaction_poll_answer"
    __table_args__ = (Index("ix_interaction_poll_answer_count", "question_id", "option_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ballot_id: Mapped[int] = mapped_column(
        ForeignKey("interaction_poll_ballot.id", ondelete="CASCADE"),
        index=True,
        info=personal(Category.ACTIVITY, "the member's answers to a poll", retention="activity", parent=True),
    )
    question_id: Mapped[int] = mapped_column(ForeignKey("interaction_poll_question.id", ondelete="CASCADE"))
    option_id: Mapped[int | None] = mapped_column(
        ForeignKey("interaction_poll_option.id", ondelete="CASCADE")
    )
    text: Mapped[str | None] = mapped_column(
        String(500),
        default=None,
        info=personal(Category.CONTENT, "the member's free-text answer to a survey", retention="activity"),
    )
