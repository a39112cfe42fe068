"""Script templates: save a show's script under a name, apply it to another show.

A template keeps each step as the API takes it (``StepIn``). A step that launches a draft
poll or lottery by id is left out (a draft opens once); a step that carries its own poll or
lottery is kept, and applying it makes a fresh one when it fires."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.interaction.models import ShowStep
from livecircle.interaction.runofshow import service
from livecircle.interaction.runofshow.errors import TemplateNameTaken, TemplateNotFound
from livecircle.interaction.runofshow.models import ScriptTemplate
from livecircle.interaction.runofshow.schemas import StepIn
from livecircle.kit.db import one_sqlite_writer
from livecircle.live.models import Room, Show

ONE_OFF = ("poll", "lottery")


def step_spec(step: ShowStep) -> dict[str, Any] | None:
    """The step as a template keeps it; None for a step naming a one-off draft."""
    if step.tool in ONE_OFF and step.tool_id:
        return None
    params = step.params or {}
    spec: dict[str, Any] = {
        "label": step.label,
        "kind": step.kind,
        "offset_s": step.offset_s,
        "action": step.tool,
        "target_id": step.tool_id or None,
        **params,
    }
    if step.kind == "condition":
        spec |= {
            "metric": step.metric,
            "comparator": step.comparator,
            "threshold": step.threshold,
            "window_s": step.window_s,
            "hold_s": step.hold_s,
        }
    return StepIn.model_validate(spec).model_dump(mode="json", exclude_defaults=True)


async def do_save(
    session: AsyncSession, *, show: Show, name: str, user_id: int | None
) -> tuple[ScriptTemplate, list[int]]:
    """Save ``show``'s script; returns the template and the ids of steps left out.
    Raises TemplateNameTaken."""
    specs, left_out = [], []
    for step in await service.list_script(session, show):
        spec = step_spec(step)
        if spec is None:
            left_out.append(step.id)
        else:
            specs.append(spec)
    await one_sqlite_writer(session)
    template = ScriptTemplate(tenant_id=show.tenant_id, name=name.strip(), steps=specs, created_by=user_id)
    try:
        async with session.begin_nested():
            session.add(template)
            await session.flush()
    except IntegrityError as exc:
        raise TemplateNameTaken() from exc
    return template, left_out


async def do_apply(
    session: AsyncSession, *, room: Room, show: Show, template: ScriptTemplate
) -> list[ShowStep]:
    """Add the template's steps to ``show``'s script (armed at once when it is live).
    Raises ScriptClosed and the targets' errors (nothing is added then)."""
    return [
        await service.do_add_step(session, room=room, show=show, data=StepIn.model_validate(spec))
        for spec in template.steps
    ]


async def get_template(session: AsyncSession, *, tenant_id: int, template_id: int) -> ScriptTemplate:
    template = await session.get(ScriptTemplate, template_id)
    if template is None or template.tenant_id != tenant_id:
        raise TemplateNotFound()
    return template


async def list_templates(session: AsyncSession, tenant_id: int) -> list[ScriptTemplate]:
    rows = await session.scalars(
        select(ScriptTemplate).where(ScriptTemplate.tenant_id == tenant_id).order_by(ScriptTemplate.name)
    )
    return list(rows)


async def do_delete(session: AsyncSession, template: ScriptTemplate) -> None:
    await session.delete(template)
    await session.flush()
