"""The live dashboard page of a show (host and moderators) and the operator's alert rules.
The page holds no figures itself: static/dashboard.js reads the dashboard API every 2 s."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from livecircle.analytics import service as analytics_service
from livecircle.analytics.alerts import service as alerts_service
from livecircle.analytics.alerts.window import METRICS
from livecircle.analytics.metrics import DEFINITIONS
from livecircle.analytics.store import EventStore
from livecircle.analytics.trends import TREND_TYPES
from livecircle.identity.deps import CurrentPrincipal
from livecircle.identity.schemas import Role
from livecircle.interaction import service as interaction_service
from livecircle.kit.deps import DbSession
from livecircle.kit.errors import Forbidden
from livecircle.live import service as live_service
from livecircle.web.commerce_pages import render

router = APIRouter(include_in_schema=False)
REFRESH_MS = 2000


@router.get("/console/shows/{show_id}/dashboard")
async def show_dashboard(
    request: Request, show_id: int, session: DbSession, principal: CurrentPrincipal
) -> Response:
    if not principal.is_authenticated:
        return RedirectResponse(f"/login?next=/console/shows/{show_id}/dashboard", status_code=303)
    show = await live_service.get_show(session, show_id)
    room = await interaction_service.check_moderate_room(session, principal, show.room_id)
    config = {"show_id": show.id, "refresh_ms": REFRESH_MS, "definitions": DEFINITIONS}
    return render(request, "console_dashboard.html", principal, show=show, room=room, config=config)


@router.get("/console/rooms/{room_id}/dashboard")
async def room_dashboard(room_id: int, session: DbSession, principal: CurrentPrincipal) -> Response:
    """The room's live show, else its latest one."""
    room = await interaction_service.check_moderate_room(session, principal, room_id)
    show = await live_service.get_current_show(session, room.id)
    if show is None:
        return RedirectResponse(f"/console/rooms/{room_id}", status_code=303)
    return RedirectResponse(f"/console/shows/{show.id}/dashboard", status_code=303)


@router.get("/console/alert-rules")
async def alert_rules(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    if not principal.is_authenticated:
        return RedirectResponse("/login?next=/console/alert-rules", status_code=303)
    if principal.tenant_id is None or not principal.has_role(principal.tenant_id, Role.OPERATOR):
        raise Forbidden("Operators of the community manage alert rules")
    rules = await alerts_service.list_rules(session, tenant_id=principal.tenant_id)
    return render(request, "console_alert_rules.html", principal, rules=rules, metrics=METRICS)


@router.get("/console/analytics")
async def overview(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    """The tenant's last 30 days, day by day, and its recent shows with their dashboards."""
    if not principal.is_authenticated:
        return RedirectResponse("/login?next=/console/analytics", status_code=303)
    if principal.tenant_id is None or not principal.has_role(principal.tenant_id, Role.OPERATOR):
        raise Forbidden("Operators of the community see its data overview")
    store: EventStore = request.app.state.analytics
    days = await analytics_service.tenant_trends(store, tenant_id=principal.tenant_id, days=30)
    shows = await live_service.list_tenant_shows(session, principal.tenant_id, limit=20)
    return render(request, "console_analytics.html", principal, days=days, types=TREND_TYPES, shows=shows)
