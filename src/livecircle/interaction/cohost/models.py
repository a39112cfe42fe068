"""One table: every co-host request of a show, from application (or invitation) to its end.

At most one *active* request (applied, invited or accepted) per user and show: a partial
unique index, which SQLite and PostgreSQL both enforce, so two concurrent applies make one row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from livecircle.kit.clock import utcnow
from livecircle.kit.db import Base, UtcDateTime
from livecircle.privacy.datamap import Category, Erase, personal

ACTIVE = ("applied", "invited", "accepted")
PENDING = ("applied", "invited")  # waiting for someone's answer
CLOSED = ("rejected", "declined", "removed", "left", "cancelled", "ended")
STATUSES = ACTIVE + CLOSED
SOURCES = ("apply", "invite")
ACTIVE_WHERE = text("status IN ('applied', 'invited', 'accepted')")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class CohostRequest(Base):
    """连麦申请 or invitation. ``tier``/``tier_rank`` and ``display_name`` are snapshots taken
    when it was made; ``cooldown_until`` is set when it closed in a way that makes the user
    wait before applying again in the room."""

    __tablename__ = "interaction_cohost_request"
    __table_args__ = (
        Index(
            "ix_interaction_cohost_request_one_active",
            "show_id",
            "user_id",
            unique=True,
            sqlite_where=ACTIVE_WHERE,
            postgresql_where=ACTIVE_WHERE,
        ),
        Index("ix_interaction_cohost_request_show_status", "show_id", "status"),
        Index("ix_interaction_cohost_request_room_user", "room_id", "user_id"),
        CheckConstraint(_in("status", STATUSES), name="status_known"),
        CheckConstraint(_in("source", SOURCES), name="source_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"))
    room_id: Mapped[int] = mapped_column(ForeignKey("live_room.id", ondelete="CASCADE"))
    show_id: Mapped[int] = mapped_column(ForeignKey("live_show.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        info=personal(
            Category.ACTIVITY, "the member's requests to co-host", retention="activity", subject=True
        ),
    )
    display_name: Mapped[str] = mapped_column(
        String(64),
        info=personal(
            Category.ACTIVITY, "the member's name as shown in the co-host queue", retention="activity"
        ),
    )
    tier: Mapped[str] = mapped_column(String(16))
    tier_rank: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(12))
    source: Mapped[str] = mapped_column(String(8))
    applied_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)  # or invited at
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)  # accepted or refused
    decided_by: Mapped[int | None] = mapped_column(
        Integer,
        default=None,
        info=personal(
            Category.ACTIVITY,
            "which host decided a co-host request",
            retention="activity",
            subject=True,
            erase=Erase.ANONYMISE,
        ),
    )
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    cooldown_until: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
