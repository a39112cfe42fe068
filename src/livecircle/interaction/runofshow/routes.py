"""Run-of-show JSON API: a show's script (hosts and moderators of its room), its steps fired
early or skipped, and the tenant's script templates."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.identity.deps import CurrentUser
from livecircle.identity.schemas import Principal, Role
from livecircle.interaction import service as interaction_service
from livecircle.interaction.errors import StepNotFound
from livecircle.interaction.models import ShowStep
from livecircle.interaction.runofshow import service, templates
from livecircle.interaction.runofshow.actions import Limits
from livecircle.interaction.runofshow.schemas import (
    ApplyIn,
    ScriptOut,
    StepIn,
    StepOut,
    TemplateIn,
    TemplateOut,
)
from livecircle.kit.clock import utcnow
from livecircle.kit.deps import AppSettings, DbSession
from livecircle.kit.errors import Forbidden
from livecircle.live import service as live_service
from livecircle.live.models import Room, Show

router = APIRouter(prefix="/api/v1", tags=["run-of-show"])
ObjectId = Annotated[int, Path(ge=1, le=2**31 - 1)]


async def _script_show(show_id: ObjectId, session: DbSession, principal: CurrentUser) -> tuple[Room, Show]:
    """The show and its room, when the caller hosts or moderates the room (tenant-scoped)."""
    show = await live_service.get_show(session, show_id)
    room = await interaction_service.check_moderate_room(session, principal, show.room_id)
    return room, show


ScriptShow = Annotated[tuple[Room, Show], Depends(_script_show)]


def step_out(step: ShowStep, show: Show | None) -> StepOut:
    derived = {
        "action": step.tool,
        "target_id": step.tool_id or None,
        "params": step.params or {},
        "due_at": service.due_at(step, show) if show is not None and step.show_id == show.id else None,
    }
    copied = {name: getattr(step, name) for name in StepOut.model_fields if name not in derived}
    return StepOut(**copied, **derived)


async def script_out(session: AsyncSession, show: Show) -> ScriptOut:
    steps = await service.list_script(session, show)
    return ScriptOut(
        show_id=show.id,
        room_id=show.room_id,
        show_status=show.status,
        started_at=show.started_at,
        server_now=utcnow(),
        steps=[step_out(step, show) for step in steps],
    )


async def _step(session: AsyncSession, show: Show, step_id: int) -> ShowStep:
    step = await service.get_step(session, room_id=show.room_id, step_id=step_id)
    if step.show_id not in (None, show.id):
        raise StepNotFound()  # another show's step
    return step


@router.get("/shows/{show_id}/script")
async def get_script(target: ScriptShow, session: DbSession) -> ScriptOut:
    """The show's steps with their state, due times and the latest value of each condition."""
    return await script_out(session, target[1])


@router.post("/shows/{show_id}/script/steps", status_code=status.HTTP_201_CREATED)
async def add_step(data: StepIn, target: ScriptShow, session: DbSession) -> StepOut:
    room, show = target
    step = await service.do_add_step(session, room=room, show=show, data=data)
    return step_out(step, show)


@router.delete("/shows/{show_id}/script/steps/{step_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_step(step_id: ObjectId, target: ScriptShow, session: DbSession) -> None:
    await service.do_delete_step(session, await _step(session, target[1], step_id))


@router.post("/shows/{show_id}/script/steps/{step_id}/fire")
async def fire_step(
    step_id: ObjectId, target: ScriptShow, session: DbSession, principal: CurrentUser, settings: AppSettings
) -> StepOut:
    """Fire the step now, whatever its time or condition (once: 409 when it has settled)."""
    step = await _step(session, target[1], step_id)
    limits = Limits(max_pins=settings.commerce.max_pins)
    fired = await service.do_fire_now(session, step, user_id=principal.user_id, limits=limits)
    return step_out(fired, target[1])


@router.post("/shows/{show_id}/script/steps/{step_id}/skip")
async def skip_step(
    step_id: ObjectId, target: ScriptShow, session: DbSession, principal: CurrentUser
) -> StepOut:
    step = await _step(session, target[1], step_id)
    return step_out(await service.do_skip(session, step, user_id=principal.user_id), target[1])


@router.post("/shows/{show_id}/script/template", status_code=status.HTTP_201_CREATED)
async def save_template(
    data: TemplateIn, target: ScriptShow, session: DbSession, principal: CurrentUser
) -> TemplateOut:
    """Save the show's script as a template of the tenant."""
    template, left_out = await templates.do_save(
        session, show=target[1], name=data.name, user_id=principal.user_id
    )
    return TemplateOut.model_validate(template).model_copy(update={"left_out": left_out})


@router.post("/shows/{show_id}/script/apply")
async def apply_template(data: ApplyIn, target: ScriptShow, session: DbSession) -> ScriptOut:
    """Add a template's steps to this show's script."""
    room, show = target
    template = await templates.get_template(session, tenant_id=show.tenant_id, template_id=data.template_id)
    await templates.do_apply(session, room=room, show=show, template=template)
    return await script_out(session, show)


def _staff_tenant(principal: Principal) -> int:
    """The caller's tenant, when they host or moderate there. Raises Forbidden."""
    tenant_id = principal.tenant_id
    if tenant_id is None or not principal.has_role(tenant_id, Role.MODERATOR):
        raise Forbidden("Hosts and moderators use the tenant's script templates")
    return tenant_id


@router.get("/script-templates")
async def list_templates(session: DbSession, principal: CurrentUser) -> list[TemplateOut]:
    rows = await templates.list_templates(session, _staff_tenant(principal))
    return [TemplateOut.model_validate(t) for t in rows]


@router.delete("/script-templates/{template_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_template(template_id: ObjectId, session: DbSession, principal: CurrentUser) -> None:
    template = await templates.get_template(
        session, tenant_id=_staff_tenant(principal), template_id=template_id
    )
    await templates.do_delete(session, template)
