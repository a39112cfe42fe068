"""Judging live shows after each replica sync, the one-click suggested actions, and the
signed webhook of each alert (a durable job: retried, and never lost to a restart)."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.analytics.alerts import service, targets
from livecircle.analytics.alerts.models import Alert, AlertRule
from livecircle.analytics.alerts.window import most_online, window_figures
from livecircle.analytics.capture import LiveShows
from livecircle.analytics.store import EventStore
from livecircle.commerce import coupons
from livecircle.interaction.lotteries import service as lottery_service
from livecircle.interaction.lotteries.schemas import LotteryCreate, PrizeIn
from livecircle.interaction.polls import service as poll_service
from livecircle.interaction.polls.schemas import PollCreate, QuestionIn
from livecircle.kit import webhooks
from livecircle.kit.clock import utcnow
from livecircle.kit.db import Database
from livecircle.kit.errors import Conflict
from livecircle.kit.jobs import JobRunner
from livecircle.live import service as live_service

log = logging.getLogger(__name__)
WEBHOOK_TIMEOUT_SECONDS = 5.0


class AlertJudge:
    """Every ``every`` seconds, each enabled rule against each live show's window."""

    def __init__(self, db: Database, store: EventStore, shows: LiveShows, *, every: float) -> None:
        self.db, self.store, self.shows, self.every = db, store, shows, every
        self._last = 0.0

    async def after_sync(self) -> None:
        if time.monotonic() - self._last < self.every:
            return
        self._last = time.monotonic()
        live = list(self.shows.by_room.items())
        if not live:
            return
        async with self.db.unit_of_work() as session:  # the tenant's rules are seeded on first read
            tenant_rules = {
                tenant_id: await service.list_rules(session, tenant_id=tenant_id)
                for tenant_id in {tenant_id for _, (_, tenant_id) in live}
            }
            own = await targets.shows_with_own_rules(session, [show_id for _, (show_id, _) in live])
        widest = max((r.window_seconds for rules in tenant_rules.values() for r in rules), default=0)
        naive = utcnow().replace(tzinfo=None)
        most = await self.store.run(
            lambda con: most_online(con, [s for _, (s, _) in live], now=naive, seconds=max(widest, 60))
        )
        for room_id, (show_id, tenant_id) in live:
            if show_id not in own and _too_few(tenant_rules[tenant_id], room_id, most.get(show_id)):
                continue  # one query for all the shows instead of a full look at each empty one
            rules = service.for_room(tenant_rules[tenant_id], room_id)
            await self.judge(tenant_id=tenant_id, room_id=room_id, show_id=show_id, rules=rules)

    async def judge(
        self, *, tenant_id: int, room_id: int, show_id: int, rules: list[AlertRule]
    ) -> list[Alert]:
        """``rules``: the tenant's rules for the room, read once for the whole pass."""
        now = utcnow()
        naive = now.replace(tzinfo=None)
        raised: list[Alert] = []
        async with self.db.unit_of_work() as session:
            show = await live_service.get_show(session, show_id)
            lived = (now - show.started_at).total_seconds() if show.started_at else 0
            by_window: dict[int, dict[str, float]] = {}  # rules with the same window share one query
            where = {"tenant_id": tenant_id, "room_id": room_id}
            rules = rules + await targets.target_rules(session, **where, show_id=show_id)  # the show's own
            for rule in rules:
                if lived < rule.window_seconds:
                    continue  # a window that does not fit in the show yet judges nothing
                if rule.window_seconds not in by_window:
                    by_window[rule.window_seconds] = await self.store.run(
                        lambda con, r=rule: window_figures(con, show_id, now=naive, seconds=r.window_seconds)  # type: ignore[misc]
                    )
                figures = by_window[rule.window_seconds]
                value = service.breaches(rule, figures)
                if value is None:
                    continue
                alert = await service.do_raise(
                    session, rule, room_id=room_id, show_id=show_id, value=value, now=now
                )
                if alert is not None:
                    raised.append(alert)
        return raised


def _too_few(rules: list[AlertRule], room_id: int, most: int | None) -> bool:
    """No rule of the room can breach: each wants more viewers than the show has had over its
    widest window (a window's mean, or its latest sample, is never above that most)."""
    applicable = service.for_room(rules, room_id)
    if not applicable:
        return True
    return most is not None and most < min(r.min_viewers for r in applicable)


async def do_act(session: AsyncSession, alert: Alert, *, user_id: int) -> dict[str, Any]:
    """Run the alert's suggested action in its show and acknowledge it.
    Raises Conflict (nothing to run, or no drop coupon), ShowNotLive and the tools' errors."""
    room = await live_service.get_room(session, alert.room_id)
    if alert.action == "poll":
        poll = await poll_service.do_create_poll(session, room=room, user_id=user_id, data=QUICK_POLL)
        await poll_service.do_open_poll(session, poll)
        result: dict[str, Any] = {"action": "poll", "poll_id": poll.id}
    elif alert.action == "lottery":
        lottery = await lottery_service.do_create_lottery(
            session, room=room, user_id=user_id, data=QUICK_LOTTERY
        )
        await lottery_service.do_open_lottery(session, lottery)
        result = {"action": "lottery", "lottery_id": lottery.id}
    elif alert.action == "coupon":
        result = {"action": "coupon", "template_id": await _drop_coupon(session, alert)}
    else:
        raise Conflict("This alert suggests no action to run")
    await service.do_ack(session, alert, user_id=user_id, result=result)
    return result


async def _drop_coupon(session: AsyncSession, alert: Alert) -> int:
    show = await live_service.get_show(session, alert.show_id)
    templates = await coupons.list_templates(session, alert.tenant_id)
    droppable = [t for t in templates if t.channel == "drop" and t.enabled]
    if not droppable:
        raise Conflict("No enabled in-show drop coupon to drop: create one under Coupons first")
    template = max(droppable, key=lambda t: t.id)
    await coupons.do_drop(session, show=show, template=template)
    return template.id


QUICK_POLL = PollCreate(
    title="接下来想看什么？ What next?",
    questions=[
        QuestionIn(text="选一个 Pick one", options=["福利抽奖 Giveaway", "产品讲解 Demo", "问答 Q&A"])
    ],
    duration_s=60,
)
QUICK_LOTTERY = LotteryCreate(
    title="在线福利 Stay-and-win",
    prizes=[PrizeIn(kind="points", name="100 积分 points", quantity=3, amount=100)],
    duration_s=180,
)


def register_jobs(runner: JobRunner) -> None:
    runner.register("analytics.alert_webhook", deliver_webhook)


async def deliver_webhook(session: AsyncSession, payload: dict[str, Any]) -> None:
    """POST the alert, signed with its rule's secret; a failure raises and the job retries."""
    alert = await session.get(Alert, int(payload["alert_id"]))
    rule = await session.get(AlertRule, alert.rule_id) if alert else None
    if alert is None or rule is None or not rule.webhook_url or not webhooks.is_allowed_url(rule.webhook_url):
        return
    body = orjson.dumps(alert_body(alert, rule))
    headers = webhooks.signed_headers(
        rule.webhook_secret, body, event="alert.raised", delivery=f"alert-{alert.id}"
    )
    async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_SECONDS) as client:
        response = await client.post(rule.webhook_url, content=body, headers=headers)
    response.raise_for_status()


def alert_body(alert: Alert, rule: AlertRule) -> dict[str, Any]:
    return {
        "alert_id": alert.id,
        "rule": rule.name,
        "show_id": alert.show_id,
        "room_id": alert.room_id,
        "metric": alert.metric,
        "value": alert.value,
        "comparator": alert.comparator,
        "threshold": alert.threshold,
        "suggested_action": alert.action or None,
        "raised_at": alert.raised_at.isoformat(),
    }
