"""Room dependencies that validate access."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from livecircle.identity.deps import CurrentPrincipal, CurrentUser
from livecircle.kit.deps import DbSession
from livecircle.live import service
from livecircle.live.models import Room

RoomId = Annotated[int, Path(ge=1, le=2**31 - 1)]


async def _room_access(room_id: RoomId, session: DbSession, principal: CurrentPrincipal) -> Room:
    return await service.access_room(session, principal, room_id)


async def _room_owner(room_id: RoomId, session: DbSession, principal: CurrentUser) -> Room:
    return await service.check_manage_room(session, principal, room_id)


RoomAccess = Annotated[Room, Depends(_room_access)]
RoomOwner = Annotated[Room, Depends(_room_owner)]
