"""What a player should show for a room right now: live, replay or offline."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.live import service
from livecircle.live.models import Room
from livecircle.live.schemas import RoomOut, RoomState, ShowOut, ShowStatus


async def room_state(session: AsyncSession, room: Room) -> RoomState:
    show = await service.get_current_show(session, room.id)
    if show is not None and show.status == ShowStatus.LIVE.value:
        return RoomState(
            room=RoomOut.model_validate(room),
            show=ShowOut.model_validate(show),
            mode="live",
            playback_url=f"/hls/{room.id}/index.m3u8",
        )
    replay = await service.get_latest_replay_show(session, room.id)
    if replay is not None:
        return RoomState(
            room=RoomOut.model_validate(room),
            show=ShowOut.model_validate(replay),
            mode="replay",
            playback_url=f"/replay/{replay.id}/index.m3u8",
        )
    current = ShowOut.model_validate(show) if show else None
    return RoomState(room=RoomOut.model_validate(room), show=current, mode="offline", playback_url=None)
