"""Live event subscribers and the stale-show sweeper."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Awaitable, Callable

from livecircle.config import Settings
from livecircle.kit.db import Database
from livecircle.kit.events import EventBus
from livecircle.live import service
from livecircle.live.events import (
    PublisherDisconnected,
    ReplayReady,
    ShowEnded,
    ShowStarted,
    StreamKeyChanged,
)
from livecircle.live.media.recording import live_dir
from livecircle.live.models import stream_name_for
from livecircle.realtime.hub import Hub

log = logging.getLogger(__name__)
Kick = Callable[[int], Awaitable[None]]


def subscribe(bus: EventBus, hub: Hub, settings: Settings, kick: Kick | None) -> None:
    async def started(event: ShowStarted) -> None:
        await hub.publish(
            f"room:{event.room_id}",
            {"type": "show", "status": "live", "show_id": event.show_id, "resumed": event.resumed},
        )

    async def disconnected(event: PublisherDisconnected) -> None:
        await hub.publish(
            f"room:{event.room_id}", {"type": "show", "status": "reconnecting", "show_id": event.show_id}
        )

    async def ended(event: ShowEnded) -> None:
        if kick is not None:
            await kick(event.room_id)
        shutil.rmtree(live_dir(settings, stream_name_for(event.room_id)), ignore_errors=True)
        await hub.publish(
            f"room:{event.room_id}", {"type": "show", "status": "ended", "show_id": event.show_id}
        )

    async def replay_ready(event: ReplayReady) -> None:
        await hub.publish(
            f"room:{event.room_id}",
            {"type": "replay", "show_id": event.show_id, "url": f"/replay/{event.show_id}/index.m3u8"},
        )

    async def key_changed(event: StreamKeyChanged) -> None:
        if kick is not None:
            await kick(event.room_id)

    bus.subscribe(ShowStarted, started)
    bus.subscribe(PublisherDisconnected, disconnected)
    bus.subscribe(ShowEnded, ended)
    bus.subscribe(ReplayReady, replay_ready)
    bus.subscribe(StreamKeyChanged, key_changed)


async def sweep_stale_shows(db: Database, settings: Settings, *, every: float = 1.0) -> None:
    """End shows whose publisher stayed away past the grace window. State lives in
    the database, so a restart loses nothing: the next sweep catches up."""
    while True:
        try:
            async with db.unit_of_work() as session:
                ended = await service.do_end_stale_shows(
                    session, grace_seconds=settings.media.reconnect_grace_seconds
                )
            if ended:
                log.info("shows ended after publisher left", extra={"shows": ended})
        except Exception:
            log.exception("stale-show sweep failed")
        await asyncio.sleep(every)
