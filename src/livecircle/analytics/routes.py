"""Analytics JSON API: events in, the live dashboard, alert rules and alerts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status

from livecircle.analytics import exports, service
from livecircle.analytics.alerts import service as alerts_service
from livecircle.analytics.alerts import tasks as alert_tasks
from livecircle.analytics.alerts.window import METRICS
from livecircle.analytics.metrics import DEFINITIONS
from livecircle.analytics.schemas import (
    AlertRuleIn,
    AlertRuleOut,
    AlertRulePatch,
    DashboardOut,
    EventBatchIn,
    EventBatchOut,
)
from livecircle.analytics.store import EventStore
from livecircle.analytics.trends import TREND_TYPES
from livecircle.identity.deps import CurrentPrincipal, CurrentUser, device_of
from livecircle.identity.schemas import Principal, Role
from livecircle.kit import webhooks
from livecircle.kit.deps import DbSession
from livecircle.kit.errors import BadRequest, Forbidden

router = APIRouter(prefix="/api/v1", tags=["analytics"])
ObjectId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Days = Annotated[int, Query(ge=1, le=366)]


def _store(request: Request) -> EventStore:
    store: EventStore = request.app.state.analytics
    return store


def _operator_tenant(principal: Principal) -> int:
    if principal.tenant_id is None or not principal.has_role(principal.tenant_id, Role.OPERATOR):
        raise Forbidden("Only the community's operators see its analytics and alert rules")
    return principal.tenant_id


@router.post("/events", status_code=status.HTTP_202_ACCEPTED)
async def ingest(
    data: EventBatchIn, request: Request, session: DbSession, principal: CurrentPrincipal
) -> EventBatchOut:
    """Up to 500 events, each stored once by ``event_id``. Viewers: share, page_view,
    replay_view about themselves. Operators: any catalogued type, with ``ts`` and ``user_id``."""
    return await service.do_ingest(session, principal, device=device_of(request), batch=data)


@router.get("/shows/{show_id}/dashboard")
async def dashboard(
    show_id: ObjectId, request: Request, session: DbSession, principal: CurrentUser
) -> DashboardOut:
    """The show's live figures with their definitions, and its alerts (host, moderators)."""
    return await service.show_dashboard(session, _store(request), principal, show_id)


@router.get("/shows/{show_id}/dashboard.csv")
async def dashboard_csv(
    show_id: ObjectId, request: Request, session: DbSession, principal: CurrentUser
) -> Response:
    """The dashboard's figures now, each with its definition."""
    board = await service.show_dashboard(session, _store(request), principal, show_id)
    rows = ((name, value, board.definitions.get(name, "")) for name, value in board.figures.items())
    return exports.csv_response(f"dashboard-{show_id}.csv", ("figure", "value", "definition"), rows)


@router.get("/analytics/trends")
async def trends(request: Request, principal: CurrentUser, days: Days = 30) -> list[dict[str, Any]]:
    """Per UTC day: active people and the main event counts (operators)."""
    return await service.tenant_trends(_store(request), tenant_id=_operator_tenant(principal), days=days)


@router.get("/analytics/trends.csv")
async def trends_csv(request: Request, principal: CurrentUser, days: Days = 30) -> Response:
    rows = await service.tenant_trends(_store(request), tenant_id=_operator_tenant(principal), days=days)
    header = ("day", "active", *TREND_TYPES)
    return exports.csv_response("trends.csv", header, ([row[c] for c in header] for row in rows))


@router.get("/analytics/definitions")
async def definitions() -> dict[str, dict[str, str]]:
    """What every dashboard figure and alert metric means."""
    return {"figures": DEFINITIONS, "alert_metrics": METRICS}


@router.get("/analytics/alert-rules")
async def list_rules(session: DbSession, principal: CurrentUser) -> list[AlertRuleOut]:
    rules = await alerts_service.list_rules(session, tenant_id=_operator_tenant(principal))
    return [AlertRuleOut.model_validate(rule) for rule in rules]


@router.post("/analytics/alert-rules", status_code=status.HTTP_201_CREATED)
async def create_rule(data: AlertRuleIn, session: DbSession, principal: CurrentUser) -> AlertRuleOut:
    _check_url(data.webhook_url)
    fields = data.model_dump()
    rule = await alerts_service.do_create_rule(session, tenant_id=_operator_tenant(principal), fields=fields)
    return AlertRuleOut.model_validate(rule)


@router.patch("/analytics/alert-rules/{rule_id}")
async def update_rule(
    rule_id: ObjectId, data: AlertRulePatch, session: DbSession, principal: CurrentUser
) -> AlertRuleOut:
    _check_url(data.webhook_url)
    rule = await alerts_service.get_rule(session, tenant_id=_operator_tenant(principal), rule_id=rule_id)
    rule = await alerts_service.do_update_rule(session, rule, data.model_dump(exclude_unset=True))
    return AlertRuleOut.model_validate(rule)


def _check_url(url: str | None) -> None:
    if url and not webhooks.is_allowed_url(url):
        raise BadRequest("Webhook URLs must be https (or http to this machine)")


@router.post("/alerts/{alert_id}/ack")
async def ack_alert(alert_id: ObjectId, session: DbSession, principal: CurrentUser) -> dict[str, Any]:
    """Seen: the time to acknowledge is recorded once."""
    alert = await alerts_service.access_alert(session, principal, alert_id)
    assert principal.user_id is not None
    alert = await alerts_service.do_ack(session, alert, user_id=principal.user_id)
    return {"id": alert.id, "acked_at": alert.acked_at.isoformat() if alert.acked_at else None}


@router.post("/alerts/{alert_id}/act")
async def act_on_alert(alert_id: ObjectId, session: DbSession, principal: CurrentUser) -> dict[str, Any]:
    """Run the suggested action (launch the poll, drop the coupon, start the lottery) now."""
    alert = await alerts_service.access_alert(session, principal, alert_id)
    assert principal.user_id is not None
    return await alert_tasks.do_act(session, alert, user_id=principal.user_id)
