"""``python -m bench.flashsale --json``: a flash sale of 500 units and 20,000 buyers.

On a throw-away durable PostgreSQL (fsync, synchronous_commit on) and a throw-away Redis:

1. decision rates on one hot sale, each beside a peer in the same run (``decisions.py``):
   the sale's slot rows against one hot row (the conditional UPDATE, and SELECT … FOR
   UPDATE); the Lua gate against WATCH/MULTI;
2. the HTTP API: every buyer (its own account and token) asks once for one unit through
   ``livecircle serve`` with the Redis gate, 64 clients at a time; then the same against a
   node without the gate (the database decides every attempt), the peer.

Prints ``{"orders", "stock_left", "postgresql_decisions_per_s", "redis_gate_decisions_per_s",
"http_p50_ms", "http_p99_ms", "peers", "goals", "run"}``; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import platform
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from tests import services
from tests.burst import Call, KeepAlive

from bench.flashsale.decisions import (
    postgresql_rates,
    postgresql_server_rates,
    redis_rates,
    redis_server_rates,
)
from bench.ledger.pg import durable_postgres
from bench.ledger.seed import migrate
from livecircle.commerce import catalog, flash
from livecircle.commerce.models import FlashSale, Order
from livecircle.identity import service as identity_service
from livecircle.identity.models import Membership, User
from livecircle.kit.clock import utcnow
from livecircle.kit.db import Database

GOALS = {"postgresql_decisions_per_s": 2500, "redis_gate_decisions_per_s": 50_000, "http_p99_ms": 200}


def log(message: str) -> None:
    print(f"[flashsale] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.flashsale", description=__doc__)
    parser.add_argument("--buyers", type=int, default=20_000)
    parser.add_argument("--units", type=int, default=500)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=5.0, help="per decision-rate measurement")
    parser.add_argument("--json", action="store_true", help="print only the JSON result on stdout")
    parser.add_argument(
        "--profile", type=Path, help="sample the gate node under the rush with py-spy (raw folded stacks)"
    )
    return parser.parse_args(argv)


async def make_buyers(db: Database, tenant: int, count: int) -> list[str]:
    """``count`` members with API tokens, written in bulk."""
    tag = uuid.uuid4().hex[:8]
    now = utcnow()
    users = [
        {
            "email": f"b{tag}-{i}@bench.test",
            "display_name": f"买家{i}",
            "password_hash": "!",
            "created_at": now,
        }
        for i in range(count)
    ]
    async with db.unit_of_work() as session:
        await session.execute(insert(User), users)
        found = list(await session.scalars(select(User).where(User.email.like(f"b{tag}-%"))))
        await session.execute(
            insert(Membership),
            [{"user_id": u.id, "tenant_id": tenant, "role": "member", "created_at": now} for u in found],
        )
        return [await identity_service.do_issue_api_token(session, user=u, tenant_id=tenant) for u in found]


async def open_sale(db: Database, tenant: int, units: int, *, hours: float = 1) -> FlashSale:
    async with db.unit_of_work() as session:
        product = await catalog.do_create_product(
            session,
            tenant_id=tenant,
            skus=[{"name": "限量", "price_cents": 19900, "stock": units}],
            name="秒杀",
        )
        sku = (await catalog.skus_of(session, [product.id]))[product.id][0]
        now = utcnow()
        return await flash.do_create_sale(
            session,
            tenant_id=tenant,
            show=None,
            sku_id=sku.id,
            price_cents=990,
            starts_at=now - timedelta(seconds=1),
            ends_at=now + timedelta(hours=hours),
            stock_total=units,
            per_user_limit=1,
        )


async def peer_sku(db: Database, tenant: int, units: int) -> int:
    """A SKU holding ``units`` on its one row: where the peers decide."""
    async with db.unit_of_work() as session:
        product = await catalog.do_create_product(
            session,
            tenant_id=tenant,
            skus=[{"name": "单行", "price_cents": 100, "stock": units}],
            name="对照",
        )
        return (await catalog.skus_of(session, [product.id]))[product.id][0].id


@contextlib.contextmanager
def sampled(pid: int, output: Path | None) -> Iterator[None]:
    """py-spy sampling ``pid`` at 100 Hz into ``output`` while the block runs (nothing without)."""
    if output is None:
        yield
        return
    spy = str(Path(sys.executable).parent / "py-spy")
    command = [spy, "record", "--pid", str(pid), "-r", "100", "-f", "raw", "-o", str(output), "--nonblocking"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1) if ordered else 0.0


async def rush(base_url: str, sale: FlashSale, tokens: list[str], clients: int) -> dict[str, Any]:
    """Every buyer asks once, ``clients`` connections at a time (kept alive, like browsers);
    latencies in ms and answers by code."""
    latencies: list[float] = []
    answers: dict[str, int] = {}
    queue = iter(tokens)
    body = {"sku_id": sale.sku_id, "flash_sale_id": sale.id}

    async def buyer() -> None:
        connection = KeepAlive(base_url)
        try:
            for token in queue:
                headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}
                started = time.perf_counter()
                reply = await connection.send(Call("POST", "/api/v1/orders", headers, body))
                latencies.append((time.perf_counter() - started) * 1000)
                code = (
                    "created"
                    if reply.status_code == 201
                    else reply.json().get("code", str(reply.status_code))
                )
                answers[code] = answers.get(code, 0) + 1
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(buyer() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return {
        "requests_per_s": round(len(latencies) / elapsed),
        "http_p50_ms": percentile(latencies, 0.50),
        "http_p99_ms": percentile(latencies, 0.99),
        "answers": answers,
    }


async def sale_figures(db: Database, sale_id: int) -> dict[str, int]:
    async with db.unit_of_work() as session:
        sale = await session.get(FlashSale, sale_id)
        orders = await session.scalar(
            select(func.count()).select_from(Order).where(Order.flash_sale_id == sale_id)
        )
        assert sale is not None
        return {"orders": int(orders or 0), "stock_left": sale.stock_left}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with (
        durable_postgres() as cluster,
        services.redis_server() as redis_url,
        tempfile.TemporaryDirectory() as var,
    ):
        db = Database(cluster.url)
        await migrate(db)
        async with db.unit_of_work() as session:
            tenant = (await identity_service.ensure_tenant(session, slug="bench", name="bench")).id
        hot = await open_sale(db, tenant, 10**9, hours=24)
        one_row = await peer_sku(db, tenant, 10**9)
        log(f"decision rates: {args.clients} clients, {args.seconds}s each")
        pg = await postgresql_rates(cluster.url, hot.id, one_row, clients=args.clients, seconds=args.seconds)
        pg_server = await asyncio.to_thread(
            postgresql_server_rates, cluster.url, hot.id, one_row, clients=args.clients, seconds=args.seconds
        )
        gate = await redis_rates(redis_url, hot.id + 10**6, clients=args.clients, seconds=args.seconds)
        gate_server = await asyncio.to_thread(redis_server_rates, redis_url)
        log(f"seeding {args.buyers} buyers")
        tokens = await make_buyers(db, tenant, args.buyers * 2)
        http: dict[str, Any] = {}
        for name, env in (("gate", {"LIVECIRCLE_REDIS_URL": redis_url}), ("database_only", {})):
            sale = await open_sale(db, tenant, args.units)
            log(f"HTTP rush ({name}): {args.buyers} buyers for {args.units} units")
            node_dir = Path(var) / name
            node_dir.mkdir()
            variables = {"LIVECIRCLE_LOG_LEVEL": "ERROR", **env}
            with services.livecircle_node(cluster.url, node_dir, 30.0, **variables) as node:
                mine = tokens[: args.buyers] if name == "gate" else tokens[args.buyers :]
                profile = args.profile if name == "gate" else None
                with sampled(node.process.pid, profile):
                    http[name] = {
                        **await rush(node.base_url, sale, mine, args.clients),
                        **await sale_figures(db, sale.id),
                    }
        await db.dispose()
    ours = http["gate"]
    return {
        "orders": ours["orders"],
        "stock_left": ours["stock_left"],
        "postgresql_decisions_per_s": pg["ours"]["decisions_per_s"],
        "redis_gate_decisions_per_s": gate_server.get("ours_rush", {}).get("decisions_per_s", 0),
        "http_p50_ms": ours["http_p50_ms"],
        "http_p99_ms": ours["http_p99_ms"],
        "http_requests_per_s": ours["requests_per_s"],
        "answers": ours["answers"],
        "peers": {
            "postgresql_one_row": pg["peer_one_row"],
            "postgresql_select_for_update": pg["peer_select_for_update"],
            "redis_watch_multi": gate["peer_watch_multi"],
            "redis_check_and_decr_script_rush": gate_server.get("peer_check_and_decr_rush"),
            "redis_check_and_decr_script_never_sold_out": gate_server.get(
                "peer_check_and_decr_never_sold_out"
            ),
            "http_database_only": http["database_only"],
        },
        "details": {
            "postgresql_asyncpg": pg["ours"],
            "postgresql_pgbench": pg_server,
            "redis_gate_python_client": gate["ours"],
            "redis_gate_redis_benchmark_every_decision_reserves": gate_server.get(
                "ours_every_decision_reserves"
            ),
            "decision_sql": pg["sql"],
        },
        "goals": {
            "exactly_the_units": ours["orders"] == args.units and ours["stock_left"] == 0,
            "peer_exactly_the_units": http["database_only"]["orders"] == args.units,
            "postgresql_decisions_ge_2500_per_s": pg["ours"]["decisions_per_s"]
            >= GOALS["postgresql_decisions_per_s"],
            "redis_gate_ge_50000_per_s": gate_server.get("ours_rush", {}).get("decisions_per_s", 0)
            >= GOALS["redis_gate_decisions_per_s"],
            "http_p99_le_200_ms": ours["http_p99_ms"] <= GOALS["http_p99_ms"],
        },
        "run": {
            "buyers": args.buyers,
            "units": args.units,
            "clients": args.clients,
            "seconds": args.seconds,
            "python": platform.python_version(),
            "cpus": len(__import__("os").sched_getaffinity(0)),
            "postgresql": dict(cluster.written),
        },
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    result = asyncio.run(run(args))
    text = json.dumps(result, ensure_ascii=False, indent=None if args.json else 2)
    print(text)
    with contextlib.suppress(Exception):
        if not args.json:
            log(f"goals: {result['goals']}")


if __name__ == "__main__":
    main()
