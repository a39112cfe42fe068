"""Report tables: one stored report per show, and the show's targets (target vs actual)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from livecircle.kit.clock import utcnow
from livecircle.kit.db import Base, UtcDateTime
from livecircle.privacy.datamap import not_personal


class StoredReport(Base):
    """The latest build of a show's report: its data, and the documents made from it."""

    __tablename__ = "analytics_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("live_show.id", ondelete="CASCADE"), unique=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(
        JSON, info=not_personal("a show's aggregate figures; names only the host, as the show's presenter")
    )
    html: Mapped[str] = mapped_column(
        Text, info=not_personal("the show report rendered from its aggregate figures")
    )
    pdf: Mapped[bytes] = mapped_column(
        LargeBinary, info=not_personal("the show report rendered from its aggregate figures")
    )
    built_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    build_seconds: Mapped[float] = mapped_column(Float)


class ShowTarget(Base):
    """What the host aims at for one figure of a show (viewers, orders, GMV, ...)."""

    __tablename__ = "analytics_show_target"
    __table_args__ = (UniqueConstraint("show_id", "metric", name="uq_analytics_show_target_show_metric"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int] = mapped_column(ForeignKey("live_show.id", ondelete="CASCADE"), index=True)
    metric: Mapped[str] = mapped_column(String(40))
    value: Mapped[float] = mapped_column(Float)
