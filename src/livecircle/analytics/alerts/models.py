"""Alert rules per tenant (or per room) and the alerts they raised."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from livecircle.kit.clock import utcnow
from livecircle.kit.db import Base, UtcDateTime
from livecircle.privacy.datamap import Category, Erase, not_personal, personal


class AlertRule(Base):
    """``metric comparator threshold`` over the last ``window_seconds``; after firing, the
    rule is quiet for ``cooldown_seconds`` in that show. ``room_id`` None: every room."""

    __tablename__ = "analytics_alert_rule"
    # One rule per show and metric derived from the show's KPI target (alerts/targets.py).
    __table_args__ = (Index("uq_analytics_alert_rule_show_metric", "show_id", "metric", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("identity_tenant.id", ondelete="CASCADE"), index=True)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("live_room.id", ondelete="CASCADE"), default=None)
    # Set: a rule derived from that show's target, judged in that show only (not listed).
    show_id: Mapped[int | None] = mapped_column(Integer, default=None)
    name: Mapped[str] = mapped_column(String(80), info=not_personal("an operator's name for an alert rule"))
    metric: Mapped[str] = mapped_column(String(40))
    comparator: Mapped[str] = mapped_column(String(2))
    threshold: Mapped[float] = mapped_column(Float)
    window_seconds: Mapped[int] = mapped_column(Integer, default=120)
    cooldown_seconds: Mapped[int] = mapped_column(Integer, default=300)
    # Needs at least this many viewers in the window before judging a rate.
    min_viewers: Mapped[int] = mapped_column(Integer, default=5)
    action: Mapped[str] = mapped_column(String(16), default="")  # poll | coupon | lottery | ""
    # Signed deliveries (kit.webhooks) of each firing; the secret is shown to the operator.
    webhook_url: Mapped[str] = mapped_column(String(500), default="")
    webhook_secret: Mapped[str] = mapped_column(
        String(64), default="", info=not_personal("the brand's webhook signing secret")
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Alert(Base):
    """One firing of a rule in a show: what was seen, and who answered how fast."""

    __tablename__ = "analytics_alert"
    __table_args__ = (UniqueConstraint("rule_id", "show_id", "window_key", name="uq_analytics_alert_firing"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer, index=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("analytics_alert_rule.id", ondelete="CASCADE"))
    room_id: Mapped[int] = mapped_column(Integer)
    show_id: Mapped[int] = mapped_column(Integer, index=True)
    # Firing slot (raised_at // cooldown): two nodes judging the same moment raise one alert.
    window_key: Mapped[int] = mapped_column(Integer)
    metric: Mapped[str] = mapped_column(String(40))
    value: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    comparator: Mapped[str] = mapped_column(String(2))
    action: Mapped[str] = mapped_column(String(16), default="")
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    acked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    acked_by: Mapped[int | None] = mapped_column(
        Integer,
        default=None,
        info=personal(
            Category.ACTIVITY,
            "which operator acknowledged an alert",
            retention="activity",
            subject=True,
            erase=Erase.ANONYMISE,
        ),
    )
    action_result: Mapped[dict[str, Any] | None] = mapped_column(
        JSON, default=None, info=not_personal("what an alert's action did: ids of a poll, coupon or lottery")
    )
