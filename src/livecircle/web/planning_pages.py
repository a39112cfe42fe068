"""Content planning pages (hosts and operators): the calendar with target vs actual and the
monthly targets, the topic library with the audience's suggestions and their evidence, the
tenant's default KPI targets, and a show's own targets against its figures. Plain forms that
call the same service functions as /api/v1/planning (no script on these pages).

Forms show ratios in percent and money in yuan; the API takes fractions and cents."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from livecircle.analytics.planning import calendar, comparison, service, suggest, targets
from livecircle.analytics.planning.schemas import PlanShowIn, TopicIn, TopicPatch
from livecircle.analytics.planning.service import planner_tenant
from livecircle.analytics.store import EventStore
from livecircle.identity.deps import CsrfChecked, CurrentPrincipal
from livecircle.identity.schemas import Principal, Role
from livecircle.kit.clock import utcnow
from livecircle.kit.deps import DbSession
from livecircle.kit.errors import AppError
from livecircle.live import service as live_service
from livecircle.live.schemas import Scenario
from livecircle.web.commerce_pages import render

router = APIRouter(include_in_schema=False)
RATIOS = frozenset({"interaction_rate", "click_to_order", "payment_success"})
CENTS = frozenset({"gmv_cents", "paid_cents"})
# The figures the forms offer (any of targets.KPI_METRICS is accepted by the API).
FORM_METRICS: tuple[str, ...] = (
    "viewers",
    "peak",
    "interaction_rate",
    "comments",
    "shares",
    "product_clicks",
    "click_to_order",
    "orders",
    "gmv_cents",
    "payment_success",
    "new_followers",
    "new_members",
)
MonthQuery = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")]
Text = Annotated[str, Form(max_length=4000)]


def _sign_in(path: str) -> Response:
    return RedirectResponse(f"/login?next={path}", status_code=303)


def _store(request: Request) -> EventStore:
    store: EventStore = request.app.state.analytics
    return store


def to_form(metric: str, value: float | None) -> str:
    """A target as the form shows it: percent for ratios, yuan for cents."""
    if value is None:
        return ""
    shown = value * 100 if metric in RATIOS else value / 100 if metric in CENTS else value
    return f"{shown:g}"


def from_form(form: dict[str, str]) -> dict[str, float]:
    """Filled ``kpi_<metric>`` fields as API values. Raises ValueError for a bad number."""
    found: dict[str, float] = {}
    for metric in FORM_METRICS:
        raw = form.get(f"kpi_{metric}", "").strip()
        if raw:
            value = float(raw)
            found[metric] = value / 100 if metric in RATIOS else value * 100 if metric in CENTS else value
    return found


@router.get("/console/planning")
async def planning_page(
    request: Request, session: DbSession, principal: CurrentPrincipal, month: MonthQuery = None
) -> Response:
    if not principal.is_authenticated:
        return _sign_in("/console/planning")
    return await _page(request, session, principal, month=month or f"{utcnow():%Y-%m}")


async def _page(
    request: Request, session: DbSession, principal: Principal, *, month: str, status: int = 200, **extra: Any
) -> Response:
    tenant_id = planner_tenant(principal)
    topics = await service.list_topics(session, tenant_id=tenant_id)
    rows = await suggest.stored(session, tenant_id=tenant_id)
    defaults, defaults_source = await targets.tenant_defaults(session, tenant_id=tenant_id)
    context = {
        "cal": await calendar.calendar(session, tenant_id=tenant_id, month=month),
        "topics": topics,
        "topic_shows": await service.topic_shows(session, [t.id for t in topics]),
        "suggestions": (await suggest.view(session, rows, tenant_id=tenant_id)).suggestions,
        "rooms": [
            r for r in await live_service.list_managed_rooms(session, principal) if r.tenant_id == tenant_id
        ],
        "defaults": {m: to_form(m, defaults.get(m)) for m in FORM_METRICS},
        "defaults_source": defaults_source,
        "metrics": FORM_METRICS,
        "ratios": RATIOS,
        "cents": CENTS,
        "scenarios": [s.value for s in Scenario],
        "operator": principal.has_role(tenant_id, Role.OPERATOR),
        "error": None,
        **extra,
    }
    return render(request, "console_planning.html", principal, status_code=status, **context)


async def _failed(
    request: Request, session: DbSession, principal: Principal, exc: Exception, month: str | None = None
) -> Response:
    detail = exc.detail if isinstance(exc, AppError) else _validation_text(exc)
    status = exc.status_code if isinstance(exc, AppError) else 422
    return await _page(
        request, session, principal, month=month or f"{utcnow():%Y-%m}", status=status, error=detail
    )


def _validation_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(str(e.get("msg", "")) for e in exc.errors())
    return str(exc)


@router.post("/console/planning/topics", dependencies=[CsrfChecked])
async def add_topic(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    title: Annotated[str, Form(max_length=200)],
    scenario: Annotated[str, Form(max_length=24)] = "brand",
    tags: Annotated[str, Form(max_length=400)] = "",
    notes: Text = "",
) -> Response:
    tenant_id = planner_tenant(principal)
    assert principal.user_id is not None
    try:
        data = TopicIn(title=title, scenario=scenario, tags=_split(tags), notes=notes)
    except ValidationError as exc:
        return await _failed(request, session, principal, exc)
    topic = await service.do_create_topic(session, tenant_id=tenant_id, user_id=principal.user_id, data=data)
    return RedirectResponse(f"/console/planning#topic-{topic.id}", status_code=303)


@router.post("/console/planning/topics/{topic_id}/status", dependencies=[CsrfChecked])
async def topic_status(
    request: Request,
    topic_id: int,
    session: DbSession,
    principal: CurrentPrincipal,
    status: Annotated[str, Form(max_length=12)],
) -> Response:
    topic = await service.access_topic(session, tenant_id=planner_tenant(principal), topic_id=topic_id)
    try:
        patch = TopicPatch(status=status)
    except ValidationError as exc:
        return await _failed(request, session, principal, exc)
    await service.do_update_topic(session, topic, patch)
    return RedirectResponse(f"/console/planning#topic-{topic.id}", status_code=303)


@router.post("/console/planning/topics/{topic_id}/plan", dependencies=[CsrfChecked])
async def plan_show(
    request: Request,
    topic_id: int,
    session: DbSession,
    principal: CurrentPrincipal,
    room_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
    scheduled_at: Annotated[str, Form(max_length=40)],
) -> Response:
    """``scheduled_at`` from a datetime-local field, read as UTC."""
    topic = await service.access_topic(session, tenant_id=planner_tenant(principal), topic_id=topic_id)
    try:
        when = datetime.fromisoformat(scheduled_at).replace(tzinfo=UTC)
        show = await service.do_plan_show(
            session, principal, topic, PlanShowIn(room_id=room_id, scheduled_at=when)
        )
    except (ValueError, AppError) as exc:
        return await _failed(request, session, principal, exc)
    return RedirectResponse(f"/console/planning?month={when:%Y-%m}#show-{show.id}", status_code=303)


@router.post("/console/planning/suggestions/refresh", dependencies=[CsrfChecked])
async def refresh(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    tenant_id = planner_tenant(principal)
    await suggest.do_refresh(session, _store(request), tenant_id=tenant_id)
    await suggest.schedule_next(session, tenant_id=tenant_id, after=utcnow())
    return RedirectResponse("/console/planning#suggestions", status_code=303)


@router.post("/console/planning/suggestions/{suggestion_id}/adopt", dependencies=[CsrfChecked])
async def adopt(suggestion_id: int, session: DbSession, principal: CurrentPrincipal) -> Response:
    tenant_id = planner_tenant(principal)
    suggestion = await service.access_suggestion(session, tenant_id=tenant_id, suggestion_id=suggestion_id)
    assert principal.user_id is not None
    topic, _ = await service.do_adopt(session, suggestion, user_id=principal.user_id)
    return RedirectResponse(f"/console/planning#topic-{topic.id}", status_code=303)


@router.post("/console/planning/month-targets", dependencies=[CsrfChecked])
async def month_targets(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    """Fields ``month`` (YYYY-MM or "default") and ``shows_<scope>`` (blank: no target)."""
    tenant_id = service.operator_tenant(principal)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    month = form.get("month", "")
    try:
        calendar.check_month_key(month)
        wanted = {s: int(form[f"shows_{s}"]) for s in calendar.SCOPES if form.get(f"shows_{s}", "").strip()}
        if any(not 0 <= n <= 1000 for n in wanted.values()):
            raise ValueError("a target is 0 to 1000 shows")
    except (ValueError, AppError) as exc:
        return await _failed(request, session, principal, exc)
    await calendar.do_set_month_targets(session, tenant_id=tenant_id, month=month, targets=wanted)
    shown = month if month != calendar.DEFAULT_MONTH else f"{utcnow():%Y-%m}"
    return RedirectResponse(f"/console/planning?month={shown}#planning-calendar", status_code=303)


@router.post("/console/planning/kpi-defaults", dependencies=[CsrfChecked])
async def kpi_defaults(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    tenant_id = service.operator_tenant(principal)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        wanted = _checked(from_form(form))
    except (ValueError, AppError) as exc:
        return await _failed(request, session, principal, exc)
    await targets.do_set_tenant_defaults(session, tenant_id=tenant_id, targets=wanted)
    return RedirectResponse("/console/planning#kpi-defaults", status_code=303)


@router.get("/console/planning/shows/{show_id}")
async def show_targets(
    request: Request, show_id: int, session: DbSession, principal: CurrentPrincipal
) -> Response:
    if not principal.is_authenticated:
        return _sign_in(f"/console/planning/shows/{show_id}")
    return await _show_page(request, session, principal, show_id)


async def _show_page(
    request: Request,
    session: DbSession,
    principal: Principal,
    show_id: int,
    *,
    status: int = 200,
    error: str = "",
) -> Response:
    show = await service.access_show(session, principal, show_id)
    held = await comparison.targets_out(session, show)
    compared = await comparison.compare(session, _store(request), show)
    context = {
        "show": show,
        "own": {m: to_form(m, held.own.get(m)) for m in FORM_METRICS},
        "defaults": {m: to_form(m, held.defaults.get(m)) for m in FORM_METRICS},
        "rows": compared.rows,
        "alerted": {t.metric for t in held.effective if t.alerts},
        "metrics": FORM_METRICS,
        "ratios": RATIOS,
        "cents": CENTS,
        "error": error,
    }
    return render(request, "console_planning_show.html", principal, status_code=status, **context)


@router.post("/console/planning/shows/{show_id}/targets", dependencies=[CsrfChecked])
async def save_show_targets(
    request: Request, show_id: int, session: DbSession, principal: CurrentPrincipal
) -> Response:
    show = await service.access_show(session, principal, show_id)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        wanted = _checked(from_form(form))
        await comparison.do_set_show_targets(session, _store(request), principal, show, wanted)
    except ValueError as exc:
        return await _show_page(request, session, principal, show_id, status=422, error=str(exc))
    return RedirectResponse(f"/console/planning/shows/{show_id}?saved=1", status_code=303)


def _checked(wanted: dict[str, float]) -> dict[str, float]:
    if any(not 0 <= v <= 1e12 for v in wanted.values()):
        raise ValueError("A target is a number from 0")
    return wanted


def _split(tags: str) -> list[str]:
    return [t.strip() for t in tags.replace("，", ",").split(",") if t.strip()]
