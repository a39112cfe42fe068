"""Where a show's media lives on disk, and registering a finished recording."""

from __future__ import annotations

import shutil
from pathlib import Path

from livecircle.config import Settings
from livecircle.kit.db import Database
from livecircle.live import service
from livecircle.live.media.hls import playlist_duration_ms, read_playlist


def live_dir(settings: Settings, stream_name: str) -> Path:
    return settings.hls_dir / stream_name


def record_dir(settings: Settings, show_id: int, part: int) -> Path:
    return settings.replay_dir / str(show_id) / str(part)


def reset_live_dir(settings: Settings, stream_name: str) -> Path:
    directory = live_dir(settings, stream_name)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


async def register_recording(db: Database, settings: Settings, *, show_id: int, part: int) -> bool:
    """Record a finished part if it holds any media. Returns whether it was registered."""
    directory = record_dir(settings, show_id, part)
    playlist = read_playlist(directory / "index.m3u8")
    if not playlist or "#EXTINF" not in playlist:
        return False
    async with db.unit_of_work() as session:
        await service.do_register_recording(
            session,
            show_id=show_id,
            part=part,
            directory=str(directory.relative_to(settings.replay_dir)),
            duration_ms=playlist_duration_ms(playlist),
        )
    return True
