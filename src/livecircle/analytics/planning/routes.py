"""Planning JSON API under /api/v1/planning: topics, suggestions, the calendar and targets.
Hosts and operators of the tenant; monthly and default targets: operators."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response, status

from livecircle.analytics.planning import calendar, comparison, service, suggest, targets
from livecircle.analytics.planning.models import Topic
from livecircle.analytics.planning.schemas import (
    ComparisonOut,
    KpiTargetsIn,
    MonthTargetsIn,
    PlannedShowOut,
    PlanShowIn,
    ShowTargetsOut,
    SuggestionsOut,
    TopicIn,
    TopicOut,
    TopicPatch,
)
from livecircle.analytics.store import EventStore
from livecircle.identity.deps import CurrentUser
from livecircle.kit.clock import utcnow
from livecircle.kit.deps import DbSession

router = APIRouter(prefix="/api/v1/planning", tags=["planning"])
ObjectId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Month = Annotated[str, Query(pattern=r"^\d{4}-\d{2}$")]
MonthKey = Annotated[str, Path(pattern=r"^(\d{4}-\d{2}|default)$")]


def store_of(request: Request) -> EventStore:
    store: EventStore = request.app.state.analytics
    return store


async def topic_out(session: DbSession, topic: Topic) -> TopicOut:
    shows = await service.topic_shows(session, [topic.id])
    return TopicOut.model_validate(topic, from_attributes=True).model_copy(
        update={"shows": shows.get(topic.id, [])}
    )


@router.get("/topics")
async def list_topics(
    session: DbSession, principal: CurrentUser, status: Literal["idea", "planned", "used"] | None = None
) -> list[TopicOut]:
    tenant_id = service.planner_tenant(principal)
    topics = await service.list_topics(session, tenant_id=tenant_id, status=status)
    shows = await service.topic_shows(session, [t.id for t in topics])
    return [
        TopicOut.model_validate(t, from_attributes=True).model_copy(update={"shows": shows.get(t.id, [])})
        for t in topics
    ]


@router.post("/topics", status_code=status.HTTP_201_CREATED)
async def create_topic(data: TopicIn, session: DbSession, principal: CurrentUser) -> TopicOut:
    tenant_id = service.planner_tenant(principal)
    assert principal.user_id is not None
    topic = await service.do_create_topic(session, tenant_id=tenant_id, user_id=principal.user_id, data=data)
    return await topic_out(session, topic)


@router.get("/topics/{topic_id}")
async def get_topic(topic_id: ObjectId, session: DbSession, principal: CurrentUser) -> TopicOut:
    topic = await service.access_topic(
        session, tenant_id=service.planner_tenant(principal), topic_id=topic_id
    )
    return await topic_out(session, topic)


@router.patch("/topics/{topic_id}")
async def update_topic(
    topic_id: ObjectId, data: TopicPatch, session: DbSession, principal: CurrentUser
) -> TopicOut:
    topic = await service.access_topic(
        session, tenant_id=service.planner_tenant(principal), topic_id=topic_id
    )
    return await topic_out(session, await service.do_update_topic(session, topic, data))


@router.delete("/topics/{topic_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_topic(topic_id: ObjectId, session: DbSession, principal: CurrentUser) -> Response:
    topic = await service.access_topic(
        session, tenant_id=service.planner_tenant(principal), topic_id=topic_id
    )
    await service.do_delete_topic(session, topic)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/topics/{topic_id}/plan", status_code=status.HTTP_201_CREATED)
async def plan_show(
    topic_id: ObjectId, data: PlanShowIn, session: DbSession, principal: CurrentUser
) -> PlannedShowOut:
    """A scheduled show in one of the tenant's rooms, planned from the topic."""
    topic = await service.access_topic(
        session, tenant_id=service.planner_tenant(principal), topic_id=topic_id
    )
    show = await service.do_plan_show(session, principal, topic, data)
    return PlannedShowOut(
        show_id=show.id,
        room_id=show.room_id,
        topic_id=topic.id,
        title=show.title,
        scenario=show.scenario,
        status=show.status,
        scheduled_at=show.scheduled_at,
    )


@router.get("/suggestions")
async def list_suggestions(request: Request, session: DbSession, principal: CurrentUser) -> SuggestionsOut:
    """The stored suggestions (computed now the first time), with the topics adopted from them."""
    tenant_id = service.planner_tenant(principal)
    return await suggestions_out(session, request, tenant_id=tenant_id, refresh=False)


@router.post("/suggestions/refresh")
async def refresh_suggestions(request: Request, session: DbSession, principal: CurrentUser) -> SuggestionsOut:
    tenant_id = service.planner_tenant(principal)
    return await suggestions_out(session, request, tenant_id=tenant_id, refresh=True)


async def suggestions_out(
    session: DbSession, request: Request, *, tenant_id: int, refresh: bool
) -> SuggestionsOut:
    rows = await suggest.stored(session, tenant_id=tenant_id)
    if refresh or not rows:
        rows = await suggest.do_refresh(session, store_of(request), tenant_id=tenant_id)
        await suggest.schedule_next(session, tenant_id=tenant_id, after=utcnow())
    return await suggest.view(session, rows, tenant_id=tenant_id)


@router.post("/suggestions/{suggestion_id}/adopt")
async def adopt(
    suggestion_id: ObjectId, session: DbSession, principal: CurrentUser, response: Response
) -> TopicOut:
    """One click: the suggestion becomes a topic (201); adopting it again returns that topic (200)."""
    tenant_id = service.planner_tenant(principal)
    suggestion = await service.access_suggestion(session, tenant_id=tenant_id, suggestion_id=suggestion_id)
    assert principal.user_id is not None
    topic, created = await service.do_adopt(session, suggestion, user_id=principal.user_id)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return await topic_out(session, topic)


@router.get("/calendar")
async def get_calendar(
    session: DbSession, principal: CurrentUser, month: Month | None = None
) -> dict[str, object]:
    """The month's shows by scenario with target vs actual (default: this month, UTC)."""
    tenant_id = service.planner_tenant(principal)
    return await calendar.calendar(session, tenant_id=tenant_id, month=month or f"{utcnow():%Y-%m}")


@router.put("/month-targets/{month}")
async def put_month_targets(
    month: MonthKey, data: MonthTargetsIn, session: DbSession, principal: CurrentUser
) -> dict[str, int]:
    """Replace the month's show targets ("default": every month without its own)."""
    tenant_id = service.operator_tenant(principal)
    wanted: dict[str, int] = {str(scope): shows for scope, shows in data.targets.items()}
    return await calendar.do_set_month_targets(session, tenant_id=tenant_id, month=month, targets=wanted)


@router.get("/kpi-defaults")
async def get_kpi_defaults(session: DbSession, principal: CurrentUser) -> dict[str, object]:
    tenant_id = service.planner_tenant(principal)
    found, source = await targets.tenant_defaults(session, tenant_id=tenant_id)
    return {"targets": found, "source": source}


@router.put("/kpi-defaults")
async def put_kpi_defaults(
    data: KpiTargetsIn, session: DbSession, principal: CurrentUser
) -> dict[str, object]:
    """Replace the tenant's default show targets; an empty set brings the seed KPIs back."""
    tenant_id = service.operator_tenant(principal)
    found = await targets.do_set_tenant_defaults(session, tenant_id=tenant_id, targets=data.targets)
    return {"targets": found, "source": "tenant" if data.targets else "seed"}


@router.get("/shows/{show_id}/targets")
async def get_show_targets(show_id: ObjectId, session: DbSession, principal: CurrentUser) -> ShowTargetsOut:
    show = await service.access_show(session, principal, show_id)
    return await comparison.targets_out(session, show)


@router.put("/shows/{show_id}/targets")
async def put_show_targets(
    show_id: ObjectId, data: KpiTargetsIn, request: Request, session: DbSession, principal: CurrentUser
) -> ShowTargetsOut:
    """Replace the show's own targets (its host or an operator); they become the show's alert
    thresholds and its report's comparison (an ended show's report is rebuilt)."""
    show = await service.access_show(session, principal, show_id)
    await comparison.do_set_show_targets(session, store_of(request), principal, show, data.targets)
    return await comparison.targets_out(session, show)


@router.get("/shows/{show_id}/comparison")
async def get_comparison(
    show_id: ObjectId, request: Request, session: DbSession, principal: CurrentUser
) -> ComparisonOut:
    """Each target the show is held to against its figures now (or at its end)."""
    show = await service.access_show(session, principal, show_id)
    return await comparison.compare(session, store_of(request), show)
