"""Planning tables: topics, computed topic suggestions, which topic a show was planned from,
monthly show targets per scenario and the tenant's default KPI targets of a show."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from livecircle.kit.clock import utcnow
from livecircle.kit.db import Base, UtcDateTime
from livecircle.privacy.datamap import Category, Erase, not_personal, personal


class Topic(Base):
    """A topic (选题) in the library: written by an operator or adopted from a suggestion."""

    __tablename__ = "analytics_plan_topic"
    __table_args__ = (
        UniqueConstraint("tenant_id", "suggestion_key", name="uq_analytics_plan_topic_suggestion"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(120), info=not_personal("a topic the brand plans a show about"))
    notes: Mapped[str] = mapped_column(Text, default="", info=not_personal("the operator's notes on a topic"))
    scenario: Mapped[str] = mapped_column(String(24), default="brand")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list, info=not_personal("the operator's labels"))
    status: Mapped[str] = mapped_column(String(12), default="idea")  # idea | planned | used
    source: Mapped[str] = mapped_column(
        String(12), default="operator"
    )  # operator | keyword | question | product
    # The suggestion it was adopted from ("keyword:口红"): adopting it again finds this topic.
    suggestion_key: Mapped[str | None] = mapped_column(String(160), default=None)
    evidence: Mapped[dict[str, Any]] = mapped_column(
        JSON,
        default=dict,
        info=not_personal("counts and show ids behind an adopted suggestion; names no member"),
    )
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("identity_user.id", ondelete="SET NULL"),
        default=None,
        info=personal(Category.ACTIVITY, "which operator wrote a topic", subject=True, erase=Erase.ANONYMISE),
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Suggestion(Base):
    """A topic suggested by the audience's recent chat, questions or purchases; the tenant's
    rows are replaced by each computation (``key`` keeps a suggestion's id across runs)."""

    __tablename__ = "analytics_plan_suggestion"
    __table_args__ = (UniqueConstraint("tenant_id", "key", name="uq_analytics_plan_suggestion_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(
        String(160), info=not_personal("kind and keyword, question or product id")
    )
    kind: Mapped[str] = mapped_column(String(12))  # keyword | question | product
    title: Mapped[str] = mapped_column(
        String(300), info=not_personal("a keyword, a product's name or a question quoted without its author")
    )
    score: Mapped[int] = mapped_column(Integer, default=0)
    evidence: Mapped[dict[str, Any]] = mapped_column(
        JSON,
        default=dict,
        info=not_personal(
            "counts, show ids and up to 3 example lines quoted without their authors (lines with "
            "contact details skipped); recomputed hourly, so deleted chat drops out"
        ),
    )
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class PlannedShow(Base):
    """A show planned from a topic."""

    __tablename__ = "analytics_plan_show"

    show_id: Mapped[int] = mapped_column(ForeignKey("live_show.id", ondelete="CASCADE"), primary_key=True)
    topic_id: Mapped[int] = mapped_column(
        ForeignKey("analytics_plan_topic.id", ondelete="CASCADE"), index=True
    )
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class MonthTarget(Base):
    """How many shows of a scenario (or ``all``) a month should have; ``month`` is "YYYY-MM",
    or "default" for every month without targets of its own."""

    __tablename__ = "analytics_plan_month_target"
    __table_args__ = (
        UniqueConstraint("tenant_id", "month", "scenario", name="uq_analytics_plan_month_target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"), index=True)
    month: Mapped[str] = mapped_column(String(7))
    scenario: Mapped[str] = mapped_column(String(24))
    shows: Mapped[int] = mapped_column(Integer)


class KpiDefault(Base):
    """The tenant's default target of one show figure, for shows without a target of their own."""

    __tablename__ = "analytics_plan_kpi_default"
    __table_args__ = (UniqueConstraint("tenant_id", "metric", name="uq_analytics_plan_kpi_default"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"), index=True)
    metric: Mapped[str] = mapped_column(String(40))
    target: Mapped[float] = mapped_column(Float)
