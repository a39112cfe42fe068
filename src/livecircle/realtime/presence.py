"""Online counts per channel, across every node serving it."""

from __future__ import annotations

import time
import uuid
from typing import Protocol

from redis.asyncio import Redis

NODE_TTL_SECONDS = 30


class Presence(Protocol):
    async def update(self, channel: str, local: int) -> int:
        """Record this node's count for ``channel``; return the total over all nodes."""
        ...

    async def close(self) -> None: ...


class LocalPresence:
    """One process: the local count is the total."""

    async def update(self, channel: str, local: int) -> int:
        return local

    async def close(self) -> None:
        """Nothing to release."""


class RedisPresence:
    """A hash per channel, one field per node: ``count:expires``. A node that dies
    stops refreshing its field and drops out of the total after NODE_TTL_SECONDS."""

    def __init__(self, url: str, prefix: str = "lc") -> None:
        self.redis: Redis = Redis.from_url(url)
        self.node = uuid.uuid4().hex[:12]
        self.prefix = prefix

    async def update(self, channel: str, local: int) -> int:
        key = f"{self.prefix}:presence:{channel}"
        now = time.time()
        async with self.redis.pipeline(transaction=True) as pipe:
            if local:
                pipe.hset(key, self.node, f"{local}:{now + NODE_TTL_SECONDS:.0f}")
            else:
                pipe.hdel(key, self.node)
            pipe.expire(key, NODE_TTL_SECONDS * 2)
            pipe.hgetall(key)
            *_, fields = await pipe.execute()
        total, stale = 0, []
        for node, value in fields.items():
            count, _, expires = value.decode().partition(":")
            if float(expires) < now:
                stale.append(node)
            else:
                total += int(count)
        if stale:
            await self.redis.hdel(key, *stale)
        return total

    async def close(self) -> None:
        await self.redis.aclose()
