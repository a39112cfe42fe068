"""Post-show report pages: the report with its charts, its PDF and stored HTML document, and
the console's list of the tenant's reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response

from livecircle.analytics.report import document, service
from livecircle.identity.deps import CurrentPrincipal
from livecircle.kit.deps import DbSession
from livecircle.kit.templating import get_pages

router = APIRouter(include_in_schema=False)
ObjectId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]


def _gettext(request: Request) -> document.Gettext:
    return document.gettext_for(getattr(request.state, "locale", document.DEFAULT_LOCALE))


@router.get("/shows/{show_id}/report")
async def report_page(
    request: Request, show_id: ObjectId, session: DbSession, principal: CurrentPrincipal
) -> Response:
    if not principal.is_authenticated:
        return RedirectResponse(f"/login?next=/shows/{show_id}/report", status_code=303)
    await service.check_view_report(session, principal, show_id)
    stored = await service.get_stored(session, show_id)
    context = {"principal": principal, "csv_tables": list(service.CSV_TABLES)}
    context |= document.view(stored.data, _gettext(request))
    return get_pages(request).render(request, "report.html", context)


@router.get("/shows/{show_id}/report.pdf")
async def report_pdf(show_id: ObjectId, session: DbSession, principal: CurrentPrincipal) -> Response:
    await service.check_view_report(session, principal, show_id)
    stored = await service.get_stored(session, show_id)
    headers = {"Content-Disposition": f'inline; filename="report-{show_id}.pdf"'}
    return Response(stored.pdf, media_type="application/pdf", headers=headers)


@router.get("/shows/{show_id}/report.html")
async def report_document(show_id: ObjectId, session: DbSession, principal: CurrentPrincipal) -> Response:
    """The standalone document stored with the report (Chinese), as built."""
    await service.check_view_report(session, principal, show_id)
    stored = await service.get_stored(session, show_id)
    return Response(stored.html, media_type="text/html; charset=utf-8")


@router.get("/console/reports")
async def console_reports(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    if not principal.is_authenticated:
        return RedirectResponse("/login?next=/console/reports", status_code=303)
    tenant_id = service.check_console_tenant(principal)
    reports = await service.list_reports(session, tenant_id=tenant_id)
    context = {"principal": principal, "reports": reports, "fmt": document.fmt}
    context["labels"] = document.labels(_gettext(request))
    return get_pages(request).render(request, "console_reports.html", context)
