"""Tags JSON API: rules and runs (operators), the tenant's tags and coverage (operators),
a member's own tags with reasons and the profiling opt-out switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from livecircle.analytics import exports
from livecircle.analytics.segments.routes import store_of
from livecircle.analytics.segments.service import operator_tenant
from livecircle.analytics.tags import service
from livecircle.analytics.tags.schemas import (
    CoverageOut,
    MyTagsOut,
    ProfilingIn,
    TagRuleIn,
    TagRuleOut,
    TagRulePatch,
    TagRunOut,
    UserTagOut,
)
from livecircle.identity.deps import CurrentUser
from livecircle.kit.deps import DbSession
from livecircle.privacy import consent

router = APIRouter(prefix="/api/v1", tags=["tags"])
ObjectId = Annotated[int, Path(ge=1, le=2**31 - 1)]
TAG_COLUMNS = ("user_id", "tag", "kind", "reason", "reason_en", "computed_at")


@router.get("/analytics/tag-rules")
async def list_rules(session: DbSession, principal: CurrentUser) -> list[TagRuleOut]:
    """The tenant's rules (the defaults are seeded on first use)."""
    rules = await service.ensure_rules(session, tenant_id=operator_tenant(principal))
    return [TagRuleOut.model_validate(rule) for rule in rules]


@router.post("/analytics/tag-rules", status_code=status.HTTP_201_CREATED)
async def create_rule(data: TagRuleIn, session: DbSession, principal: CurrentUser) -> TagRuleOut:
    tenant_id = operator_tenant(principal)
    await service.ensure_rules(session, tenant_id=tenant_id)
    return TagRuleOut.model_validate(await service.do_create_rule(session, tenant_id=tenant_id, data=data))


@router.patch("/analytics/tag-rules/{rule_id}")
async def update_rule(
    rule_id: ObjectId, data: TagRulePatch, session: DbSession, principal: CurrentUser
) -> TagRuleOut:
    rule = await service.get_rule(session, tenant_id=operator_tenant(principal), rule_id=rule_id)
    return TagRuleOut.model_validate(await service.do_update_rule(session, rule, data))


@router.delete("/analytics/tag-rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_rule(rule_id: ObjectId, session: DbSession, principal: CurrentUser) -> Response:
    rule = await service.get_rule(session, tenant_id=operator_tenant(principal), rule_id=rule_id)
    await service.do_delete_rule(session, rule)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/analytics/tag-runs")
async def run_now(request: Request, session: DbSession, principal: CurrentUser) -> TagRunOut:
    """Tag every account now from the replica (synced first), replacing the previous run's tags."""
    tenant_id = operator_tenant(principal)
    store = store_of(request)
    await store.sync()
    result = await service.do_run_tags(session, store, tenant_id=tenant_id)
    return TagRunOut.model_validate(result, from_attributes=True)


@router.get("/analytics/tags")
async def list_tags(
    session: DbSession, principal: CurrentUser, limit: Annotated[int, Query(ge=1, le=10_000)] = 1000
) -> list[UserTagOut]:
    rows = await service.list_tenant_tags(session, tenant_id=operator_tenant(principal), limit=limit)
    return [UserTagOut.model_validate(row) for row in rows]


@router.get("/analytics/tags.csv")
async def tags_csv(session: DbSession, principal: CurrentUser) -> Response:
    rows = await service.list_tenant_tags(session, tenant_id=operator_tenant(principal))
    return exports.csv_response("tags.csv", TAG_COLUMNS, ([getattr(r, c) for c in TAG_COLUMNS] for r in rows))


@router.get("/analytics/tag-coverage")
async def coverage(request: Request, session: DbSession, principal: CurrentUser) -> CoverageOut:
    """Tagged accounts / accounts that watched in the last 30 days, against the 90 % target."""
    found = await service.coverage(session, store_of(request), tenant_id=operator_tenant(principal))
    return CoverageOut.model_validate(found)


@router.get("/me/tags")
async def my_tags(session: DbSession, principal: CurrentUser) -> MyTagsOut:
    """The caller's tags, each with why, and their profiling choice."""
    assert principal.user_id is not None
    opted_out = await service.is_opted_out(session, user_id=principal.user_id)
    rows = await service.list_user_tags(session, user_id=principal.user_id)
    return MyTagsOut(profiling_opt_out=opted_out, tags=[UserTagOut.model_validate(row) for row in rows])


@router.put("/me/profiling")
async def set_profiling(data: ProfilingIn, session: DbSession, principal: CurrentUser) -> MyTagsOut:
    """Opt out of (or back into) profiling-based marketing; opting out deletes the tags now."""
    assert principal.user_id is not None
    await service.do_set_profiling(
        session, user_id=principal.user_id, opt_out=data.profiling_opt_out, channel=consent.Channel.API
    )
    rows = await service.list_user_tags(session, user_id=principal.user_id)
    return MyTagsOut(
        profiling_opt_out=data.profiling_opt_out, tags=[UserTagOut.model_validate(row) for row in rows]
    )
