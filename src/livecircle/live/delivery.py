"""HLS through our HTTP layer: live playlists (viewers counted per playback
session), segments, and stitched replay playlists."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse, Response

from livecircle.identity.deps import CurrentPrincipal
from livecircle.kit.deps import AppSettings, DbSession
from livecircle.kit.errors import NotFound
from livecircle.kit.metrics import HLS_VIEWERS
from livecircle.live import service
from livecircle.live.deps import RoomAccess
from livecircle.live.errors import ReplayNotReady, StreamNotLive
from livecircle.live.media.hls import PlaybackSessions, read_playlist, safe_segment_name, stitch_replay
from livecircle.live.media.recording import live_dir

router = APIRouter(include_in_schema=False)
M3U8 = "application/vnd.apple.mpegurl"
NO_CACHE = {"Cache-Control": "no-cache, no-store"}
ShowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Part = Annotated[int, Path(ge=1, le=10_000)]
PlaybackId = Annotated[str | None, Query(alias="sid", max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


def playback_sessions(request: Request) -> PlaybackSessions:
    return cast(PlaybackSessions, request.app.state.playback_sessions)


@router.get("/hls/{room_id}/index.m3u8")
async def live_playlist(
    request: Request, room: RoomAccess, session: DbSession, settings: AppSettings, sid: PlaybackId = None
) -> Response:
    if await service.get_live_show(session, room.id) is None:
        raise StreamNotLive()
    text = read_playlist(live_dir(settings, room.stream_name) / "index.m3u8")
    if text is None:
        raise StreamNotLive("The stream is starting; try again in a moment", retry_after=1)
    if sid:
        sessions = playback_sessions(request)
        sessions.touch(room.stream_name, sid)
        HLS_VIEWERS.set(sessions.total_active())
    return Response(text, media_type=M3U8, headers=NO_CACHE)


@router.get("/hls/{room_id}/{segment}")
async def live_segment(room: RoomAccess, segment: str, settings: AppSettings) -> FileResponse:
    path = live_dir(settings, room.stream_name) / segment
    if not safe_segment_name(segment) or not path.is_file():
        raise NotFound("No such segment")
    return FileResponse(path, media_type="video/mp2t", headers={"Cache-Control": "public, max-age=60"})


async def _replay_show(session: DbSession, principal: CurrentPrincipal, show_id: int) -> int:
    show = await service.get_show(session, show_id)
    await service.access_room(session, principal, show.room_id)
    return show.id


@router.get("/replay/{show_id}/index.m3u8")
async def replay_playlist(
    show_id: ShowId, session: DbSession, principal: CurrentPrincipal, settings: AppSettings
) -> Response:
    await _replay_show(session, principal, show_id)
    parts = []
    for recording in await service.list_recordings(session, show_id):
        text = read_playlist(settings.replay_dir / recording.directory / "index.m3u8")
        if text:
            parts.append((f"/replay/{show_id}/{recording.part}/", text))
    if not parts:
        raise ReplayNotReady()
    return Response(stitch_replay(parts), media_type=M3U8, headers={"Cache-Control": "public, max-age=60"})


@router.get("/replay/{show_id}/{part}/{segment}")
async def replay_segment(
    show_id: ShowId,
    part: Part,
    segment: str,
    session: DbSession,
    principal: CurrentPrincipal,
    settings: AppSettings,
) -> FileResponse:
    await _replay_show(session, principal, show_id)
    path = settings.replay_dir / str(show_id) / str(part) / segment
    if not safe_segment_name(segment) or not path.is_file():
        raise NotFound("No such segment")
    return FileResponse(path, media_type="video/mp2t", headers={"Cache-Control": "public, max-age=86400"})


@router.get("/api/v1/rooms/{room_id}/viewers", include_in_schema=True, tags=["live"])
async def room_viewers(request: Request, room: RoomAccess) -> dict[str, int]:
    """Viewers right now: HLS playback sessions (players refreshing the playlist) and open room sockets."""
    hub = request.app.state.hub
    return {
        "playback_sessions": playback_sessions(request).active(room.stream_name),
        "sockets": hub.online(f"room:{room.id}"),
    }
