"""Broker: how an event published on one node reaches the hubs of every node.

The in-memory broker serves one process; a Redis backend plugs into the same
interface for several nodes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

Deliver = Callable[[str, dict[str, Any]], Awaitable[None]]


class Broker(Protocol):
    async def start(self, deliver: Deliver) -> None: ...

    async def publish(self, channel: str, event: dict[str, Any]) -> None: ...

    async def stop(self) -> None: ...


class MemoryBroker:
    """Single-process fan-out: publish delivers straight to the local hub."""

    def __init__(self) -> None:
        self._deliver: Deliver | None = None

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver

    async def publish(self, channel: str, event: dict[str, Any]) -> None:
        if self._deliver is not None:
            await self._deliver(channel, event)

    async def stop(self) -> None:
        self._deliver = None
