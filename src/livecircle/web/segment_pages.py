"""Operator pages for tags, segments, cohorts and A/B comparisons, and a member's own tags
with the profiling opt-out switch. They call the same service functions as the JSON API
(``analytics.segments`` / ``analytics.tags``); every table links its CSV export."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from livecircle.analytics import experiments
from livecircle.analytics.segments import clusters, cohorts, lifecycle, service
from livecircle.analytics.segments.routes import show_ids, store_of
from livecircle.analytics.tags import service as tags_service
from livecircle.analytics.tags.errors import TagRuleInvalid, TagRuleNameTaken
from livecircle.analytics.tags.schemas import TagRuleIn, TagRulePatch
from livecircle.identity.deps import CsrfChecked, CurrentPrincipal
from livecircle.identity.schemas import Principal
from livecircle.kit.deps import DbSession
from livecircle.kit.errors import AppError
from livecircle.kit.templating import get_pages

router = APIRouter(include_in_schema=False)
STAGE_NAMES = {
    "new": "New user",
    "engaged": "Engaged",
    "converted": "Converted",
    "loyal": "Loyal",
    "silent": "Silent",
    "churn_risk": "Churn risk",
}
Ids = Annotated[str, Query(max_length=400, pattern=r"^(\d+(,\d+)*)?$")]


def _render(
    request: Request, name: str, principal: Principal, status_code: int = 200, **context: Any
) -> Response:
    return get_pages(request).render(request, name, {"principal": principal, **context}, status_code)


def _sign_in(path: str) -> Response:
    return RedirectResponse(f"/login?next={path}", status_code=303)


# ---- tags ----


@router.get("/console/tags")
async def console_tags(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    if not principal.is_authenticated:
        return _sign_in("/console/tags")
    return await _tags_page(request, session, principal, ran=request.query_params.get("ran"))


@router.post("/console/tags/run", dependencies=[CsrfChecked])
async def console_run_tags(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    tenant_id = service.operator_tenant(principal)
    store = store_of(request)
    await store.sync()
    result = await tags_service.do_run_tags(session, store, tenant_id=tenant_id)
    return RedirectResponse(f"/console/tags?ran={result.tags}", status_code=303)


@router.post("/console/tags/rules", dependencies=[CsrfChecked])
async def console_add_rule(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    name: Annotated[str, Form(max_length=40)],
    kind: Annotated[str, Form(max_length=12)],
    definition: Annotated[str, Form(max_length=4000)],
) -> Response:
    tenant_id = service.operator_tenant(principal)
    form = {"name": name, "kind": kind, "definition": definition}
    try:
        data = TagRuleIn(name=name, kind=kind, definition=_json(definition))
        await tags_service.ensure_rules(session, tenant_id=tenant_id)
        await tags_service.do_create_rule(session, tenant_id=tenant_id, data=data)
    except (ValidationError, TagRuleInvalid, TagRuleNameTaken) as exc:
        return await _tags_page(request, session, principal, 422, error=_problem(exc), form=form)
    return RedirectResponse("/console/tags", status_code=303)


@router.post("/console/tags/rules/{rule_id}", dependencies=[CsrfChecked])
async def console_edit_rule(
    rule_id: int,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    definition: Annotated[str, Form(max_length=4000)],
    name: Annotated[str, Form(max_length=40)] = "",
    enabled: Annotated[bool, Form()] = False,
) -> Response:
    tenant_id = service.operator_tenant(principal)
    rule = await tags_service.get_rule(session, tenant_id=tenant_id, rule_id=rule_id)
    try:
        patch = TagRulePatch(name=name or None, definition=_json(definition), enabled=enabled)
        await tags_service.do_update_rule(session, rule, patch)
    except (ValidationError, TagRuleInvalid, TagRuleNameTaken) as exc:
        return await _tags_page(request, session, principal, 422, error=_problem(exc), failed_rule=rule_id)
    return RedirectResponse("/console/tags", status_code=303)


async def _tags_page(
    request: Request, session: DbSession, principal: Principal, status_code: int = 200, **context: Any
) -> Response:
    tenant_id = service.operator_tenant(principal)
    rules = await tags_service.ensure_rules(session, tenant_id=tenant_id)
    page = {
        "rules": [
            {"rule": r, "definition_text": json.dumps(r.definition, ensure_ascii=False, indent=2)}
            for r in rules
        ],
        "coverage": await tags_service.coverage(session, store_of(request), tenant_id=tenant_id),
        "counts": await tags_service.tag_counts(session, tenant_id=tenant_id),
        "tags": await tags_service.list_tenant_tags(session, tenant_id=tenant_id, limit=200),
        "error": None,
        "form": {},
        "failed_rule": None,
        "ran": None,
        **context,
    }
    return _render(request, "console_tags.html", principal, status_code, **page)


def _json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        raise TagRuleInvalid("The definition is not valid JSON") from None
    if not isinstance(value, dict):
        raise TagRuleInvalid("The definition is a JSON object")
    return value


def _problem(exc: Exception) -> str:
    return exc.detail if isinstance(exc, AppError) else str(exc)


@router.get("/me/tags")
async def my_tags(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    if principal.user_id is None:
        return _sign_in("/me/tags")
    opted_out = await tags_service.is_opted_out(session, user_id=principal.user_id)
    tags = await tags_service.list_user_tags(session, user_id=principal.user_id)
    saved = request.query_params.get("saved") == "1"
    return _render(request, "me_tags.html", principal, tags=tags, opted_out=opted_out, saved=saved)


@router.post("/me/tags/profiling", dependencies=[CsrfChecked])
async def my_profiling(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    opt_out: Annotated[bool, Form()] = False,
) -> Response:
    """The one-tap switch: writes a ``profiling`` consent record (the same as /me/consent)."""
    if principal.user_id is None:
        return _sign_in("/me/tags")
    locale = getattr(request.state, "locale", "zh-CN")
    await tags_service.do_set_profiling(session, user_id=principal.user_id, opt_out=opt_out, locale=locale)
    return RedirectResponse("/me/tags?saved=1", status_code=303)


# ---- segments, cohorts, experiments ----


@router.get("/console/segments")
async def console_segments(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    k: Annotated[int, Query(ge=2, le=12)] = clusters.DEFAULT_K,
    refresh: bool = False,
) -> Response:
    if not principal.is_authenticated:
        return _sign_in("/console/segments")
    tenant_id = service.operator_tenant(principal)
    result = await service.segments(store_of(request), tenant_id=tenant_id, k=k, refresh=refresh)
    overview = service.segments_json(result, await service.profiled(session, result["churn"].scores))
    return _render(
        request,
        "console_segments.html",
        principal,
        overview=overview,
        k=k,
        stages=lifecycle.STAGES,
        stage_names=STAGE_NAMES,
        features=clusters.FEATURES,
        rules=lifecycle.__doc__,
    )


@router.get("/console/cohorts")
async def console_cohorts(
    request: Request, principal: CurrentPrincipal, weeks: Annotated[int, Query(ge=1, le=52)] = 8
) -> Response:
    if not principal.is_authenticated:
        return _sign_in("/console/cohorts")
    tenant_id = service.operator_tenant(principal)
    table = await service.cohort_table(store_of(request), tenant_id=tenant_id, weeks=weeks)
    convention = (
        cohorts.CONVENTION_ZH if getattr(request.state, "locale", "") == "zh-CN" else cohorts.CONVENTION
    )
    return _render(
        request, "console_cohorts.html", principal, table=table, weeks=weeks, convention=convention
    )


@router.get("/console/experiments")
async def console_experiments(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    a: Ids = "",
    b: Ids = "",
    metric: Annotated[str, Query(max_length=20)] = "watch_seconds",
) -> Response:
    if not principal.is_authenticated:
        return _sign_in("/console/experiments")
    tenant_id = service.operator_tenant(principal)
    shows = await service.list_shows(session, tenant_id=tenant_id)
    result, error = None, None
    if a and b:
        try:
            result = await service.compare(
                session,
                store_of(request),
                tenant_id=tenant_id,
                shows_a=show_ids(a),
                shows_b=show_ids(b),
                metric=metric,
            )
        except AppError as exc:
            error = exc.detail
    context = {"shows": shows, "a": show_ids(a), "b": show_ids(b), "metric": metric, "result": result}
    return _render(
        request,
        "console_experiments.html",
        principal,
        400 if error else 200,
        error=error,
        metrics=list(experiments.MEAN_METRICS),
        query=request.url.query,
        **context,
    )
