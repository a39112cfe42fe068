"""Redis backend of the broker: one Redis stream per channel.

``publish`` is one XADD (capped at ``history`` entries, so the stream is also
the resume buffer); each node reads the streams of the channels it has viewers
in with one blocking XREAD, so an event published on node A reaches viewers on
node B, in order, with the same id everywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
from redis.asyncio import Redis

from livecircle.realtime.broker import HISTORY, Deliver, Event, Scrub, event_id_key

log = logging.getLogger(__name__)
BLOCK_MS = 100


class RedisBroker:
    def __init__(self, url: str, *, history: int = HISTORY, prefix: str = "lc") -> None:
        self.redis: Redis = Redis.from_url(url)
        self.reader: Redis = Redis.from_url(url)  # the blocking XREAD gets its own connection
        self.history_size = history
        self.prefix = prefix
        self._cursors: dict[str, str | None] = {}  # channel → last id read (None: start at the tail)
        self._deliver: Deliver | None = None
        self._task: asyncio.Task[None] | None = None

    def _key(self, channel: str) -> str:
        return f"{self.prefix}:stream:{channel}"

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver
        await self.redis.ping()
        self._task = asyncio.create_task(self._read_loop(), name="redis-broker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.redis.aclose()
        await self.reader.aclose()

    async def publish(self, channel: str, event: Event) -> str:
        event_id: Any = await self.redis.xadd(
            self._key(channel), {"e": orjson.dumps(event)}, maxlen=self.history_size, approximate=True
        )
        return _text(event_id)

    def watch(self, channel: str) -> None:
        self._cursors.setdefault(channel, None)

    async def prime(self, channel: str) -> None:
        """Fix the stream position now, before the caller tells a client it has joined, so an
        event published in the meantime is not skipped by the reader's lazy start."""
        if channel in self._cursors and self._cursors[channel] is None:
            self._cursors[channel] = await self._tail_id(channel)

    def unwatch(self, channel: str) -> None:
        self._cursors.pop(channel, None)

    async def history(self, channel: str, after_id: str) -> list[tuple[str, Event]] | None:
        if event_id_key(after_id) < (0, 0):
            return None
        key = self._key(channel)
        oldest: Any = await self.redis.xrange(key, count=1)
        if oldest and event_id_key(_text(oldest[0][0])) > event_id_key(after_id):
            return None  # trimmed past the client's position: it needs a fresh snapshot
        entries: Any = await self.redis.xrange(key, min=f"({after_id}", max="+", count=self.history_size)
        return [(_text(eid), orjson.loads(fields[b"e"])) for eid, fields in entries]

    async def scrub(self, fix: Scrub) -> int:
        """A stream entry cannot be rewritten in place: one that ``fix`` changes is deleted."""
        changed = 0
        async for key in self.redis.scan_iter(match=f"{self.prefix}:stream:*"):
            entries: Any = await self.redis.xrange(key)
            doomed = [eid for eid, fields in entries if fix(event := orjson.loads(fields[b"e"])) is not event]
            if doomed:
                changed += int(await self.redis.xdel(key, *doomed))
        return changed

    async def _tail_id(self, channel: str) -> str:
        last: Any = await self.redis.xrevrange(self._key(channel), count=1)
        return _text(last[0][0]) if last else "0-0"

    async def _read_loop(self) -> None:
        while True:
            try:
                await self._read_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("redis broker read failed; retrying")
                await asyncio.sleep(0.5)

    async def _read_once(self) -> None:
        for channel, cursor in list(self._cursors.items()):
            if cursor is None:
                self._cursors[channel] = await self._tail_id(channel)
        streams: dict[Any, Any] = {self._key(ch): cur for ch, cur in self._cursors.items() if cur is not None}
        if not streams:
            await asyncio.sleep(BLOCK_MS / 1000)
            return
        answer: Any = await self.reader.xread(streams, block=BLOCK_MS, count=1000)
        for key, entries in answer or []:
            channel = _text(key).removeprefix(f"{self.prefix}:stream:")
            for eid, fields in entries:
                if channel in self._cursors:
                    self._cursors[channel] = _text(eid)
                if self._deliver is not None:
                    await self._deliver(channel, _text(eid), orjson.loads(fields[b"e"]))


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
