"""Live JSON API: rooms, stream keys, shows, room state."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from livecircle.identity.deps import CurrentPrincipal, CurrentUser
from livecircle.kit.deps import AppSettings, DbSession
from livecircle.live import audience, service
from livecircle.live.deps import RoomAccess, RoomOwner
from livecircle.live.models import Room
from livecircle.live.schemas import RoomCreate, RoomOut, RoomState, ShowCreate, ShowOut, StreamKeyOut
from livecircle.live.state import room_state

INGEST_APP = "ingest"  # the RTMP application encoders publish to (both adapters)
router = APIRouter(prefix="/api/v1", tags=["live"])
ShowId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def stream_key_out(room: Room, rtmp_base: str) -> StreamKeyOut:
    ingest = f"{rtmp_base}/{INGEST_APP}"
    key = room.stream_key
    return StreamKeyOut(rtmp_url=ingest, stream_key=key, publish_url=f"{ingest}/{key}" if key else None)


@router.get("/rooms")
async def list_rooms(session: DbSession, principal: CurrentPrincipal) -> list[RoomOut]:
    return [RoomOut.model_validate(r) for r in await service.list_rooms(session, principal)]


@router.post("/rooms", status_code=status.HTTP_201_CREATED)
async def create_room(data: RoomCreate, session: DbSession, principal: CurrentUser) -> RoomOut:
    return RoomOut.model_validate(await service.do_create_room(session, principal, data))


@router.get("/rooms/{room_id}")
async def get_room(room: RoomAccess) -> RoomOut:
    return RoomOut.model_validate(room)


@router.get("/rooms/{room_id}/state")
async def get_room_state(room: RoomAccess, session: DbSession) -> RoomState:
    return await room_state(session, room)


@router.get("/rooms/{room_id}/stream-key")
async def get_stream_key(room: RoomOwner, settings: AppSettings) -> StreamKeyOut:
    return stream_key_out(room, settings.media.rtmp_base_url)


@router.post("/rooms/{room_id}/stream-key/rotate")
async def rotate_stream_key(room: RoomOwner, session: DbSession, settings: AppSettings) -> StreamKeyOut:
    await service.do_rotate_key(session, room)
    return stream_key_out(room, settings.media.rtmp_base_url)


@router.delete("/rooms/{room_id}/stream-key")
async def revoke_stream_key(room: RoomOwner, session: DbSession, settings: AppSettings) -> StreamKeyOut:
    await service.do_revoke_key(session, room)
    return stream_key_out(room, settings.media.rtmp_base_url)


@router.get("/rooms/{room_id}/shows")
async def list_shows(room: RoomAccess, session: DbSession) -> list[ShowOut]:
    return [ShowOut.model_validate(s) for s in await service.list_shows(session, room.id)]


@router.post("/rooms/{room_id}/shows", status_code=status.HTTP_201_CREATED)
async def create_show(data: ShowCreate, room: RoomOwner, session: DbSession) -> ShowOut:
    return ShowOut.model_validate(await service.do_create_show(session, room, data))


@router.post("/shows/{show_id}/end")
async def end_show(show_id: ShowId, session: DbSession, principal: CurrentUser) -> ShowOut:
    show = await service.get_show(session, show_id)
    await service.check_manage_room(session, principal, show.room_id)
    await service.do_end_show(session, show)
    return ShowOut.model_validate(show)


@router.put("/rooms/{room_id}/follow", status_code=status.HTTP_204_NO_CONTENT)
async def follow_host(room: RoomAccess, session: DbSession, principal: CurrentUser) -> None:
    """Follow the room's host (idempotent)."""
    assert principal.user_id is not None
    await audience.do_follow(session, room=room, user_id=principal.user_id)


@router.delete("/rooms/{room_id}/follow", status_code=status.HTTP_204_NO_CONTENT)
async def unfollow_host(room: RoomAccess, session: DbSession, principal: CurrentUser) -> None:
    assert principal.user_id is not None
    await audience.do_unfollow(session, user_id=principal.user_id, host_id=room.owner_id)
