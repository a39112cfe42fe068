"""Analytics entry points: client events and imports, the live dashboard."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.analytics import metrics, trends
from livecircle.analytics.alerts import service as alerts_service
from livecircle.analytics.catalog import EVENT_TYPES
from livecircle.analytics.errors import EventTypeNotAllowed, ImportNotAllowed
from livecircle.analytics.schemas import DashboardOut, EventBatchIn, EventBatchOut, EventIn
from livecircle.analytics.store import EventStore
from livecircle.identity.schemas import Principal, Role
from livecircle.interaction import service as interaction_service
from livecircle.kit.clock import utcnow
from livecircle.kit.db import one_sqlite_writer
from livecircle.kit.errors import BadRequest
from livecircle.kit.tracking import AnalyticsEvent, Row, event_row, insert_rows
from livecircle.live import service as live_service

# What a page or app may report about its own viewer; the rest is recorded by the server.
CLIENT_TYPES = frozenset({"share", "page_view", "replay_view"})
MAX_PROPS_BYTES = 2048


async def do_ingest(
    session: AsyncSession, principal: Principal, *, device: str | None, batch: EventBatchIn
) -> EventBatchOut:
    """Store a batch of events, each once by ``event_id``. Viewers send their own client
    events (server time, their own identity); operators may import any type with its time
    and account (history, other systems). Raises EventTypeNotAllowed, ImportNotAllowed,
    BadRequest (props too large, no tenant)."""
    importing = any(e.ts is not None or e.user_id is not None for e in batch.events)
    tenant_id = principal.tenant_id
    if importing and not (tenant_id is not None and principal.has_role(tenant_id, Role.OPERATOR)):
        raise ImportNotAllowed()
    rows = [await _row(session, principal, device, e, importing=importing) for e in batch.events]
    ids = list({row["event_id"] for row in rows})
    known = await session.scalar(select(func.count()).where(AnalyticsEvent.event_id.in_(ids))) or 0
    await one_sqlite_writer(session)
    await insert_rows(session, rows)
    accepted = len(ids) - int(known)
    return EventBatchOut(accepted=accepted, duplicates=len(rows) - accepted)


async def _row(
    session: AsyncSession, principal: Principal, device: str | None, e: EventIn, *, importing: bool
) -> Row:
    allowed = EVENT_TYPES if importing else CLIENT_TYPES
    if e.type not in allowed:
        raise EventTypeNotAllowed(f"Event type {e.type!r} cannot be sent here", allowed=sorted(allowed))
    if len(orjson.dumps(e.props)) > MAX_PROPS_BYTES:
        raise BadRequest(f"props must stay under {MAX_PROPS_BYTES} bytes of JSON")
    tenant_id = principal.tenant_id or await _tenant_of(session, e)
    prefix = "import" if importing else f"client:{principal.user_id or device or 'anon'}"
    return event_row(
        e.type,
        event_id=f"{prefix}:{e.event_id}",
        ts=e.ts if importing else None,
        tenant_id=tenant_id,
        user_id=e.user_id if importing else principal.user_id,
        anon_id=None if principal.user_id or importing else device,
        room_id=e.room_id,
        show_id=e.show_id,
        amount=e.amount,
        props=e.props,
    )


async def _tenant_of(session: AsyncSession, e: EventIn) -> int:
    """An anonymous viewer's events belong to the community of the show or room they name."""
    if e.show_id is not None:
        return (await live_service.get_show(session, e.show_id)).tenant_id
    if e.room_id is not None:
        return (await live_service.get_room(session, e.room_id)).tenant_id
    raise BadRequest("An anonymous viewer's event names its show_id or room_id")


async def show_dashboard(
    session: AsyncSession, store: EventStore, principal: Principal, show_id: int
) -> DashboardOut:
    """The show's live figures, for its host and the tenant's moderators and operators.
    Raises ShowNotFound, RoomNotFound, NotModerator."""
    show = await live_service.get_show(session, show_id)
    await interaction_service.check_moderate_room(session, principal, show.room_id)
    await store.sync()
    as_of = show.ended_at or utcnow()
    figures = await store.run(lambda con: metrics.show_figures(con, show_id, until=as_of))
    alerts = await alerts_service.list_show_alerts(session, show_id=show_id)
    return DashboardOut(
        show_id=show.id,
        room_id=show.room_id,
        status=show.status,
        as_of=as_of,
        figures=figures,
        definitions=metrics.DEFINITIONS,
        alerts=[_alert_out(a) for a in alerts],
    )


async def tenant_trends(store: EventStore, *, tenant_id: int, days: int) -> list[dict[str, Any]]:
    """The last ``days`` UTC days (today included) of the tenant, one row per day."""
    await store.sync()
    until = utcnow().replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    since = until - timedelta(days=days)
    return await store.run(lambda con: trends.trend_table(con, tenant_id=tenant_id, since=since, until=until))


def _alert_out(alert: Any) -> dict[str, Any]:
    return {
        "id": alert.id,
        "metric": alert.metric,
        "value": alert.value,
        "comparator": alert.comparator,
        "threshold": alert.threshold,
        "action": alert.action,
        "raised_at": alert.raised_at.isoformat(),
        "acked_at": alert.acked_at.isoformat() if alert.acked_at else None,
        "action_result": alert.action_result,
    }
