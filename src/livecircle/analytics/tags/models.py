"""Tag rules per tenant and the tags of the latest run. Each member's profiling choice is a
consent record (``privacy.consent``, purpose ``profiling``): the former ``ProfilePref`` table
was migrated into it and dropped (migration 0020)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from livecircle.kit.clock import utcnow
from livecircle.kit.db import Base, UtcDateTime
from livecircle.privacy.datamap import Category, not_personal, personal


class TagRule(Base):
    """One rule: ``interest`` (categories, weighted by how people met them) or
    ``consumption`` (a metric cut into named bands); ``definition`` is validated by
    ``schemas.InterestDefinition`` / ``schemas.ConsumptionDefinition``."""

    __tablename__ = "analytics_tag_rule"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_analytics_tag_rule_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(40), info=not_personal("an operator's name for a tag rule"))
    kind: Mapped[str] = mapped_column(String(12))  # interest | consumption
    definition: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict, info=not_personal("a tag rule's conditions over events: no person in it")
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class UserTag(Base):
    """A tag the latest run gave an account, and why (in Chinese and English, with numbers).
    A run replaces all of its tenant's rows in one transaction."""

    __tablename__ = "analytics_user_tag"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id", "tag", name="uq_analytics_user_tag_tag"),
        Index("ix_analytics_user_tag_user", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id", ondelete="CASCADE"),
        info=personal(
            Category.INFERRED,
            "interest and purchase tags worked out about the member (profiling, PIPL art. 24)",
            subject=True,
        ),
    )
    tag: Mapped[str] = mapped_column(
        String(80), info=personal(Category.INFERRED, "an interest or purchase tag about the member")
    )
    kind: Mapped[str] = mapped_column(String(12))
    rule_id: Mapped[int | None] = mapped_column(Integer, default=None)
    reason: Mapped[str] = mapped_column(
        Text, info=personal(Category.INFERRED, "why the member carries the tag")
    )
    reason_en: Mapped[str] = mapped_column(
        Text, default="", info=personal(Category.INFERRED, "why the member carries the tag")
    )
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
