"""Report JSON API: the report's data, rebuild now, CSV of its tables, the show's targets."""

from __future__ import annotations

from typing import Annotated, Literal, cast

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from livecircle.analytics.report import service
from livecircle.analytics.report.models import StoredReport
from livecircle.analytics.report.schemas import ReportOut, TargetsIn, TargetsOut
from livecircle.analytics.store import EventStore
from livecircle.identity.deps import CurrentPrincipal
from livecircle.kit.deps import DbSession

router = APIRouter(prefix="/api/v1", tags=["reports"])
ObjectId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Table = Literal["funnel", "products", "curve", "interaction", "formulas", "comparison", "targets", "segments"]


def get_store(request: Request) -> EventStore:
    return cast(EventStore, request.app.state.analytics)


AnalyticsStore = Annotated[EventStore, Depends(get_store)]


@router.get("/shows/{show_id}/report")
async def get_report(show_id: ObjectId, session: DbSession, principal: CurrentPrincipal) -> ReportOut:
    """The show's latest report (404 ``report_not_found`` until it is built)."""
    await service.check_view_report(session, principal, show_id)
    return report_out(await service.get_stored(session, show_id))


@router.post("/shows/{show_id}/report")
async def rebuild_report(
    show_id: ObjectId, session: DbSession, principal: CurrentPrincipal, store: AnalyticsStore
) -> ReportOut:
    """Build the report again now (host or operator; 409 while the show is not over)."""
    await service.check_manage_report(session, principal, show_id)
    return report_out(await service.do_build_and_store(session, store, show_id))


@router.get("/shows/{show_id}/report.csv", response_class=Response)
async def report_csv(
    show_id: ObjectId,
    session: DbSession,
    principal: CurrentPrincipal,
    table: Annotated[Table, Query()] = "funnel",
) -> Response:
    await service.check_view_report(session, principal, show_id)
    stored = await service.get_stored(session, show_id)
    headers = {"Content-Disposition": f'attachment; filename="report-{show_id}-{table}.csv"'}
    return Response(
        service.export_csv(stored.data, table), media_type="text/csv; charset=utf-8", headers=headers
    )


@router.get("/shows/{show_id}/targets")
async def get_targets(show_id: ObjectId, session: DbSession, principal: CurrentPrincipal) -> TargetsOut:
    await service.check_view_report(session, principal, show_id)
    return TargetsOut(show_id=show_id, targets=await service.get_targets(session, show_id))


@router.put("/shows/{show_id}/targets")
async def put_targets(
    show_id: ObjectId, data: TargetsIn, session: DbSession, principal: CurrentPrincipal, store: AnalyticsStore
) -> TargetsOut:
    """Replace the show's targets (host or operator); an ended show's report is rebuilt with them."""
    show = await service.check_manage_report(session, principal, show_id)
    targets = await service.do_set_targets(session, show, data.targets)
    if show.status == service.ENDED:
        await service.do_build_and_store(session, store, show_id)
    return TargetsOut(show_id=show_id, targets=targets)


def report_out(stored: StoredReport) -> ReportOut:
    base = f"/shows/{stored.show_id}/report"
    return ReportOut(
        show_id=stored.show_id,
        built_at=stored.built_at,
        build_seconds=stored.build_seconds,
        data=stored.data,
        links={"page": base, "pdf": f"{base}.pdf", "csv": f"/api/v1{base}.csv?table=funnel"},
    )
