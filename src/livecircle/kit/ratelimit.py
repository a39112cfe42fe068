"""Rate limits for abuse-prone endpoints (sign-in, sign-up, password change, exports): 429 +
Retry-After (ASVS v5.0.0-2.4.1).

A sliding window per key: at most ``limit`` counted attempts in any ``window`` seconds. In
process memory on one node; in Redis (one sorted set per key, one Lua script per decision)
when ``LIVECIRCLE_REDIS_URL`` is set, so every node counts against the same window.

Two ways to count:

- ``acquire``: every attempt counts; the one over the limit is refused (and not counted);
- ``check`` + ``record``: only what ``record`` counts (failed sign-ins, say); ``check`` refuses
  while the window is full. A user who types the password right is never slowed down.

``claim`` is the same store used once: the first caller of a key within ``ttl`` gets True (a
one-time ticket's nonce).
"""

from __future__ import annotations

import math
import secrets
import time
from collections import deque
from collections.abc import Callable
from typing import Annotated, Any, Protocol, cast

from fastapi import Depends
from redis.asyncio import Redis
from starlette.requests import HTTPConnection

from livecircle.kit.errors import AppError

PREFIX = "livecircle:rl:"


class RateLimited(AppError):
    code = "rate_limited"
    status_code = 429
    message = "Too many attempts; try again later"

    def __init__(self, retry_after: float, message: str | None = None) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(message, retry_after=self.retry_after)

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class Store(Protocol):
    async def wait(self, key: str, limit: int, window: float, now: float) -> float:
        """Seconds until ``key`` has room for one more attempt (0: room now)."""

    async def add(self, key: str, limit: int, window: float, now: float) -> float:
        """Count one attempt when there is room (returns 0), else the seconds to wait."""

    async def claim(self, key: str, ttl: float, now: float) -> bool: ...

    async def close(self) -> None: ...


class MemoryStore:
    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}
        self._claims: dict[str, float] = {}

    def _window(self, key: str, window: float, now: float) -> deque[float]:
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(self._hits) > 100_000:
            self._forget_idle(now, window)
        return hits

    async def wait(self, key: str, limit: int, window: float, now: float) -> float:
        hits = self._window(key, window, now)
        return 0.0 if len(hits) < limit else hits[-limit] + window - now

    async def add(self, key: str, limit: int, window: float, now: float) -> float:
        hits = self._window(key, window, now)
        if len(hits) >= limit:
            return hits[-limit] + window - now
        hits.append(now)
        return 0.0

    async def claim(self, key: str, ttl: float, now: float) -> bool:
        if len(self._claims) > 100_000:
            self._claims = {k: until for k, until in self._claims.items() if until > now}
        until = self._claims.get(key)
        if until is not None and until > now:
            return False
        self._claims[key] = now + ttl
        return True

    def _forget_idle(self, now: float, window: float) -> None:
        for key in [k for k, h in self._hits.items() if not h or h[-1] <= now - window]:
            del self._hits[key]

    async def close(self) -> None:
        return None


# KEYS[1]: the window's sorted set; ARGV: now, window, limit, member, add (1/0)
# Returns the seconds to wait as a string (0: there was room, and with add=1 it was counted).
_WINDOW = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
if n >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')
  return tostring(tonumber(oldest[2]) + window - now)
end
if ARGV[5] == '1' then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
end
return '0'
"""


class RedisStore:
    def __init__(self, url: str) -> None:
        self.redis: Redis = Redis.from_url(url)
        self._window = self.redis.register_script(_WINDOW)

    async def _run(self, key: str, limit: int, window: float, now: float, *, add: bool) -> float:
        member = f"{now!r}:{secrets.token_hex(4)}"
        args: list[str | int | float] = [repr(now), repr(window), limit, member, "1" if add else "0"]
        wait = await self._window(keys=[PREFIX + key], args=args)
        return max(0.0, float(wait))

    async def wait(self, key: str, limit: int, window: float, now: float) -> float:
        return await self._run(key, limit, window, now, add=False)

    async def add(self, key: str, limit: int, window: float, now: float) -> float:
        return await self._run(key, limit, window, now, add=True)

    async def claim(self, key: str, ttl: float, now: float) -> bool:
        done = await self.redis.set(PREFIX + "once:" + key, "1", nx=True, px=max(1, math.ceil(ttl * 1000)))
        return bool(done)

    async def close(self) -> None:
        await self.redis.aclose()


class RateLimiter:
    """The node's limiter (``app.state.limiter``). Keys name what is limited, e.g.
    ``"login:ip:203.0.113.7"``; callers hash or normalise what they put in them."""

    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    @classmethod
    def for_url(cls, redis_url: str = "", **options: Any) -> RateLimiter:
        return cls(RedisStore(redis_url) if redis_url else MemoryStore(), **options)

    async def acquire(self, key: str, *, limit: int, window: float, message: str | None = None) -> None:
        """Count one attempt. Raises RateLimited (not counted) when the window is full."""
        wait = await self.store.add(key, limit, window, self.clock())
        if wait > 0:
            raise RateLimited(wait, message)

    async def check(self, key: str, *, limit: int, window: float, message: str | None = None) -> None:
        """Raises RateLimited while ``record`` has filled the window; counts nothing."""
        wait = await self.store.wait(key, limit, window, self.clock())
        if wait > 0:
            raise RateLimited(wait, message)

    async def record(self, key: str, *, limit: int, window: float) -> None:
        """Count one attempt (a failure) toward ``check``'s window."""
        await self.store.add(key, limit, window, self.clock())

    async def claim(self, key: str, *, ttl: float) -> bool:
        """True for the first caller of ``key`` within ``ttl`` seconds, False for every later one."""
        return await self.store.claim(key, ttl, self.clock())

    async def close(self) -> None:
        await self.store.close()


def get_rate_limiter(conn: HTTPConnection) -> RateLimiter:
    return cast(RateLimiter, conn.app.state.limiter)


async def rate_limiter(conn: HTTPConnection) -> RateLimiter:
    return get_rate_limiter(conn)


Limiter = Annotated[RateLimiter, Depends(rate_limiter)]
