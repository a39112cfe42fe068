"""Room hub: every event of a channel within one tick goes out as one frame.

The frame is encoded once per channel per tick and the same string is queued
to every connection. Each connection has a bounded queue; a consumer that
falls behind is disconnected (it may reconnect and resume) and never stalls
the room. Events carry the broker's id (``eid``) so a client that reconnects
with its last id gets exactly what it missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from livecircle.kit.metrics import WS_CONNECTIONS, WS_FRAMES
from livecircle.realtime.broker import Broker, Event, event_id_key
from livecircle.realtime.fastpath import text_frame, transport_of
from livecircle.realtime.gcpolicy import CrowdCollector
from livecircle.realtime.overload import RoomBudget, shape
from livecircle.realtime.presence import LocalPresence, Presence

log = logging.getLogger(__name__)

SLOW_CONSUMER_CLOSE = 4008
PRESENCE_REFRESH_SECONDS = 10.0
PRESENCE_EVERY_SECONDS = 1.0  # a joining crowd costs one presence frame per second, not one per tick
YIELD_EVERY = 1000
BREATHER_SECONDS = 0.02
PresenceListener = Callable[[str, int], Awaitable[None]]


class Connection:
    def __init__(
        self,
        ws: WebSocket,
        *,
        channel: str,
        identity: dict[str, Any] | None,
        context: Any,
        queue_limit: int,
        max_buffer_bytes: int = 4 << 20,
    ) -> None:
        self.ws = ws
        self.channel = channel
        self.identity = identity
        self.context = context
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=queue_limit)
        self.dropped = False
        # While resuming, tick events wait here so they can be merged after the history.
        self._backlog: list[Event] | None = None
        self.raw = transport_of(ws.scope) if isinstance(getattr(ws, "scope", None), dict) else None
        self.transport: Any = self.raw.transport if self.raw is not None else None
        self.max_buffer_bytes = max_buffer_bytes
        # The hub's hot loop reads this one flag: frames may go straight to the transport
        # (fast path, nothing queued that they could overtake, not resuming, not dropped).
        self.direct = self.raw is not None

    @property
    def backlog(self) -> list[Event] | None:
        return self._backlog

    @backlog.setter
    def backlog(self, value: list[Event] | None) -> None:
        self._backlog = value
        self._refresh()

    def _refresh(self) -> None:
        self.direct = (
            self.raw is not None and self._backlog is None and not self.dropped and self.queue.empty()
        )

    def offer(self, frame: str, encoded: bytes | None = None) -> bool:
        """Send a frame now on the fast path, else queue it; a consumer too far behind is dropped."""
        if self.dropped:
            return False
        if self.raw is not None and self.queue.empty():  # nothing queued may be overtaken
            if not self.raw.writable:
                return False
            if self.raw.buffered() > self.max_buffer_bytes:
                self.drop()
                return False
            self.raw.write(encoded or text_frame(frame.encode()))
            return True
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.drop()
            return False
        self.direct = False
        return True

    def drop(self) -> None:
        """Mark too slow; the writer closes the socket with 4008 when it reaches the marker."""
        self.dropped = True
        self.direct = False
        with contextlib.suppress(asyncio.QueueEmpty):
            self.queue.get_nowait()
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)

    def send_event(self, event: Event) -> bool:
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
            if self.queue.empty():
                self._refresh()  # caught up: back to the fast path


def encode_frame(events: list[Event]) -> str:
    return orjson.dumps({"events": events}).decode()


def merge_missed(
    missed: list[tuple[str, Event]] | None, backlog: list[Event], last_event_id: str
) -> list[Event]:
    """History since ``last_event_id`` followed by the live events held meanwhile, without duplicates."""
    if missed is None:
        return backlog
    events = [{**event, "eid": eid} for eid, event in missed]
    newest = event_id_key(missed[-1][0] if missed else last_event_id)
    return events + [e for e in backlog if "eid" not in e or event_id_key(str(e["eid"])) > newest]


class Hub:
    def __init__(
        self,
        broker: Broker,
        *,
        tick_ms: int,
        queue_limit: int,
        presence: Presence | None = None,
        chat_per_second: int | None = None,
        max_buffer_bytes: int = 4 << 20,
        collector: CrowdCollector | None = None,
    ) -> None:
        self.broker = broker
        self.max_buffer_bytes = max_buffer_bytes
        self.chat_per_second = chat_per_second
        self.budgets: dict[str, RoomBudget] = {}
        self.presence_listeners: list[PresenceListener] = []
        # Called when a connection leaves its channel on this node (domains drop what it held).
        self.leave_listeners: list[Callable[[Connection], None]] = []
        # Called with every event of a watched channel, from every node (domains keep caches fresh).
        self.event_listeners: list[Callable[[str, Event], None]] = []
        # By event type, the form an event takes on the wire: a domain leaves out what clients
        # can derive (a room of 10,000 receives every byte 10,000 times). Listeners get it whole.
        self.wire_forms: dict[str, Callable[[Event], Event]] = {}
        self.presence = presence or LocalPresence()
        self.tick = tick_ms / 1000
        self.queue_limit = queue_limit
        self.channels: defaultdict[str, set[Connection]] = defaultdict(set)
        self.pending: defaultdict[str, list[Event]] = defaultdict(list)
        self.presence_dirty: set[str] = set()
        self._presence_refreshed = time.monotonic()
        self._presence_sent: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None
        self.connections = 0
        self.breather = BREATHER_SECONDS
        self.collector = collector or CrowdCollector()

    async def start(self) -> None:
        await self.broker.start(self._deliver)
        self._task = asyncio.create_task(self._run(), name="realtime-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.broker.stop()
        await self.presence.close()

    async def publish(self, channel: str, event: Event) -> str:
        """Send ``event`` to every connection of ``channel`` on every node, in the next tick."""
        return await self.broker.publish(channel, event)

    async def _deliver(self, channel: str, event_id: str, event: Event) -> None:
        for listener in self.event_listeners:
            listener(channel, event)
        if channel in self.channels:
            self.pending[channel].append(self.on_the_wire({**event, "eid": event_id}))

    def on_the_wire(self, event: Event) -> Event:
        """``event`` as sockets receive it (see ``wire_forms``)."""
        form = self.wire_forms.get(str(event.get("type")))
        return event if form is None else form(event)

    def join(self, conn: Connection) -> None:
        if conn.channel not in self.channels:
            self.broker.watch(conn.channel)
            # Until now this node saw none of the channel's events: caches built on them are stale.
            for listener in self.event_listeners:
                listener(conn.channel, {"type": "watch"})
        self.channels[conn.channel].add(conn)
        self.presence_dirty.add(conn.channel)
        self.connections += 1
        self.collector.joined()
        WS_CONNECTIONS.inc()

    def leave(self, conn: Connection) -> None:
        members = self.channels.get(conn.channel)
        if members is None or conn not in members:
            return
        members.discard(conn)
        self.connections -= 1
        for listener in self.leave_listeners:
            listener(conn)
        self.collector.left()
        WS_CONNECTIONS.dec()
        self.presence_dirty.add(conn.channel)
        if not members:
            del self.channels[conn.channel]
            self.pending.pop(conn.channel, None)
            self.budgets.pop(conn.channel, None)
            self._presence_sent.pop(conn.channel, None)
            self.broker.unwatch(conn.channel)

    def online(self, channel: str) -> int:
        """Connections to ``channel`` on this node."""
        return len(self.channels.get(channel, ()))

    async def flush(self) -> None:
        """Send one frame per channel with everything gathered since the last tick."""
        self.collector.step(self.connections)
        await self._publish_presence()
        for channel, events in list(self.pending.items()):
            if not events:
                continue
            self.pending[channel] = []
            if self.chat_per_second is not None:
                budget = self.budgets.get(channel)
                if budget is None:
                    budget = self.budgets[channel] = RoomBudget(self.chat_per_second, self.tick)
                events = shape(events, budget)
            frame = encode_frame(events)
            encoded = text_frame(frame.encode())  # the same bytes for every socket
            WS_FRAMES.inc(await self._write_all(channel, events, frame, encoded))

    async def _write_all(self, channel: str, events: list[Event], frame: str, encoded: bytes) -> int:
        """The hot loop: one C-level write per socket on the fast path, else ``offer``. Yields to
        the event loop every ``YIELD_EVERY`` sockets so a big room does not stall everything else."""
        direct = 0
        limit = self.max_buffer_bytes
        members = list(self.channels.get(channel, ()))
        for start in range(0, len(members), YIELD_EVERY):
            if start:
                await asyncio.sleep(0)
            for conn in members[start : start + YIELD_EVERY]:
                if conn.direct:
                    transport = conn.transport
                    if transport.is_closing():
                        continue
                    if transport.get_write_buffer_size() > limit:
                        conn.drop()
                        continue
                    transport.write(encoded)
                    direct += 1
                elif conn.backlog is not None:
                    conn.backlog.extend(events)
                else:
                    conn.offer(frame, encoded)
        return direct  # queued frames are counted by their writer

    async def _publish_presence(self) -> None:
        if time.monotonic() - self._presence_refreshed > PRESENCE_REFRESH_SECONDS:
            self.presence_dirty.update(self.channels)  # keep this node's counts alive
            self._presence_refreshed = time.monotonic()
        now = time.monotonic()
        due = {
            c for c in self.presence_dirty if now - self._presence_sent.get(c, 0.0) >= PRESENCE_EVERY_SECONDS
        }
        self.presence_dirty -= due
        for channel in due:
            self._presence_sent[channel] = now
            total = await self.presence.update(channel, self.online(channel))
            if channel in self.channels:
                await self.broker.publish(channel, {"type": "presence", "online": total})
            for listener in self.presence_listeners:
                await listener(channel, total)

    async def _run(self) -> None:
        """A flush every tick; the time a flush takes comes out of the next wait, but never
        all of it: inbound chat gets at least a breather between two flushes."""
        while True:
            started = time.monotonic()
            try:
                await self.flush()
            except Exception:
                log.exception("hub flush failed")
            spent = time.monotonic() - started
            await asyncio.sleep(max(self.tick - spent, self.breather))
