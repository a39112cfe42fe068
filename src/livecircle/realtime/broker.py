"""Broker: how an event published on one node reaches the hubs of every node.

Every event gets an id, increasing per channel, which clients echo back as
``last_event_id`` when they reconnect; ``history`` returns what they missed,
or None when the gap is older than what the broker keeps. The in-memory
broker serves one process; ``RedisBroker`` (redis_broker.py) several.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

Event = dict[str, Any]
Deliver = Callable[[str, str, Event], Awaitable[None]]
Scrub = Callable[[Event], Event | None]
HISTORY = 1000


class Broker(Protocol):
    async def start(self, deliver: Deliver) -> None: ...

    async def publish(self, channel: str, event: Event) -> str: ...

    async def history(self, channel: str, after_id: str) -> list[tuple[str, Event]] | None: ...

    def watch(self, channel: str) -> None: ...

    async def prime(self, channel: str) -> None:
        """Make sure events published from now on in a watched channel are delivered."""
        ...

    def unwatch(self, channel: str) -> None: ...

    async def scrub(self, fix: Scrub) -> int:
        """Rewrite (or drop, when ``fix`` returns None) the events kept for resume; returns
        how many changed (an erased account's lines leave the replay history)."""
        ...

    async def stop(self) -> None: ...


class MemoryBroker:
    """Single-process fan-out with a per-channel ring buffer for resume."""

    def __init__(self, history: int = HISTORY) -> None:
        self._deliver: Deliver | None = None
        self._seq: defaultdict[str, int] = defaultdict(int)
        self._ring: defaultdict[str, deque[tuple[int, Event]]] = defaultdict(lambda: deque(maxlen=history))

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver

    async def publish(self, channel: str, event: Event) -> str:
        self._seq[channel] += 1
        seq = self._seq[channel]
        self._ring[channel].append((seq, event))
        if self._deliver is not None:
            await self._deliver(channel, str(seq), event)
        return str(seq)

    async def history(self, channel: str, after_id: str) -> list[tuple[str, Event]] | None:
        if not after_id.isdigit():
            return None
        after = int(after_id)
        ring = self._ring.get(channel)
        if after == self._seq.get(channel, 0):
            return []
        if ring is None or after > self._seq[channel] or (ring and ring[0][0] > after + 1):
            return None
        return [(str(seq), event) for seq, event in ring if seq > after]

    def watch(self, channel: str) -> None:
        """Every channel is local in one process."""

    async def prime(self, channel: str) -> None:
        """Nothing to do: publishing delivers synchronously."""

    def unwatch(self, channel: str) -> None:
        """Every channel is local in one process."""

    async def scrub(self, fix: Scrub) -> int:
        changed = 0
        for ring in self._ring.values():
            kept = []
            for seq, event in ring:
                fixed = fix(event)
                changed += fixed is not event
                if fixed is not None:
                    kept.append((seq, fixed))
            ring.clear()
            ring.extend(kept)
        return changed

    async def stop(self) -> None:
        self._deliver = None


def event_id_key(event_id: str) -> tuple[int, int]:
    """Order event ids of either broker: "42" (memory) or "1732450000000-3" (Redis stream)."""
    head, _, tail = event_id.partition("-")
    try:
        return int(head), int(tail or 0)
    except ValueError:
        return -1, -1
