"""Campaign tables: the campaign, one enrolment per member and entry, one send row per
(campaign, step, member, entry) and the tags campaigns put on members.

The unique keys are the once-only guarantee: the scheduler inserts an enrolment or a send
row with ``ON CONFLICT DO NOTHING`` and acts only when the row is its own, in the same
transaction, so a rerun, a crash or a second node cannot act twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from livecircle.kit.clock import utcnow
from livecircle.kit.db import Base, UtcDateTime
from livecircle.privacy.datamap import Category, Erase, not_personal, personal


class Campaign(Base):
    """``trigger`` and ``steps`` are validated by ``schemas.Trigger`` / ``schemas.Step``."""

    __tablename__ = "marketing_campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80), info=not_personal("an operator's name for a campaign"))
    status: Mapped[str] = mapped_column(String(12), default="draft")  # draft | active | paused | ended
    template: Mapped[str | None] = mapped_column(String(32), default=None)  # e.g. churn_recall
    trigger: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict, info=not_personal("a campaign's entry condition: no person in it")
    )
    steps: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, info=not_personal("a campaign's flow, written by an operator")
    )
    holdout_percent: Mapped[int] = mapped_column(Integer, default=10)
    cap_sends: Mapped[int] = mapped_column(Integer, default=3)
    cap_days: Mapped[int] = mapped_column(Integer, default=7)
    quiet_start: Mapped[int] = mapped_column(Integer, default=22)  # hour, local time
    quiet_end: Mapped[int] = mapped_column(Integer, default=8)
    timezone: Mapped[str] = mapped_column(String(40), default="Asia/Shanghai")
    conversion_days: Mapped[int] = mapped_column(Integer, default=7)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("identity_user.id", ondelete="SET NULL"),
        info=personal(
            Category.ACTIVITY,
            "which operator created a campaign",
            retention="audit",
            subject=True,
            erase=Erase.ANONYMISE,
        ),
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class Enrolment(Base):
    """A member in a campaign's flow: ``position`` is the next step, due at ``due_at``.
    ``entry_key`` tells entries apart for triggers that may fire again ("show:12",
    "order:34"); it is empty for once-per-member triggers."""

    __tablename__ = "marketing_enrolment"
    __table_args__ = (
        UniqueConstraint("campaign_id", "user_id", "entry_key", name="uq_marketing_enrolment_once"),
        Index("ix_marketing_enrolment_due", "status", "due_at"),
        Index("ix_marketing_enrolment_user", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer, index=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("marketing_campaign.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        info=personal(
            Category.INFERRED,
            "campaigns the member entered and where they are in each",
            subject=True,
            retention="activity",
        ),
    )
    entry_key: Mapped[str] = mapped_column(
        String(64), default="", info=not_personal("which show or order an entry is about (ids)")
    )
    holdout: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12), default="active")  # active | done | stopped
    position: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    entered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_action_at: Mapped[datetime] = mapped_column(UtcDateTime)
    deferred_step: Mapped[int | None] = mapped_column(Integer, default=None)  # quiet hours
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    last_error: Mapped[str | None] = mapped_column(
        Text, default=None, info=not_personal("the scheduler's error for a step: an exception name")
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Optimistic lock: a pass that read a stale enrolment cannot overwrite a newer state.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it as is


class Send(Base):
    """What one step did for one member: ``status`` is sent, holdout, capped, no_consent,
    opted_out, failed (a send step); tagged, untagged (a tag step); taken, not_taken (a
    branch)."""

    __tablename__ = "marketing_send"
    __table_args__ = (
        UniqueConstraint("campaign_id", "step", "user_id", "entry_key", name="uq_marketing_send_once"),
        Index("ix_marketing_send_cap", "tenant_id", "user_id", "created_at"),
        Index("ix_marketing_send_campaign", "campaign_id", "step", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("marketing_campaign.id", ondelete="CASCADE"))
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("marketing_enrolment.id", ondelete="CASCADE"),
        index=True,
        info=personal(Category.INFERRED, "the campaign entry a send belongs to", parent=True),
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        info=personal(
            Category.ACTIVITY,
            "promotions sent to the member (frequency cap, report)",
            subject=True,
            retention="activity",
        ),
    )
    entry_key: Mapped[str] = mapped_column(
        String(64), default="", info=not_personal("which show or order an entry is about (ids)")
    )
    step: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(12))  # coupon | message | webhook | tag | branch
    status: Mapped[str] = mapped_column(String(16))
    promotional: Mapped[bool] = mapped_column(Boolean, default=False)  # counts toward the cap
    deferred: Mapped[bool] = mapped_column(Boolean, default=False)  # went out after quiet hours
    coupon_id: Mapped[int | None] = mapped_column(Integer, default=None)
    detail: Mapped[str] = mapped_column(
        String(200), default="", info=not_personal("why a send was skipped or failed: an error code")
    )
    clicks: Mapped[int] = mapped_column(Integer, default=0)
    clicked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CampaignTag(Base):
    """A tag a campaign put on a member. The tagging run replaces the computed tags
    (``analytics_user_tag``) every hour, so campaign tags live here, beside them."""

    __tablename__ = "marketing_tag"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id", "tag", name="uq_marketing_tag_user_tag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer, index=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        index=True,
        info=personal(Category.INFERRED, "tags campaigns put on the member (profiling)", subject=True),
    )
    tag: Mapped[str] = mapped_column(
        String(80), info=personal(Category.INFERRED, "a tag a campaign put on the member")
    )
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("marketing_campaign.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
