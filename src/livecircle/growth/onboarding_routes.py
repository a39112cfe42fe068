"""The first-visit guide of a live room as JSON (the room page renders it)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from livecircle.growth import onboarding
from livecircle.identity.deps import CurrentPrincipal
from livecircle.kit.deps import AppSettings, DbSession
from livecircle.live import service as live_service

router = APIRouter(prefix="/api/v1", tags=["growth"])
ObjectId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/rooms/{room_id}/guide")
async def room_guide(
    room_id: ObjectId, session: DbSession, principal: CurrentPrincipal, settings: AppSettings
) -> dict[str, Any]:
    """Rules of the room as they apply now, the new-user coupon and the follow gift, and where
    the caller stands (following, holding each coupon)."""
    room = await live_service.access_room(session, principal, room_id)
    return await onboarding.get_room_guide(session, principal, settings, room)
