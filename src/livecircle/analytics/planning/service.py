"""Topics: who may plan, the library, adopting a suggestion, planning a show from a topic.

Every lookup is by the caller's tenant: another tenant's topic, suggestion or show is a 404.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.analytics.planning.errors import PlanningForbidden, SuggestionNotFound, TopicNotFound
from livecircle.analytics.planning.models import PlannedShow, Suggestion, Topic
from livecircle.analytics.planning.schemas import PlanShowIn, TopicIn, TopicPatch
from livecircle.identity.schemas import Principal, Role
from livecircle.kit.clock import utcnow
from livecircle.kit.db import one_sqlite_writer
from livecircle.kit.errors import Unauthenticated
from livecircle.live import service as live_service
from livecircle.live.errors import RoomNotFound, ShowNotFound
from livecircle.live.models import Show
from livecircle.live.schemas import Scenario, ShowCreate

# The scenario a topic adopted from each kind of suggestion starts with (the operator may change it).
SCENARIO_OF_KIND = {
    "keyword": Scenario.PRODUCT_SEEDING.value,
    "product": Scenario.PRODUCT_SEEDING.value,
    "question": Scenario.USER_SERVICE.value,
}


def planner_tenant(principal: Principal) -> int:
    """The tenant whose shows the principal plans (hosts and above). Raises Unauthenticated,
    PlanningForbidden."""
    if principal.user_id is None:
        raise Unauthenticated()
    tenant_id = principal.tenant_id
    if tenant_id is None or not principal.has_role(tenant_id, Role.HOST):
        raise PlanningForbidden()
    return tenant_id


def operator_tenant(principal: Principal) -> int:
    """The tenant whose monthly and default targets the principal sets (operators and above)."""
    tenant_id = planner_tenant(principal)
    if not principal.has_role(tenant_id, Role.OPERATOR):
        raise PlanningForbidden("Operators set the community's targets")
    return tenant_id


async def access_show(session: AsyncSession, principal: Principal, show_id: int) -> Show:
    """A show of the planner's tenant. Raises ShowNotFound (also for another tenant's show)."""
    tenant_id = planner_tenant(principal)
    show = await session.get(Show, show_id)
    if show is None or show.tenant_id != tenant_id:
        raise ShowNotFound()
    return show


async def list_topics(session: AsyncSession, *, tenant_id: int, status: str | None = None) -> list[Topic]:
    query = select(Topic).where(Topic.tenant_id == tenant_id)
    if status:
        query = query.where(Topic.status == status)
    return list(await session.scalars(query.order_by(Topic.id.desc())))


async def topic_shows(session: AsyncSession, topic_ids: list[int]) -> dict[int, list[int]]:
    """Topic id -> the shows planned from it."""
    found: dict[int, list[int]] = defaultdict(list)
    if topic_ids:
        rows = await session.execute(
            select(PlannedShow.topic_id, PlannedShow.show_id)
            .where(PlannedShow.topic_id.in_(topic_ids))
            .order_by(PlannedShow.show_id)
        )
        for topic_id, show_id in rows.all():
            found[topic_id].append(show_id)
    return found


async def access_topic(session: AsyncSession, *, tenant_id: int, topic_id: int) -> Topic:
    """Raises TopicNotFound (also for another tenant's topic)."""
    topic = await session.get(Topic, topic_id)
    if topic is None or topic.tenant_id != tenant_id:
        raise TopicNotFound()
    return topic


async def do_create_topic(session: AsyncSession, *, tenant_id: int, user_id: int, data: TopicIn) -> Topic:
    topic = Topic(
        tenant_id=tenant_id,
        title=data.title,
        notes=data.notes,
        scenario=data.scenario.value,
        tags=_tags(data.tags),
        created_by=user_id,
    )
    session.add(topic)
    await session.flush()
    return topic


async def do_update_topic(session: AsyncSession, topic: Topic, patch: TopicPatch) -> Topic:
    fields = patch.model_dump(exclude_unset=True, exclude_none=True)
    if "scenario" in fields:
        fields["scenario"] = Scenario(fields["scenario"]).value
    if "tags" in fields:
        fields["tags"] = _tags(fields["tags"])
    for name, value in fields.items():
        setattr(topic, name, value)
    topic.updated_at = utcnow()
    await session.flush()
    return topic


async def do_delete_topic(session: AsyncSession, topic: Topic) -> None:
    """The topic goes; shows planned from it stay (without their link)."""
    await session.execute(delete(Topic).where(Topic.id == topic.id))


async def access_suggestion(session: AsyncSession, *, tenant_id: int, suggestion_id: int) -> Suggestion:
    suggestion = await session.get(Suggestion, suggestion_id)
    if suggestion is None or suggestion.tenant_id != tenant_id:
        raise SuggestionNotFound()
    return suggestion


async def do_adopt(session: AsyncSession, suggestion: Suggestion, *, user_id: int) -> tuple[Topic, bool]:
    """The suggestion as a topic in the library, once: adopting it again returns that topic
    (False). The topic keeps the counts and shows, not the quoted example lines."""
    found = await session.scalar(
        select(Topic).where(Topic.tenant_id == suggestion.tenant_id, Topic.suggestion_key == suggestion.key)
    )
    if found is not None:
        return found, False
    evidence = {k: v for k, v in suggestion.evidence.items() if k != "examples"}
    topic = Topic(
        tenant_id=suggestion.tenant_id,
        title=suggestion.title[:120],
        scenario=SCENARIO_OF_KIND.get(suggestion.kind, Scenario.BRAND.value),
        tags=[suggestion.kind],
        source=suggestion.kind,
        suggestion_key=suggestion.key,
        evidence=evidence,
        created_by=user_id,
    )
    session.add(topic)
    await session.flush()
    return topic, True


async def do_plan_show(session: AsyncSession, principal: Principal, topic: Topic, data: PlanShowIn) -> Show:
    """A scheduled show in one of the tenant's rooms the principal manages, linked to the topic
    (an idea becomes planned). Raises RoomNotFound (another tenant's room), NotRoomOwner."""
    if (await live_service.get_room(session, data.room_id)).tenant_id != topic.tenant_id:
        raise RoomNotFound()
    room = await live_service.check_manage_room(session, principal, data.room_id)
    scenario = data.scenario or Scenario(topic.scenario)
    create = ShowCreate(title=data.title or topic.title, scenario=scenario, scheduled_at=data.scheduled_at)
    show = await live_service.do_create_show(session, room, create)
    session.add(PlannedShow(show_id=show.id, topic_id=topic.id, tenant_id=topic.tenant_id))
    if topic.status == "idea":
        topic.status, topic.updated_at = "planned", utcnow()
    await session.flush()
    return show


async def do_mark_used(session: AsyncSession, show_ids: list[int]) -> None:
    """Topics whose planned show went live are used."""
    planned = select(PlannedShow.topic_id).where(PlannedShow.show_id.in_(show_ids))
    if await session.scalar(planned.limit(1)) is None:
        return
    await one_sqlite_writer(session)
    await session.execute(
        update(Topic)
        .where(Topic.id.in_(planned), Topic.status != "used")
        .values(status="used", updated_at=utcnow())
    )


def _tags(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(t.strip() for t in tags if t.strip()))
