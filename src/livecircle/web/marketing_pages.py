"""Operator pages for campaigns: the list with status and key figures (and the churn-recall
button), the editor (a form: trigger, steps with waits and branches, caps, quiet hours,
hold-out share) and the report. They call the same service functions as the JSON API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from livecircle.analytics.catalog import EVENT_TYPES
from livecircle.analytics.segments.lifecycle import STAGES
from livecircle.analytics.segments.rfm import TIER_ORDER
from livecircle.commerce import coupons
from livecircle.identity.deps import CsrfChecked, CurrentPrincipal
from livecircle.identity.schemas import Principal
from livecircle.kit.deps import DbSession
from livecircle.kit.errors import AppError
from livecircle.kit.templating import get_pages
from livecircle.marketing import report, service
from livecircle.marketing.models import Campaign
from livecircle.marketing.routes import store_of
from livecircle.marketing.schemas import CampaignIn, CampaignUpdate, ChurnRecallIn

router = APIRouter(include_in_schema=False)
STEP_TYPES = ("coupon", "message", "webhook", "tag", "wait", "branch")
STEP_FIELDS = ("template_id", "title", "body", "link", "event", "tag", "hours", "events", "since", "then")
STEP_FLAGS = ("email", "remove")
EXTRA_ROWS = 3
SETTINGS = (
    "holdout_percent",
    "cap_sends",
    "cap_days",
    "quiet_start",
    "quiet_end",
    "timezone",
    "conversion_days",
)
DEFAULTS: dict[str, Any] = {
    "name": "",
    "trigger": {"type": "segment", "segment": "lifecycle", "value": "churn_risk"},
    "steps": [],
    "holdout_percent": 10,
    "cap_sends": 3,
    "cap_days": 7,
    "quiet_start": 22,
    "quiet_end": 8,
    "timezone": "Asia/Shanghai",
    "conversion_days": 7,
}


def _render(
    request: Request, name: str, principal: Principal, status_code: int = 200, **context: Any
) -> Response:
    return get_pages(request).render(request, name, {"principal": principal, **context}, status_code)


def _sign_in(path: str) -> Response:
    return RedirectResponse(f"/login?next={path}", status_code=303)


@router.get("/console/campaigns")
async def console_campaigns(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    if not principal.is_authenticated:
        return _sign_in("/console/campaigns")
    tenant_id = service.operator_tenant(principal)
    rows = await service.summaries(session, await service.list_campaigns(session, tenant_id=tenant_id))
    templates = await coupons.list_templates(session, tenant_id, enabled_only=True)
    return _render(request, "console_campaigns.html", principal, campaigns=rows, templates=templates)


@router.post("/console/campaigns/churn-recall", dependencies=[CsrfChecked])
async def console_churn_recall(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    tenant_id = service.operator_tenant(principal)
    form = await request.form()
    template = str(form.get("coupon_template_id") or "")
    data = ChurnRecallIn(
        coupon_template_id=int(template) if template.isdigit() else None, email=bool(form.get("email"))
    )
    locale = getattr(request.state, "locale", "zh-CN")
    campaign = await service.do_create_churn_recall(
        session, tenant_id=tenant_id, user_id=principal.user_id, data=data, locale=locale
    )
    return RedirectResponse(f"/console/campaigns/{campaign.id}/report", status_code=303)


@router.get("/console/campaigns/new")
async def console_new_campaign(request: Request, principal: CurrentPrincipal) -> Response:
    if not principal.is_authenticated:
        return _sign_in("/console/campaigns/new")
    service.operator_tenant(principal)
    return _editor(request, principal, None, DEFAULTS)


@router.post("/console/campaigns", dependencies=[CsrfChecked])
async def console_create_campaign(
    request: Request, session: DbSession, principal: CurrentPrincipal
) -> Response:
    tenant_id = service.operator_tenant(principal)
    values = _from_form(await request.form())
    try:
        data = CampaignIn.model_validate(values)
        campaign = await service.do_create_campaign(
            session, tenant_id=tenant_id, user_id=principal.user_id, data=data
        )
    except (ValidationError, AppError) as exc:
        return _editor(request, principal, None, values, error=_problem(exc), status_code=422)
    return RedirectResponse(f"/console/campaigns/{campaign.id}", status_code=303)


@router.get("/console/campaigns/{campaign_id}")
async def console_campaign(
    campaign_id: int, request: Request, session: DbSession, principal: CurrentPrincipal
) -> Response:
    if not principal.is_authenticated:
        return _sign_in(f"/console/campaigns/{campaign_id}")
    campaign = await _campaign(session, principal, campaign_id)
    return _editor(request, principal, campaign, _values(campaign))


@router.post("/console/campaigns/{campaign_id}", dependencies=[CsrfChecked])
async def console_update_campaign(
    campaign_id: int, request: Request, session: DbSession, principal: CurrentPrincipal
) -> Response:
    campaign = await _campaign(session, principal, campaign_id)
    values = _from_form(await request.form())
    try:
        data = CampaignUpdate.model_validate(values)
        await service.do_update_campaign(session, campaign, data)
    except (ValidationError, AppError) as exc:
        return _editor(request, principal, campaign, values, error=_problem(exc), status_code=422)
    return RedirectResponse(f"/console/campaigns/{campaign.id}?saved=1", status_code=303)


@router.post("/console/campaigns/{campaign_id}/status", dependencies=[CsrfChecked])
async def console_campaign_status(
    campaign_id: int, request: Request, session: DbSession, principal: CurrentPrincipal
) -> Response:
    campaign = await _campaign(session, principal, campaign_id)
    status = str((await request.form()).get("status", ""))
    if status in ("active", "paused", "ended"):
        await service.do_set_status(session, campaign, status)
    return RedirectResponse("/console/campaigns", status_code=303)


@router.get("/console/campaigns/{campaign_id}/report")
async def console_campaign_report(
    campaign_id: int, request: Request, session: DbSession, principal: CurrentPrincipal
) -> Response:
    if not principal.is_authenticated:
        return _sign_in(f"/console/campaigns/{campaign_id}/report")
    campaign = await _campaign(session, principal, campaign_id)
    store = store_of(request)
    await store.sync()
    figures = await report.campaign_report(session, store, campaign)
    return _render(request, "console_campaign_report.html", principal, report=figures, campaign=campaign)


async def _campaign(session: DbSession, principal: Principal, campaign_id: int) -> Campaign:
    tenant_id = service.operator_tenant(principal)
    return await service.access_campaign(session, tenant_id=tenant_id, campaign_id=campaign_id)


def _editor(
    request: Request,
    principal: Principal,
    campaign: Campaign | None,
    values: dict[str, Any],
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    steps = list(values.get("steps") or [])
    rows = steps + [{} for _ in range(EXTRA_ROWS if steps else 5)]
    return _render(
        request,
        "console_campaign_edit.html",
        principal,
        status_code,
        campaign=campaign,
        values=values,
        trigger=values.get("trigger") or {},
        rows=rows,
        step_types=STEP_TYPES,
        stages=STAGES,
        tiers=TIER_ORDER,
        event_types=sorted(EVENT_TYPES),
        error=error,
        saved=request.query_params.get("saved") == "1",
    )


def _values(campaign: Campaign) -> dict[str, Any]:
    return {
        "name": campaign.name,
        "trigger": campaign.trigger,
        "steps": campaign.steps,
        **{name: getattr(campaign, name) for name in SETTINGS},
    }


def _from_form(form: FormData) -> dict[str, Any]:
    """The editor's fields as the API's body (the schemas validate it)."""
    text = {key: str(value).strip() for key, value in form.items() if isinstance(value, str)}
    values: dict[str, Any] = {"name": text.get("name", ""), "trigger": _trigger(text), "steps": _steps(text)}
    for name in SETTINGS:
        if text.get(name):
            values[name] = text[name]
    return values


def _trigger(text: dict[str, str]) -> dict[str, Any]:
    kind = text.get("trigger_type", "segment")
    if kind == "segment":
        segment = text.get("segment", "lifecycle")
        value = text.get(f"value_{segment}", "")
        return {"type": kind, "segment": segment, "value": value, "model": text.get("model") == "true"}
    if kind == "event":
        return {"type": kind, "event": text.get("event", ""), "did": text.get("did") != "false",
                "days": text.get("days") or 14}  # fmt: skip
    if kind == "flash_sale_miss":
        return {"type": kind, "hours": text.get("hours") or 24}
    return {"type": kind, "minutes": text.get("minutes") or 30}


def _steps(text: dict[str, str]) -> list[dict[str, Any]]:
    steps = []
    index = 0
    while f"steps-{index}-type" in text:
        row = {field: text.get(f"steps-{index}-{field}", "") for field in STEP_FIELDS}
        kind = text[f"steps-{index}-type"]
        index += 1
        if kind not in STEP_TYPES:
            continue
        step: dict[str, Any] = {"type": kind}
        step.update({k: v for k, v in row.items() if v and k in _FIELDS_OF[kind]})
        step.update(
            {
                flag: True
                for flag in STEP_FLAGS
                if flag in _FIELDS_OF[kind] and f"steps-{index - 1}-{flag}" in text
            }
        )
        if kind == "branch":
            step["events"] = [e.strip() for e in row["events"].split(",") if e.strip()]
            step["then"] = int(row["then"]) if row["then"].isdigit() else "stop"
        steps.append(step)
    return steps


_FIELDS_OF: dict[str, tuple[str, ...]] = {
    "coupon": ("template_id",),
    "message": ("title", "body", "link", "email"),
    "webhook": ("event",),
    "tag": ("tag", "remove"),
    "wait": ("hours",),
    "branch": ("events", "since", "then"),
}


def _problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    return exc.detail if isinstance(exc, AppError) else str(exc)
