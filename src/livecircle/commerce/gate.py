"""The Redis gate in front of flash sales, for several nodes (LIVECIRCLE_REDIS_URL set).

One Lua script decides each attempt atomically in Redis: "sold out", "over your limit", "a
request with this key is in flight" or "already done" are answered there without touching
the database; only attempts that got a unit go on to the database, whose conditional UPDATE
stays the final word (the gate can never make the database oversell; at worst a too-generous
gate lets through an attempt the database then refuses).

Each unit the gate hands out is a *reservation* under the order's key until the order is
committed (``confirm``) or the attempt failed (``refund``). A node that crashes in between
leaves the reservation behind: ``reconcile`` finds reservations older than a grace period
and settles them against the database (an order exists: confirm; none: refund), and lifts the
gate back to the database's stock when a release never reached it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.commerce.models import FlashBuyer, FlashSale, Order

# KEYS: stock, held (user → units), pending (token → "user:qty:ms"), done (tokens)
# ARGV: qty, user, limit, token, now_ms
_TAKE = """
if redis.call('SISMEMBER', KEYS[4], ARGV[4]) == 1 then return 2 end
if redis.call('HEXISTS', KEYS[3], ARGV[4]) == 1 then return 3 end
local stock = tonumber(redis.call('GET', KEYS[1]))
if stock == nil then return -2 end
local qty = tonumber(ARGV[1])
if stock < qty then return 0 end
local held = tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0')
if held + qty > tonumber(ARGV[3]) then return -1 end
redis.call('DECRBY', KEYS[1], qty)
redis.call('HINCRBY', KEYS[2], ARGV[2], qty)
redis.call('HSET', KEYS[3], ARGV[4], ARGV[2] .. ':' .. ARGV[1] .. ':' .. ARGV[5])
return 1
"""

# KEYS: stock, held, pending, done; ARGV: token, give_stock_back (1/0)
# Settles a reservation once: confirm (done), refund (stock and limit back) or drop (the
# database said sold out: the limit back, the stock not, so a too-generous gate converges).
_SETTLE = """
local entry = redis.call('HGET', KEYS[3], ARGV[1])
if not entry then return 0 end
redis.call('HDEL', KEYS[3], ARGV[1])
local user, qty = string.match(entry, '^(%d+):(%d+):')
if ARGV[2] == 'confirm' then
  redis.call('SADD', KEYS[4], ARGV[1])
  return 1
end
redis.call('HINCRBY', KEYS[2], user, -tonumber(qty))
if ARGV[2] == 'refund' then redis.call('INCRBY', KEYS[1], tonumber(qty)) end
return 1
"""

# KEYS: stock, held; ARGV: stock_left, then user, qty pairs. Loads a sale once.
_LOAD = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
return 1
"""

# KEYS: stock, pending; ARGV: the database's stock_left. Lifts the gate to what the database
# has minus the units still reserved, never lowers it (a lower gate only lags a decision).
_LIFT = """
local stock = tonumber(redis.call('GET', KEYS[1]))
if stock == nil then return 0 end
local reserved = 0
for _, entry in ipairs(redis.call('HVALS', KEYS[2])) do
  local _, qty = string.match(entry, '^(%d+):(%d+):')
  reserved = reserved + tonumber(qty)
end
local should = tonumber(ARGV[1]) - reserved
if stock < should then redis.call('SET', KEYS[1], should); return should - stock end
return 0
"""

# KEYS: stock, held; ARGV: user, qty. An order released in the database while the sale is open.
_RETURN = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('INCRBY', KEYS[1], tonumber(ARGV[2]))
redis.call('HINCRBY', KEYS[2], ARGV[1], -tonumber(ARGV[2]))
return 1
"""

RESERVED, SOLD_OUT, OVER_LIMIT, NOT_LOADED, KNOWN, IN_FLIGHT = 1, 0, -1, -2, 2, 3
ACTIVE = "lc:flash:active"
TTL_SECONDS = 3 * 86400


@dataclass(frozen=True, slots=True)
class SaleTerms:
    """What never changes about a sale: cached per node so most answers need no database."""

    sale_id: int
    tenant_id: int
    sku_id: int
    starts_at: datetime
    ends_at: datetime
    per_user_limit: int


class FlashGate:
    def __init__(self, url: str) -> None:
        self.redis: Redis = Redis.from_url(url)
        self._take = self.redis.register_script(_TAKE)
        self._settle = self.redis.register_script(_SETTLE)
        self._load = self.redis.register_script(_LOAD)
        self._lift = self.redis.register_script(_LIFT)
        self._return = self.redis.register_script(_RETURN)
        self.terms: dict[int, SaleTerms] = {}
        self._loads: dict[int, asyncio.Lock] = {}
        self.loaded: dict[int, int] = {}  # sale → loads this node has done (see ``loading``)
        self._waiting: list[tuple[AsyncScript, list[str], list[Any], asyncio.Future[Any]]] = []
        self._sender: asyncio.Task[None] | None = None

    async def close(self) -> None:
        await self.redis.aclose()

    def loading(self, sale_id: int) -> asyncio.Lock:
        """Held while this node loads what it must know of a sale (its terms, its gate in
        Redis): when a sale opens, the first buyers all find it missing at once, and one load
        serves them all instead of each doing its own. A buyer told NOT_LOADED loads only if
        ``loaded[sale]`` has not moved since it asked."""
        return self._loads.setdefault(sale_id, asyncio.Lock())

    @staticmethod
    def keys(sale_id: int) -> list[str]:
        base = f"lc:flash:{sale_id}"
        return [f"{base}:stock", f"{base}:held", f"{base}:pending", f"{base}:done"]

    @staticmethod
    def token(user_id: int, key: str) -> str:
        return f"{user_id}:{key}"

    async def take(self, sale_id: int, *, user_id: int, quantity: int, limit: int, token: str) -> int:
        """One decision (see ``_call``: a rush costs a round trip per batch, not per buyer)."""
        args = [quantity, user_id, limit, token, int(time.time() * 1000)]
        return int(await self._call(self._take, self.keys(sale_id), args))

    async def _call(self, script: AsyncScript, keys: list[str], args: list[Any]) -> Any:
        """Run ``script``. Calls made while others travel go to Redis together in one pipeline
        (each script still runs atomically, in the order asked)."""
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting.append((script, keys, args, done))
        if self._sender is None:
            self._sender = asyncio.create_task(self._send())
        return await done

    async def _send(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    async with self.redis.pipeline(transaction=False) as pipe:
                        for script, keys, args, _ in batch:
                            await script(keys=keys, args=args, client=pipe)
                        results = await pipe.execute(raise_on_error=False)
                except Exception as exc:  # the connection failed: every waiter hears it
                    results = [exc] * len(batch)
                for (_, _, _, done), result in zip(batch, results, strict=True):
                    if done.done():
                        continue
                    if isinstance(result, Exception):
                        done.set_exception(result)
                    else:
                        done.set_result(result)
        finally:
            self._sender = None

    async def confirm(self, sale_id: int, token: str) -> None:
        await self._call(self._settle, self.keys(sale_id), [token, "confirm"])

    async def refund(self, sale_id: int, token: str) -> bool:
        return bool(await self._call(self._settle, self.keys(sale_id), [token, "refund"]))

    async def drop(self, sale_id: int, token: str) -> None:
        await self._call(self._settle, self.keys(sale_id), [token, "drop"])

    async def give_back(self, sale_id: int, *, user_id: int, quantity: int) -> None:
        await self._return(keys=self.keys(sale_id)[:2], args=[user_id, quantity])

    async def close_sale(self, sale_id: int) -> None:
        await self.redis.set(self.keys(sale_id)[0], 0, xx=True)

    async def load(self, session: AsyncSession, sale: FlashSale) -> None:
        """Put the sale's stock and buyers into Redis, once (a no-op when already there)."""
        holders = await session.execute(
            select(FlashBuyer.user_id, FlashBuyer.quantity).where(
                FlashBuyer.sale_id == sale.id, FlashBuyer.quantity > 0
            )
        )
        args: list[Any] = [0 if sale.closed_at is not None else sale.stock_left]
        for user_id, quantity in holders:
            args += [user_id, quantity]
        stock, held, pending, done = self.keys(sale.id)
        await self._load(keys=[stock, held], args=args)
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in (stock, held, pending, done):
                pipe.expire(key, TTL_SECONDS)
            pipe.sadd(ACTIVE, sale.id)
            await pipe.execute()
        self.loaded[sale.id] = self.loaded.get(sale.id, 0) + 1

    async def reconcile(self, session: AsyncSession, *, older_than_s: float) -> dict[str, int]:
        """Settle reservations older than ``older_than_s`` against the database and lift gates
        that lag it. Safe to run on every node at once: each settlement happens once."""
        figures = {"confirmed": 0, "refunded": 0, "lifted": 0}
        cutoff = int((time.time() - older_than_s) * 1000)
        for raw in await self.redis.smembers(ACTIVE):
            sale_id = int(raw)
            sale = await session.get(FlashSale, sale_id, populate_existing=True)
            if sale is None:
                await self.redis.srem(ACTIVE, sale_id)
                continue
            _, _, pending, _ = self.keys(sale_id)
            entries = await self.redis.hgetall(pending)
            for token_raw, entry in entries.items():
                user, _, stamp = _text(entry).split(":")
                if int(stamp) > cutoff:
                    continue
                token = _text(token_raw)
                key = token.split(":", 1)[1]
                placed = await session.scalar(
                    select(Order.id).where(
                        Order.user_id == int(user), Order.client_key == key, Order.flash_sale_id == sale_id
                    )
                )
                if placed is not None:
                    await self.confirm(sale_id, token)
                    figures["confirmed"] += 1
                elif await self.refund(sale_id, token):
                    figures["refunded"] += 1
            if sale.closed_at is None:
                figures["lifted"] += int(
                    await self._lift(keys=[self.keys(sale_id)[0], pending], args=[sale.stock_left])
                )
            elif not entries:
                await self.redis.srem(ACTIVE, sale_id)
        return figures


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
