"""A show's targets (own, defaults, effective) and target vs actual from its figures."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.analytics import metrics
from livecircle.analytics.planning import targets
from livecircle.analytics.planning.schemas import (
    ComparisonOut,
    ComparisonRow,
    EffectiveTarget,
    ShowTargetsOut,
)
from livecircle.analytics.report import service as report_service
from livecircle.analytics.store import EventStore
from livecircle.identity.schemas import Principal
from livecircle.kit.clock import utcnow
from livecircle.live.models import Show


async def targets_out(session: AsyncSession, show: Show) -> ShowTargetsOut:
    held = await targets.effective(session, show_id=show.id, tenant_id=show.tenant_id)
    defaults, _ = await targets.tenant_defaults(session, tenant_id=show.tenant_id)
    return ShowTargetsOut(
        show_id=show.id,
        own=await targets.show_own(session, show_id=show.id),
        defaults=defaults,
        effective=[
            EffectiveTarget(metric=t.metric, target=t.target, source=t.source, alerts=t.alerts) for t in held
        ],
    )


async def do_set_show_targets(
    session: AsyncSession, store: EventStore, principal: Principal, show: Show, wanted: dict[str, float]
) -> None:
    """Replace the show's own targets (its host or an operator: NotRoomOwner otherwise); an
    ended show's report is built again with them. Raises UnknownKpi."""
    targets.check_metrics(wanted)
    await report_service.check_manage_report(session, principal, show.id)
    await report_service.do_set_targets(session, show, wanted)
    if show.status == report_service.ENDED:
        await report_service.do_build_and_store(session, store, show.id)


async def compare(session: AsyncSession, store: EventStore, show: Show) -> ComparisonOut:
    """Every effective target against the show's figures as of now (or its end)."""
    held = await targets.effective(session, show_id=show.id, tenant_id=show.tenant_id)
    as_of = show.ended_at or utcnow()
    await store.sync()
    figures = await store.run(lambda con: metrics.show_figures(con, show.id, until=as_of))
    rows = []
    for t in held:
        actual = figures.get(t.metric)
        met = None if actual is None else float(actual) >= t.target
        rows.append(ComparisonRow(metric=t.metric, target=t.target, actual=actual, met=met, source=t.source))
    return ComparisonOut(show_id=show.id, status=show.status, as_of=as_of, rows=rows)
