"""Run-of-show JSON API: the room's planned steps, fired early or skipped by the host."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict

from livecircle.identity.deps import CurrentUser
from livecircle.interaction import runofshow
from livecircle.interaction import service as interaction_service
from livecircle.kit.deps import DbSession

router = APIRouter(prefix="/api/v1", tags=["run-of-show"])
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


@router.get("/rooms/{room_id}/steps")
async def list_steps(room_id: ObjectId, session: DbSession, principal: CurrentUser) -> list[StepOut]:
    room = await interaction_service.check_moderate_room(session, principal, room_id)
    return [StepOut.model_validate(s) for s in await runofshow.list_steps(session, room.id)]


@router.post("/rooms/{room_id}/steps/{step_id}/fire")
async def fire_step(
    room_id: ObjectId, step_id: ObjectId, session: DbSession, principal: CurrentUser
) -> StepOut:
    """Launch the step's tool now (one click), whatever its offset."""
    room = await interaction_service.check_moderate_room(session, principal, room_id)
    step = await runofshow.get_step(session, room_id=room.id, step_id=step_id)
    return StepOut.model_validate(await runofshow.do_fire_now(session, step))


@router.post("/rooms/{room_id}/steps/{step_id}/skip")
async def skip_step(
    room_id: ObjectId, step_id: ObjectId, session: DbSession, principal: CurrentUser
) -> StepOut:
    room = await interaction_service.check_moderate_room(session, principal, room_id)
    step = await runofshow.get_step(session, room_id=room.id, step_id=step_id)
    return StepOut.model_validate(await runofshow.do_skip(session, step))
