"""Decision rates on one hot flash sale: the database's conditional UPDATE and the Redis
gate's Lua script, each beside a common alternative (the peer) in the same run.

- PostgreSQL: the exact UPDATE ``livecircle.commerce.stock.take_flash`` sends, compiled by
  SQLAlchemy and run as a prepared statement on C asyncpg connections, in autocommit (one
  decision, one commit), against the pessimistic peer: ``SELECT … FOR UPDATE`` then
  ``UPDATE`` in a transaction.
- Redis: ``FlashGate.take`` (our Lua script, decisions in flight sent in one pipeline)
  against the optimistic peer: ``WATCH`` / ``GET`` / ``MULTI`` / ``DECRBY`` / ``EXEC``,
  retried on conflict, one client connection per buyer task.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from redis.asyncio import Redis
from redis.exceptions import WatchError
from sqlalchemy.dialects import postgresql

from livecircle.commerce import stock
from livecircle.commerce.gate import _TAKE as _TAKE_SCRIPT
from livecircle.commerce.gate import RESERVED, FlashGate
from livecircle.kit.clock import utcnow

Decide = Callable[[int], Awaitable[bool]]


async def _rate(decide: Decide, *, clients: int, seconds: float) -> dict[str, Any]:
    """``clients`` tasks deciding in a loop for ``seconds``; decisions per second."""
    done = 0
    refused = 0
    stop = time.perf_counter() + seconds

    async def client(number: int) -> None:
        nonlocal done, refused
        attempt = 0
        while time.perf_counter() < stop:
            attempt += 1
            if await decide(number * 10_000_000 + attempt):
                done += 1
            else:
                refused += 1

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.perf_counter() - started
    return {"decisions_per_s": round((done + refused) / elapsed), "granted": done, "refused": refused}


def take_flash_sql(sale_id: int) -> tuple[str, list[Any]]:
    """The UPDATE ``stock.take_flash`` sends for one unit of ``sale_id`` now, compiled for
    asyncpg: the SQL ($n placeholders) and its arguments in order."""
    captured: list[Any] = []

    class Capture:
        async def execute(self, statement: Any) -> Any:
            captured.append(statement)

            class Result:
                rowcount = 1

            return Result()

    asyncio.run(stock.take_flash(Capture(), sale_id, 1, utcnow(), 0))  # type: ignore[arg-type]
    compiled = captured[0].compile(dialect=postgresql.asyncpg.dialect())  # type: ignore[no-untyped-call]
    values = compiled.construct_params()
    return str(compiled), [values[name] for name in compiled.positiontup or ()]


async def postgresql_rates(dsn: str, sale_id: int, *, clients: int, seconds: float) -> dict[str, Any]:
    decide_sql, arguments = await asyncio.to_thread(take_flash_sql, sale_id)
    pool = await asyncpg.create_pool(dsn, min_size=clients, max_size=clients)
    try:

        async def ours(_: int) -> bool:
            async with pool.acquire() as conn:
                status = await conn.execute(decide_sql, *arguments)
            return bool(status.endswith(" 1"))

        async def peer(_: int) -> bool:
            async with pool.acquire() as conn, conn.transaction():
                left = await conn.fetchval(
                    "SELECT stock_left FROM commerce_flash_sale WHERE id = $1 FOR UPDATE", sale_id
                )
                if left is None or left < 1:
                    return False
                await conn.execute(
                    "UPDATE commerce_flash_sale SET stock_left = stock_left - 1 WHERE id = $1", sale_id
                )
                return True

        return {
            "ours": await _rate(ours, clients=clients, seconds=seconds),
            "peer_select_for_update": await _rate(peer, clients=clients, seconds=seconds),
            "sql": decide_sql,
        }
    finally:
        await pool.close()


async def redis_rates(redis_url: str, sale_id: int, *, clients: int, seconds: float) -> dict[str, Any]:
    gate = FlashGate(redis_url)
    stock_key = FlashGate.keys(sale_id)[0]
    await gate.redis.set(stock_key, 10**12)
    peer_key = f"bench:peer:{sale_id}:stock"
    await gate.redis.set(peer_key, 10**12)
    peers = [Redis.from_url(redis_url) for _ in range(clients)]
    try:

        async def ours(attempt: int) -> bool:
            verdict = await gate.take(sale_id, user_id=attempt, quantity=1, limit=10**9, token=f"b{attempt}")
            return verdict == RESERVED

        async def peer(attempt: int) -> bool:
            client = peers[attempt // 10_000_000]
            while True:
                async with client.pipeline(transaction=True) as pipe:
                    try:
                        await pipe.watch(peer_key)
                        left = int(await pipe.get(peer_key) or 0)
                        if left < 1:
                            return False
                        pipe.multi()  # type: ignore[no-untyped-call]
                        pipe.decrby(peer_key, 1)
                        await pipe.execute()
                        return True
                    except WatchError:
                        continue

        return {
            "ours": await _rate(ours, clients=clients, seconds=seconds),
            "peer_watch_multi": await _rate(peer, clients=clients, seconds=seconds),
        }
    finally:
        await gate.close()
        for client in peers:
            await client.aclose()


# The peer for the server-side figure: the plain check-and-decrement script of
# research/analytics_sales_privacy.md §2.2 (no per-user limit, no reservations).
PEER_SCRIPT = """
local s = tonumber(redis.call('get', KEYS[1]))
if s and s > 0 then redis.call('decr', KEYS[1]); redis.call('incr', KEYS[2]); return 1 end
return 0
"""


def redis_server_rates(redis_url: str, *, clients: int = 50, requests: int = 300_000) -> dict[str, Any]:
    """The gate's script as Redis itself runs it, driven by ``redis-benchmark`` (C) with random
    buyers and tokens, beside the peer script; what one Python process can send is the
    ``redis_rates`` figure."""
    if shutil.which("redis-benchmark") is None:
        return {"error": "redis-benchmark not found"}
    port = redis_url.rsplit(":", 1)[1].split("/")[0]
    figures: dict[str, Any] = {}
    scripts = {
        "ours": (
            _TAKE_SCRIPT,
            ["4", "rb:s", "rb:h", "rb:p", "rb:d", "1", "__rand_int__", "1000000000", "t__rand_int__", "1"],
        ),
        "peer_check_and_decr": (PEER_SCRIPT, ["2", "rb:peer", "rb:sold"]),
    }
    for name, (script, args) in scripts.items():
        load = subprocess.run(
            ["redis-cli", "-p", port, "SCRIPT", "LOAD", script], capture_output=True, text=True
        )
        subprocess.run(
            ["redis-cli", "-p", port, "MSET", "rb:s", "1000000000", "rb:peer", "1000000000"],
            capture_output=True,
        )
        run = subprocess.run(
            [
                "redis-benchmark",
                "-p",
                port,
                "-c",
                str(clients),
                "-n",
                str(requests),
                "-r",
                "100000000",
                "-q",
                "EVALSHA",
                load.stdout.strip(),
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        line = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr
        rate = line.split(": ", 1)[1].split(" requests")[0] if ": " in line else "0"
        figures[name] = {"decisions_per_s": round(float(rate)), "clients": clients, "line": line[-80:]}
    return figures


PGBENCH_DECISION = (
    "UPDATE commerce_flash_sale SET stock_left = stock_left - 1 WHERE id = :sale AND stock_left >= 1"
    " AND starts_at <= now() AND ends_at > now() AND closed_at IS NULL;\n"
)


def postgresql_server_rates(dsn: str, sale_id: int, *, clients: int, seconds: float) -> dict[str, Any]:
    """The decision UPDATE run by ``pgbench`` (C, prepared, autocommit): what the database
    itself allows on this disk, with every commit flushed."""
    if shutil.which("pgbench") is None:
        return {"error": "pgbench not found"}
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(PGBENCH_DECISION)
    try:
        run = subprocess.run(
            [
                "pgbench",
                "-n",
                "-M",
                "prepared",
                "-c",
                str(clients),
                "-j",
                "2",
                "-D",
                f"sale={sale_id}",
                "-T",
                str(int(seconds)),
                "-f",
                script.name,
                dsn,
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 120,
        )
    finally:
        Path(script.name).unlink()
    tps = [line for line in run.stdout.splitlines() if line.startswith("tps")]
    return {
        "decisions_per_s": round(float(tps[0].split("=")[1].split()[0])) if tps else 0,
        "clients": clients,
    }
