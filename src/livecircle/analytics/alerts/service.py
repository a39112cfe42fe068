"""Alert rules and alerts: the seed defaults, judging live shows, acknowledging, acting.

Judging runs on every node after each replica sync; an alert is one row per (rule, show,
cool-down slot), so two nodes that judge the same moment raise it once.
"""

from __future__ import annotations

import operator
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.analytics.alerts.models import Alert, AlertRule
from livecircle.analytics.alerts.window import METRICS
from livecircle.analytics.errors import AlertNotFound, AlertRuleNotFound
from livecircle.identity.schemas import Principal
from livecircle.interaction import service as interaction_service
from livecircle.kit import jobs
from livecircle.kit.clock import utcnow
from livecircle.kit.db import dialect_insert, one_sqlite_writer
from livecircle.kit.errors import BadRequest
from livecircle.kit.tracking import track
from livecircle.live import service as live_service
from livecircle.live.errors import RoomNotFound

COMPARATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
ACTIONS = ("poll", "coupon", "lottery", "")

# The seed's thresholds (interaction rate ≥ 8 % is the target, < 5 % is trouble; click →
# order ≥ 12 %; pay success ≥ 85 %), each with the move that usually helps.
DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    {"name": "互动率过低 Interaction rate low", "metric": "interaction_rate", "comparator": "<",
     "threshold": 0.05, "window_seconds": 120, "cooldown_seconds": 300, "action": "poll"},
    {"name": "在线人数下滑 Viewers leaving", "metric": "online_vs_peak", "comparator": "<",
     "threshold": 0.6, "window_seconds": 60, "cooldown_seconds": 600, "action": "lottery"},
    {"name": "点击转化偏低 Click → order low", "metric": "click_to_order", "comparator": "<",
     "threshold": 0.12, "window_seconds": 300, "cooldown_seconds": 900, "min_viewers": 20,
     "action": "coupon"},
    {"name": "支付成功率偏低 Payment success low", "metric": "payment_success", "comparator": "<",
     "threshold": 0.85, "window_seconds": 300, "cooldown_seconds": 900, "action": ""},
)  # fmt: skip


async def list_rules(session: AsyncSession, *, tenant_id: int) -> list[AlertRule]:
    """The tenant's rules, seeding the defaults the first time."""
    rules = list(
        await session.scalars(
            select(AlertRule)
            .where(AlertRule.tenant_id == tenant_id, AlertRule.show_id.is_(None))
            .order_by(AlertRule.id)
        )
    )
    if rules:
        return rules
    await one_sqlite_writer(session)
    seeded = [AlertRule(tenant_id=tenant_id, **rule) for rule in DEFAULT_RULES]
    session.add_all(seeded)
    await session.flush()
    return seeded


def check_rule_fields(fields: dict[str, Any]) -> None:
    """Raises BadRequest for an unknown metric, comparator or action."""
    if fields.get("metric") is not None and fields["metric"] not in METRICS:
        raise BadRequest("Unknown metric", allowed=sorted(METRICS))
    if fields.get("comparator") is not None and fields["comparator"] not in COMPARATORS:
        raise BadRequest("Unknown comparator", allowed=sorted(COMPARATORS))
    if fields.get("action") is not None and fields["action"] not in ACTIONS:
        raise BadRequest("Unknown action", allowed=list(ACTIONS))


async def do_create_rule(session: AsyncSession, *, tenant_id: int, fields: dict[str, Any]) -> AlertRule:
    """Raises BadRequest (fields), RoomNotFound (``room_id`` names another tenant's room). The
    defaults are seeded first if the tenant has none (its own rule does not replace them)."""
    check_rule_fields(fields)
    await list_rules(session, tenant_id=tenant_id)
    if fields.get("room_id") is not None:
        room = await live_service.get_room(session, fields["room_id"])
        if room.tenant_id != tenant_id:
            raise RoomNotFound()
    await list_rules(session, tenant_id=tenant_id)  # the defaults first, so they are not seeded later
    rule = AlertRule(tenant_id=tenant_id, webhook_secret=secrets.token_urlsafe(24), **fields)
    session.add(rule)
    await session.flush()
    return rule


async def get_rule(session: AsyncSession, *, tenant_id: int, rule_id: int) -> AlertRule:
    rule = await session.get(AlertRule, rule_id)
    if rule is None or rule.tenant_id != tenant_id or rule.show_id is not None:  # derived: see targets.py
        raise AlertRuleNotFound()
    return rule


async def do_update_rule(session: AsyncSession, rule: AlertRule, fields: dict[str, Any]) -> AlertRule:
    check_rule_fields(fields)
    for name, value in fields.items():
        setattr(rule, name, value)
    if rule.webhook_url and not rule.webhook_secret:
        rule.webhook_secret = secrets.token_urlsafe(24)
    await session.flush()
    return rule


def for_room(rules: list[AlertRule], room_id: int) -> list[AlertRule]:
    """Of a tenant's rules (``list_rules``), the enabled ones that judge ``room_id``."""
    return [r for r in rules if r.enabled and r.room_id in (None, room_id)]


def breaches(rule: AlertRule, figures: dict[str, float]) -> float | None:
    """The measured value when ``rule`` is breached by ``figures``, else None."""
    value = figures.get(rule.metric)
    if value is None or figures.get("mean_online", 0) < rule.min_viewers:
        return None
    return value if COMPARATORS[rule.comparator](value, rule.threshold) else None


async def do_raise(
    session: AsyncSession, rule: AlertRule, *, room_id: int, show_id: int, value: float, now: datetime
) -> Alert | None:
    """Raise ``rule`` for the show unless it fired within its cool-down; None when quiet."""
    last = await session.scalar(
        select(Alert.raised_at)
        .where(Alert.rule_id == rule.id, Alert.show_id == show_id)
        .order_by(Alert.raised_at.desc())
        .limit(1)
    )
    if last is not None and now - last < timedelta(seconds=rule.cooldown_seconds):
        return None
    await one_sqlite_writer(session)
    alert_id = await session.scalar(
        dialect_insert(session, Alert)
        .values(
            tenant_id=rule.tenant_id,
            rule_id=rule.id,
            room_id=room_id,
            show_id=show_id,
            window_key=int(now.timestamp() // max(rule.cooldown_seconds, 1)),
            metric=rule.metric,
            value=round(value, 4),
            threshold=rule.threshold,
            comparator=rule.comparator,
            action=rule.action,
            raised_at=now,
        )
        .on_conflict_do_nothing()
        .returning(Alert.id)
    )
    if alert_id is None:
        return None  # another node raised it for this slot
    alert = await session.get(Alert, alert_id)
    assert alert is not None
    track(
        session,
        "alert_raised",
        tenant_id=rule.tenant_id,
        room_id=room_id,
        show_id=show_id,
        props={"alert_id": alert.id, "metric": rule.metric, "value": alert.value, "action": rule.action},
    )
    if rule.webhook_url:
        await jobs.schedule(
            session,
            "analytics.alert_webhook",
            key=f"alert-webhook:{alert.id}",
            run_at=now,
            payload={"alert_id": alert.id},
        )
    return alert


async def list_show_alerts(session: AsyncSession, *, show_id: int) -> list[Alert]:
    return list(
        await session.scalars(select(Alert).where(Alert.show_id == show_id).order_by(Alert.id.desc()))
    )


async def access_alert(session: AsyncSession, principal: Principal, alert_id: int) -> Alert:
    """The alert, when ``principal`` moderates its room. Raises AlertNotFound, NotModerator."""
    alert = await session.get(Alert, alert_id)
    if alert is None:
        raise AlertNotFound()
    await interaction_service.check_moderate_room(session, principal, alert.room_id)
    return alert


async def do_ack(
    session: AsyncSession, alert: Alert, *, user_id: int, result: dict[str, Any] | None = None
) -> Alert:
    """Acknowledge once (the first answer's time is the time to acknowledge)."""
    if alert.acked_at is None:
        alert.acked_at, alert.acked_by = utcnow(), user_id
        seconds = round((alert.acked_at - alert.raised_at).total_seconds())
        track(
            session,
            "alert_acked",
            event_id=f"alert_acked:{alert.id}",
            tenant_id=alert.tenant_id,
            user_id=user_id,
            room_id=alert.room_id,
            show_id=alert.show_id,
            amount=seconds,
            props={"alert_id": alert.id, "metric": alert.metric, "acted": result is not None},
        )
    if result is not None:
        alert.action_result = result
    await session.flush()
    return alert
