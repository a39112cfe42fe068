"""Room hub: every event of a channel within one tick goes out as one frame.

The frame is encoded once per channel per tick and the same string is queued
to every connection. Each connection has a bounded queue; a consumer that
falls behind is disconnected (it may reconnect and resume) and never stalls
the room.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from typing import Any

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from livecircle.kit.metrics import WS_CONNECTIONS, WS_FRAMES
from livecircle.realtime.broker import Broker

log = logging.getLogger(__name__)

SLOW_CONSUMER_CLOSE = 4008


class Connection:
    def __init__(
        self, ws: WebSocket, *, channel: str, identity: dict[str, Any] | None, context: Any, queue_limit: int
    ) -> None:
        self.ws = ws
        self.channel = channel
        self.identity = identity
        self.context = context
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=queue_limit)
        self.dropped = False

    def offer(self, frame: str) -> bool:
        """Queue a frame; a full queue marks the connection as too slow."""
        if self.dropped:
            return False
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.dropped = True
            with contextlib.suppress(asyncio.QueueFull):
                self.queue.get_nowait()
                self.queue.put_nowait(None)
            return False
        return True

    def send_event(self, event: dict[str, Any]) -> bool:
        return self.offer(encode_frame([event]))

    async def write_loop(self) -> None:
        while True:
            frame = await self.queue.get()
            if frame is None:
                await self.ws.close(code=SLOW_CONSUMER_CLOSE, reason="too slow")
                return
            try:
                await self.ws.send_text(frame)
            except (WebSocketDisconnect, RuntimeError, OSError):
                return
            WS_FRAMES.inc()


def encode_frame(events: list[dict[str, Any]]) -> str:
    return orjson.dumps({"events": events}).decode()


class Hub:
    def __init__(self, broker: Broker, *, tick_ms: int, queue_limit: int) -> None:
        self.broker = broker
        self.tick = tick_ms / 1000
        self.queue_limit = queue_limit
        self.channels: defaultdict[str, set[Connection]] = defaultdict(set)
        self.pending: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
        self.presence_dirty: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.broker.start(self._deliver)
        self._task = asyncio.create_task(self._run(), name="realtime-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.broker.stop()

    async def publish(self, channel: str, event: dict[str, Any]) -> None:
        """Send ``event`` to every connection of ``channel`` on every node, in the next tick."""
        await self.broker.publish(channel, event)

    async def _deliver(self, channel: str, event: dict[str, Any]) -> None:
        if channel in self.channels:
            self.pending[channel].append(event)

    def join(self, conn: Connection) -> None:
        self.channels[conn.channel].add(conn)
        self.presence_dirty.add(conn.channel)
        WS_CONNECTIONS.inc()

    def leave(self, conn: Connection) -> None:
        members = self.channels.get(conn.channel)
        if members is not None and conn in members:
            members.discard(conn)
            WS_CONNECTIONS.dec()
            self.presence_dirty.add(conn.channel)
            if not members:
                del self.channels[conn.channel]
                self.pending.pop(conn.channel, None)

    def online(self, channel: str) -> int:
        return len(self.channels.get(channel, ()))

    def flush(self) -> None:
        """Send one frame per channel with everything gathered since the last tick."""
        for channel in self.presence_dirty:
            if channel in self.channels:
                self.pending[channel].append({"type": "presence", "online": self.online(channel)})
        self.presence_dirty.clear()
        for channel, events in list(self.pending.items()):
            if not events:
                continue
            frame = encode_frame(events)
            self.pending[channel] = []
            for conn in list(self.channels.get(channel, ())):
                conn.offer(frame)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.tick)
            try:
                self.flush()
            except Exception:
                log.exception("hub flush failed")
