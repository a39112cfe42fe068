"""Run-of-show JSON API: the room's planned steps (the first API, kept for its callers), and
the show scripts' API (interaction/runofshow/routes.py) included here."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict

from livecircle.identity.deps import CurrentUser
from livecircle.interaction import service as interaction_service
from livecircle.interaction.runofshow import service as runofshow
from livecircle.interaction.runofshow.actions import Limits
from livecircle.interaction.runofshow.routes import router as script_router
from livecircle.kit.deps import AppSettings, DbSession

router = APIRouter(tags=["run-of-show"])
router.include_router(script_router)
ObjectId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class StepOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    tool: str
    tool_id: int
    offset_s: int
    status: str
    show_id: int | None
    fired_at: datetime | None
    note: str | None


@router.get("/api/v1/rooms/{room_id}/steps")
async def list_steps(room_id: ObjectId, session: DbSession, principal: CurrentUser) -> list[StepOut]:
    room = await interaction_service.check_moderate_room(session, principal, room_id)
    return [StepOut.model_validate(s) for s in await runofshow.list_steps(session, room.id)]


@router.post("/api/v1/rooms/{room_id}/steps/{step_id}/fire")
async def fire_step(
    room_id: ObjectId, step_id: ObjectId, session: DbSession, principal: CurrentUser, settings: AppSettings
) -> StepOut:
    """Launch the step's tool now (one click), whatever its offset; a settled step stays as it is."""
    room = await interaction_service.check_moderate_room(session, principal, room_id)
    step = await runofshow.get_step(session, room_id=room.id, step_id=step_id)
    if step.status in runofshow.OPEN:
        limits = Limits(max_pins=settings.commerce.max_pins)
        step = await runofshow.do_fire_now(session, step, user_id=principal.user_id, limits=limits)
    return StepOut.model_validate(step)


@router.post("/api/v1/rooms/{room_id}/steps/{step_id}/skip")
async def skip_step(
    room_id: ObjectId, step_id: ObjectId, session: DbSession, principal: CurrentUser
) -> StepOut:
    room = await interaction_service.check_moderate_room(session, principal, room_id)
    step = await runofshow.get_step(session, room_id=room.id, step_id=step_id)
    if step.status in runofshow.OPEN:
        step = await runofshow.do_skip(session, step, user_id=principal.user_id)
    return StepOut.model_validate(step)
