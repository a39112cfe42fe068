"""Callbacks from nginx-rtmp (form-encoded POSTs). 2xx allows, 3xx relays, 4xx refuses.

Only loopback may call them: the hooks decide who can publish.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated, cast

from fastapi import APIRouter, Form, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from livecircle.kit.deps import AppSettings, DbSession, get_database
from livecircle.kit.errors import AppError, Forbidden
from livecircle.live import service
from livecircle.live.media.ffmpeg import find_ffmpeg, remux_command
from livecircle.live.media.recording import record_dir, register_recording, reset_live_dir
from livecircle.live.models import room_id_from_stream_name
from livecircle.live.schemas import ShowStatus

log = logging.getLogger(__name__)
router = APIRouter(prefix="/hooks/rtmp", include_in_schema=False)

Name = Annotated[str, Form(max_length=256)]


def _check_loopback(request: Request) -> None:
    host = request.client.host if request.client else ""
    if host not in {"127.0.0.1", "::1"}:
        raise Forbidden("RTMP hooks answer loopback only")


def _room_id_of(stream_name: str) -> int:
    room_id = room_id_from_stream_name(stream_name)
    if room_id is None:
        raise Forbidden("Unknown stream")
    return room_id


@router.post("/publish")
async def on_publish(request: Request, session: DbSession, settings: AppSettings, name: Name) -> Response:
    _check_loopback(request)
    try:
        grant = await service.check_publish(session, key=name)
    except AppError as exc:
        log.warning("nginx publish refused", extra={"reason": exc.code})
        return PlainTextResponse(exc.code, status_code=403)
    if not grant.resumed:
        reset_live_dir(settings, grant.stream_name)
    target = f"rtmp://127.0.0.1:{settings.media.rtmp_port}/show/{grant.stream_name}"
    return RedirectResponse(target, status_code=302)


@router.post("/update")
async def on_update(request: Request, session: DbSession, name: Name) -> Response:
    """Kick a publisher whose key was rotated or revoked, or whose show was ended."""
    _check_loopback(request)
    try:
        room = await service.check_publisher_allowed(session, key=name)
    except AppError:
        return PlainTextResponse("revoked", status_code=403)
    live = await service.get_live_show(session, room.id)
    return PlainTextResponse("ok" if live else "ended", status_code=200 if live else 403)


@router.post("/publish_done")
async def on_publish_done(request: Request, session: DbSession, name: Name) -> Response:
    _check_loopback(request)
    show = await service.get_live_show(session, _room_id_of(name))
    if show is not None:
        await service.do_unpublish(session, show_id=show.id)
    return PlainTextResponse("ok")


@router.post("/record_done")
async def on_record_done(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    name: Name,
    path: Annotated[str, Form(max_length=1024)],
) -> Response:
    """Remux the finished FLV into an HLS recording in the background, then register it."""
    _check_loopback(request)
    shows = await service.list_shows(session, _room_id_of(name))
    show = next((s for s in shows if s.status != ShowStatus.SCHEDULED.value and s.publish_count), None)
    if show is None:
        return PlainTextResponse("no show", status_code=404)
    task = asyncio.create_task(_remux_and_register(request, show.id, show.publish_count, Path(path)))
    cast(set[asyncio.Task[None]], request.app.state.background).add(task)
    task.add_done_callback(request.app.state.background.discard)
    return PlainTextResponse("ok")


async def _remux_and_register(request: Request, show_id: int, part: int, source: Path) -> None:
    settings = request.app.state.settings
    target = record_dir(settings, show_id, part)
    target.mkdir(parents=True, exist_ok=True)
    command = remux_command(find_ffmpeg(settings.media.ffmpeg), source=source, record_dir=target)
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    if await process.wait() != 0:
        log.error("remux failed", extra={"source": str(source), "show": show_id})
        return
    await register_recording(get_database(request), settings, show_id=show_id, part=part)
