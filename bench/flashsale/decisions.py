"""Decision rates on one hot flash sale: the database's conditional UPDATE and the Redis
gate's Lua script, each beside a common alternative (the peer) in the same run.

- PostgreSQL: ``livecircle.commerce.stock.take_flash`` on a sale spread over slot rows. Its
  first statement (``stock.take_free_slot``: one UPDATE on the first slot nobody has locked),
  compiled by SQLAlchemy, runs as a prepared statement on C asyncpg connections in autocommit
  (one decision, one commit); when it finds every slot locked, the rest of ``take_flash`` runs
  through SQLAlchemy, as in the product. The peers, on one hot row (a SKU with the same stock):
  the conditional UPDATE ``stock.take_sku`` sends (how ``take_flash`` decided before the slots),
  and the pessimistic ``SELECT … FOR UPDATE`` then ``UPDATE`` in a transaction.
- Redis: ``FlashGate.take`` (our Lua script, decisions in flight sent in one pipeline)
  against the optimistic peer: ``WATCH`` / ``GET`` / ``MULTI`` / ``DECRBY`` / ``EXEC``,
  retried on conflict, one client connection per buyer task.
"""

from __future__ import annotations

import asyncio
import re
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
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from tests.services import plain_dsn

from livecircle.commerce import stock
from livecircle.commerce.gate import _TAKE as _TAKE_SCRIPT
from livecircle.commerce.gate import RESERVED, FlashGate
from livecircle.kit.clock import utcnow

Decide = Callable[[int], Awaitable[bool]]
CLIENT_STRIDE = 10_000_000  # attempt numbers: client n's are n·stride + 1, 2, …


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
            if await decide(number * CLIENT_STRIDE + attempt):
                done += 1
            else:
                refused += 1

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.perf_counter() - started
    return {"decisions_per_s": round((done + refused) / elapsed), "granted": done, "refused": refused}


def compiled(statement: Any) -> tuple[str, list[Any]]:
    """A SQLAlchemy statement compiled for asyncpg: the SQL ($n placeholders) and its
    arguments in order."""
    result = statement.compile(dialect=postgresql.asyncpg.dialect())
    values = result.construct_params()
    return str(result), [values[name] for name in result.positiontup or ()]


def pgbench_sql(statement: Any) -> tuple[str, dict[str, Any]]:
    """The same statement for ``pgbench``: ``:name`` variables and their values."""
    result = statement.compile(dialect=postgresql.psycopg.dialect())
    return re.sub(r"%\((\w+)\)s", r":\1", str(result)), dict(result.construct_params())


async def postgresql_rates(
    url: str, sale_id: int, sku_id: int, *, clients: int, seconds: float
) -> dict[str, Any]:
    """Decisions per second on the sale's slots (ours) and on the SKU's one row (the peers)."""
    now = utcnow()
    fast_sql, fast_args = compiled(stock.take_free_slot(sale_id, 1, now))
    row_sql, row_args = compiled(stock.take_from_sku(sku_id, 1))
    # One connection per client, held for the run: the client loop costs no pool hand-off.
    connections = [await asyncpg.connect(plain_dsn(url)) for _ in range(clients)]
    engine = create_async_engine(url, pool_size=clients, max_overflow=0)
    waited = 0
    try:

        async def ours(attempt: int) -> bool:
            nonlocal waited
            status = await connections[attempt // CLIENT_STRIDE].execute(fast_sql, *fast_args)
            if status.endswith(" 1"):
                return True
            waited += 1  # every slot holding units was locked: the rest of take_flash
            async with AsyncSession(engine) as session, session.begin():
                return await stock.take_flash(session, sale_id, 1, now, 0)

        async def one_row(attempt: int) -> bool:
            status = await connections[attempt // CLIENT_STRIDE].execute(row_sql, *row_args)
            return bool(status.endswith(" 1"))

        async def select_for_update(attempt: int) -> bool:
            conn = connections[attempt // CLIENT_STRIDE]
            async with conn.transaction():
                left = await conn.fetchval("SELECT stock FROM commerce_sku WHERE id = $1 FOR UPDATE", sku_id)
                if left is None or left < 1:
                    return False
                await conn.execute("UPDATE commerce_sku SET stock = stock - 1 WHERE id = $1", sku_id)
                return True

        slots = await _rate(ours, clients=clients, seconds=seconds)
        return {
            "ours": slots | {"waited_for_a_slot": waited},
            "peer_one_row": await _rate(one_row, clients=clients, seconds=seconds),
            "peer_select_for_update": await _rate(select_for_update, clients=clients, seconds=seconds),
            "sql": fast_sql,
        }
    finally:
        for conn in connections:
            await conn.close()
        await engine.dispose()


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
            client = peers[attempt // CLIENT_STRIDE]
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


def redis_server_rates(
    redis_url: str, *, clients: int = 50, requests: int = 300_000, granted_share: float = 500 / 20_000
) -> dict[str, Any]:
    """The gate's script as Redis itself runs it, driven by ``redis-benchmark`` (C) with random
    buyers and tokens, beside the peer script; what one Python process can send is the
    ``redis_rates`` figure. Two stocks for each: the rush's own mix (``granted_share`` of the
    requests get a unit, as 500 of 20,000 buyers do; the rest are told "sold out") and a stock
    that never runs out (every decision reserves a unit: the script's heaviest path)."""
    if shutil.which("redis-benchmark") is None:
        return {"error": "redis-benchmark not found"}
    port = redis_url.rsplit(":", 1)[1].split("/")[0]
    ours = ["4", "rb:s", "rb:h", "rb:p", "rb:d", "1", "__rand_int__", "1000000000", "t__rand_int__", "1"]
    peer = ["2", "rb:s", "rb:sold"]
    rush_stock = round(requests * granted_share)
    runs = {
        "ours_rush": (_TAKE_SCRIPT, ours, rush_stock),
        "peer_check_and_decr_rush": (PEER_SCRIPT, peer, rush_stock),
        "ours_every_decision_reserves": (_TAKE_SCRIPT, ours, 10**9),
        "peer_check_and_decr_never_sold_out": (PEER_SCRIPT, peer, 10**9),
    }
    bench = ("redis-benchmark", "-p", port, "-c", str(clients), "-n", str(requests), "-r", "100000000", "-q")
    figures: dict[str, Any] = {}
    for name, (script, args, stock_units) in runs.items():
        cli = ["redis-cli", "-p", port]
        subprocess.run([*cli, "FLUSHALL"], capture_output=True)
        subprocess.run([*cli, "SET", "rb:s", str(stock_units)], capture_output=True)
        load = subprocess.run([*cli, "SCRIPT", "LOAD", script], capture_output=True, text=True)
        run = subprocess.run(
            [*bench, "EVALSHA", load.stdout.strip(), *args],
            capture_output=True,
            text=True,
            timeout=300,
        )
        line = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr
        rate = line.split(": ", 1)[1].split(" requests")[0] if ": " in line else "0"
        left = subprocess.run([*cli, "GET", "rb:s"], capture_output=True, text=True).stdout.strip()
        figures[name] = {
            "decisions_per_s": round(float(rate)),
            "granted": stock_units - int(left or 0),
            "requests": requests,
            "clients": clients,
        }
    return figures


def postgresql_server_rates(
    url: str, sale_id: int, sku_id: int, *, clients: int, seconds: float
) -> dict[str, Any]:
    """The decision statements run by ``pgbench`` (C, prepared, autocommit): what the database
    itself allows on this disk, with every commit flushed. ``tps`` counts statements, also
    those that found every slot locked and changed nothing; ``taken_per_s`` counts the units
    that left the stock."""
    if shutil.which("pgbench") is None:
        return {"error": "pgbench not found"}
    now = utcnow()
    statements = {
        "ours_free_slot": pgbench_sql(stock.take_free_slot(sale_id, 1, now)),
        "peer_one_row": pgbench_sql(stock.take_from_sku(sku_id, 1)),
    }
    return {
        name: _pgbench(url, sql, values, sale_id, sku_id, clients, seconds)
        for name, (sql, values) in statements.items()
    }


PGBENCH = ("pgbench", "-n", "-M", "prepared", "-j", "2")


def _left(url: str, sale_id: int, sku_id: int) -> int:
    query = (
        f"SELECT (SELECT sum(stock_left) FROM commerce_flash_slot WHERE sale_id = {int(sale_id)})"
        f" + (SELECT stock FROM commerce_sku WHERE id = {int(sku_id)})"
    )
    run = subprocess.run(["psql", "-qtA", "-c", query, plain_dsn(url)], capture_output=True, text=True)
    return int(run.stdout.strip())


def _pgbench(
    url: str, sql: str, values: dict[str, Any], sale_id: int, sku_id: int, clients: int, seconds: float
) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(sql.replace("\n", " ") + ";\n")
    defines = [f"-D{name}={value}" for name, value in values.items()]
    before = _left(url, sale_id, sku_id)
    try:
        run = subprocess.run(
            [
                *PGBENCH,
                "-c",
                str(clients),
                *defines,
                "-T",
                str(int(seconds)),
                "-f",
                script.name,
                plain_dsn(url),
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 120,
        )
    finally:
        Path(script.name).unlink()
    taken = before - _left(url, sale_id, sku_id)
    tps = [line for line in run.stdout.splitlines() if line.startswith("tps")]
    return {
        "statements_per_s": round(float(tps[0].split("=")[1].split()[0])) if tps else 0,
        "taken_per_s": round(taken / int(seconds)),
        "clients": clients,
        "error": run.stderr[-300:] if run.returncode else None,
    }
