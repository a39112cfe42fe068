"""Embedded media adapter: RTMP ingest in our process (pyrtmp) piped into ffmpeg.

The stream key is checked on ``publish`` before any media is accepted; a
wrong or revoked key is refused by closing the connection. Each accepted
publish runs one ffmpeg that writes the live HLS window and the recording.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from pyrtmp import StreamClosedException
from pyrtmp.flv import FLVMediaType, FLVWriter
from pyrtmp.rtmp import RTMPProtocol, SimpleRTMPController
from pyrtmp.session_manager import SessionManager

from livecircle.config import Settings
from livecircle.kit.db import Database
from livecircle.kit.errors import AppError
from livecircle.kit.metrics import PUBLISHERS
from livecircle.live import service
from livecircle.live.media.ffmpeg import find_ffmpeg, ingest_command
from livecircle.live.media.recording import record_dir, register_recording, reset_live_dir
from livecircle.live.service import PublishGrant

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Publisher:
    grant: PublishGrant
    rtmp: SessionManager
    process: asyncio.subprocess.Process
    flv: FLVWriter = field(default_factory=FLVWriter)
    bytes_in: int = 0

    def write(self, timestamp: int, payload: bytes, media_type: FLVMediaType) -> None:
        assert self.process.stdin is not None
        chunk = self.flv.write(timestamp, payload, media_type)
        self.bytes_in += len(chunk)
        self.process.stdin.write(chunk)

    async def drain(self) -> None:
        assert self.process.stdin is not None
        await self.process.stdin.drain()

    async def finish(self) -> None:
        """Close ffmpeg's input so it finalises the playlists, then wait for it."""
        assert self.process.stdin is not None
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.process.stdin.close()
            await self.process.stdin.wait_closed()
        try:
            await asyncio.wait_for(self.process.wait(), timeout=15)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


class EmbeddedIngest:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.ffmpeg = find_ffmpeg(settings.media.ffmpeg)
        self.publishers: dict[int, Publisher] = {}
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: RTMPProtocol(controller=_Controller(self)),
            host=self.settings.media.rtmp_host,
            port=self.settings.media.rtmp_port,
        )
        log.info("rtmp ingest listening", extra={"port": self.settings.media.rtmp_port})

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for room_id in list(self.publishers):
            await self.kick(room_id)

    async def kick(self, room_id: int) -> None:
        """Disconnect the room's publisher (key rotated or revoked, show ended)."""
        publisher = self.publishers.get(room_id)
        if publisher is not None:
            publisher.rtmp.writer.close()

    async def open_publisher(self, rtmp: SessionManager, key: str) -> Publisher:
        """Raises AppError (PublishRefused, AlreadyPublishing) for a refused key."""
        async with self.db.unit_of_work() as session:
            grant = await service.check_publish(session, key=key)
        live = (
            reset_live_dir(self.settings, grant.stream_name)
            if not grant.resumed
            else (self.settings.hls_dir / grant.stream_name)
        )
        live.mkdir(parents=True, exist_ok=True)
        recording = record_dir(self.settings, grant.show_id, grant.part)
        recording.mkdir(parents=True, exist_ok=True)
        command = ingest_command(
            self.ffmpeg,
            live_dir=live,
            record_dir=recording,
            segment_seconds=self.settings.media.hls_segment_seconds,
            list_size=self.settings.media.hls_list_size,
        )
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        publisher = Publisher(grant=grant, rtmp=rtmp, process=process)
        self.publishers[grant.room_id] = publisher
        PUBLISHERS.inc()
        log.info("publish accepted", extra={"room": grant.room_id, "show": grant.show_id, "part": grant.part})
        return publisher

    async def close_publisher(self, publisher: Publisher) -> None:
        grant = publisher.grant
        if self.publishers.get(grant.room_id) is publisher:
            del self.publishers[grant.room_id]
            PUBLISHERS.dec()
        await publisher.finish()
        async with self.db.unit_of_work() as session:
            await service.do_unpublish(session, show_id=grant.show_id)
        await register_recording(self.db, self.settings, show_id=grant.show_id, part=grant.part)
        log.info(
            "publish ended", extra={"room": grant.room_id, "show": grant.show_id, "bytes": publisher.bytes_in}
        )


class _Controller(SimpleRTMPController):  # type: ignore[misc]  # pyrtmp ships no type hints
    """pyrtmp callbacks → our ingest. ``session.state`` holds the Publisher once accepted."""

    def __init__(self, ingest: EmbeddedIngest) -> None:
        self.ingest = ingest
        super().__init__()

    async def on_ns_publish(self, session: SessionManager, message: Any) -> None:
        key = str(message.publishing_name).split("?", 1)[0]
        try:
            publisher = await self.ingest.open_publisher(session, key)
        except AppError as exc:
            log.warning("publish refused", extra={"reason": exc.code, "peer": session.peername})
            session.writer.close()
            raise StreamClosedException() from exc
        session.state = publisher
        publisher.process.stdin.write(publisher.flv.write_header())  # type: ignore[union-attr]
        await super().on_ns_publish(session, message)

    async def on_metadata(self, session: SessionManager, message: Any) -> None:
        if isinstance(session.state, Publisher):
            session.state.write(0, message.to_raw_meta(), FLVMediaType.OBJECT)

    async def on_video_message(self, session: SessionManager, message: Any) -> None:
        if isinstance(session.state, Publisher):
            session.state.write(message.timestamp, message.payload, FLVMediaType.VIDEO)
            await session.state.drain()

    async def on_audio_message(self, session: SessionManager, message: Any) -> None:
        if isinstance(session.state, Publisher):
            session.state.write(message.timestamp, message.payload, FLVMediaType.AUDIO)

    async def on_unknown_message(self, session: SessionManager, message: Any) -> None:
        """OBS sends releaseStream/FCPublish/FCUnpublish; nothing to do."""

    async def on_stream_closed(self, session: SessionManager, exception: StreamClosedException) -> None:
        """The publisher went away; cleanup() handles it."""

    async def cleanup(self, session: SessionManager) -> None:
        if isinstance(session.state, Publisher):
            publisher, session.state = session.state, {}
            await self.ingest.close_publisher(publisher)
