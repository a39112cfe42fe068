"""Interaction JSON API: chat history (live and replay) and posting a line."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from livecircle.identity.deps import CurrentPrincipal
from livecircle.interaction import service
from livecircle.interaction.schemas import ChatIn, ChatOut
from livecircle.kit.deps import AppSettings, DbSession
from livecircle.live import service as live_service
from livecircle.live.deps import RoomAccess

router = APIRouter(prefix="/api/v1", tags=["interaction"])
ShowId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/rooms/{room_id}/chat")
async def recent_chat(
    room: RoomAccess, session: DbSession, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[ChatOut]:
    rows = await service.list_recent_chat(session, room_id=room.id, limit=limit)
    return [ChatOut.model_validate(r) for r in rows]


@router.post("/rooms/{room_id}/chat", status_code=status.HTTP_201_CREATED)
async def post_chat(
    room_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    data: ChatIn,
    session: DbSession,
    principal: CurrentPrincipal,
    settings: AppSettings,
) -> ChatOut:
    message = await service.check_send_chat(
        session, principal, room_id=room_id, text=data.text, max_length=settings.realtime.chat_max_length
    )
    return ChatOut.model_validate(message)


@router.get("/shows/{show_id}/chat")
async def show_chat(
    show_id: ShowId,
    session: DbSession,
    principal: CurrentPrincipal,
    after_id: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> list[ChatOut]:
    """A show's chat in order, to replay beside the recording."""
    show = await live_service.get_show(session, show_id)
    await live_service.access_room(session, principal, show.room_id)
    rows = await service.list_show_chat(session, show_id=show_id, after_id=after_id, limit=limit)
    return [ChatOut.model_validate(r) for r in rows]
