"""python -m bench.ledger: gift transfers per second through the economy ledger, SQLite and PostgreSQL.

    python -m bench.ledger --seconds 10 --workers 256 --json

Each database in turn, with the schema from ``alembic upgrade head``: one tenant,
``--hosts`` hosts and ``--viewers`` viewers whose wallets are funded (coins and
points) through ``do_grant``. ``--workers`` asyncio workers then loop, each doing
one ``Database.unit_of_work`` → ``do_send_gift`` (a random viewer, host and
default gift, count 1, a fresh uuid4 idempotency key) → commit. After
``--warmup`` seconds, the gifts committed in the next ``--seconds`` are counted
(``transfers_per_s``) with each one's latency from opening its unit of work to
its commit, pool wait included; failures are counted by exception type. The
same workers then run the peer on the same database for as long: each gift one
transaction of its own through ``ledger.post`` (``peer_single``; ``vs_peer`` is
the ratio). The ledger is then audited (``ledger.audit``): every transfer sums to zero, wallets
agree with their entries, none is negative; and it must hold exactly the grants
plus every gift the workers saw commit.

SQLite is a temporary file with the product's pragmas (WAL, synchronous=NORMAL).
PostgreSQL is a throw-away cluster started here with the production durability
(fsync=on, synchronous_commit=on, full_page_writes=on), on this machine's disk.
Both use the product's ``Database`` (its engine and pool settings) unchanged.
Prints ``{"sqlite": FIG, "postgresql": FIG, "balanced": bool, "goals": {...}, "run": {...}}``;
progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import platform
import shutil
import signal
import sqlite3
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.ledger.load import BENCH_RULES, Params, log, measure
from bench.ledger.pg import REPORTED_SETTINGS, durable_postgres
from bench.ledger.seed import migrate, seed
from livecircle.kit.db import Database

try:
    import uvloop
except ImportError:  # the stdlib loop then; "run" says which one measured
    uvloop = None  # type: ignore[assignment]

SYSTEMS = ("sqlite", "postgresql")
GOAL_PG_PER_S = 2000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ledger", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=10, help="measured window per database")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of load before the window")
    parser.add_argument("--workers", type=int, default=256, help="concurrent asyncio workers")
    parser.add_argument("--hosts", type=int, default=20, help="hosts receiving gifts")
    parser.add_argument("--viewers", type=int, default=400, help="funded viewers sending gifts")
    parser.add_argument("--coins", type=int, default=10**12, help="coins granted to each viewer")
    parser.add_argument("--points", type=int, default=10**12, help="points granted to each viewer")
    parser.add_argument("--seed", type=int, default=1, help="seed of the random choices")
    parser.add_argument(
        "--systems", default=",".join(SYSTEMS), help=f"comma-separated subset of {','.join(SYSTEMS)}"
    )
    parser.add_argument("--json", action="store_true", help="print the JSON object on one line")
    args = parser.parse_args(argv)
    unknown = set(args.systems.split(",")) - set(SYSTEMS)
    if unknown:
        parser.error(f"unknown systems: {', '.join(sorted(unknown))}")
    if args.workers < 1 or args.hosts < 1 or args.viewers < 1 or args.seconds <= 0 or args.warmup < 0:
        parser.error("--workers, --hosts, --viewers and --seconds must be positive")
    return args


def params_from(args: argparse.Namespace) -> Params:
    return Params(
        seconds=args.seconds,
        warmup=args.warmup,
        workers=args.workers,
        hosts=args.hosts,
        viewers=args.viewers,
        coins=args.coins,
        points=args.points,
        seed=args.seed,
    )


def pool_info(db: Database) -> dict[str, Any]:
    pool = db.engine.pool
    size = getattr(pool, "size", None)
    return {
        "class": type(pool).__name__,
        "size": size() if callable(size) else None,
        "max_overflow": getattr(pool, "_max_overflow", None),
    }


async def server_settings(db: Database) -> dict[str, str]:
    """What the running server says, not what was asked for."""
    async with db.engine.connect() as connection:
        if db.engine.dialect.name == "postgresql":
            return {name: str(await connection.scalar(text(f"SHOW {name}"))) for name in REPORTED_SETTINGS}
        synchronous = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
        level = int(await connection.scalar(text("PRAGMA synchronous")) or 0)
        return {
            "sqlite_version": sqlite3.sqlite_version,
            "journal_mode": str(await connection.scalar(text("PRAGMA journal_mode"))),
            "synchronous": synchronous.get(level, str(level)),
            "busy_timeout_ms": str(await connection.scalar(text("PRAGMA busy_timeout"))),
        }


async def bench_database(
    name: str, url: str, params: Params, *, server_pid: Callable[[], int | None] = lambda: None
) -> dict[str, Any]:
    db = Database(url)
    try:
        head = await migrate(db)
        log(f"{name}: schema at alembic {head}; seeding {params.hosts} hosts, {params.viewers} viewers")
        cast = await seed(
            db, hosts=params.hosts, viewers=params.viewers, coins=params.coins, points=params.points
        )
        settings = await server_settings(db)
        log(f"{name}: {params.workers} workers, {params.warmup:g} s warm-up + {params.seconds:g} s")
        figures = await measure(db, cast, params, server_pid=server_pid())
        log(f"{name}: the peer, one transaction per gift (ledger.post), same workers and database")
        peer = await measure(
            db, cast, params, server_pid=server_pid(), path="single", prior=figures["committed"]
        )
        figures["peer_single"] = peer
        figures["vs_peer"] = round(figures["transfers_per_s"] / max(peer["transfers_per_s"], 0.1), 2)
        figures["audit"] = peer["audit"]  # taken last: it covers both runs
        figures["schema"] = f"alembic upgrade head ({head})"
        figures["settings"] = settings
        figures["pool"] = pool_info(db)
        return figures
    finally:
        await db.dispose()


async def bench_sqlite(params: Params) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="lc-ledger-sqlite-"))
    try:
        return await bench_database("sqlite", f"sqlite+aiosqlite:///{root / 'ledger.db'}", params)
    finally:
        shutil.rmtree(root, ignore_errors=True)


async def bench_postgresql(params: Params) -> dict[str, Any]:
    log("postgresql: starting a durable throw-away cluster")
    with durable_postgres() as cluster:
        figures = await bench_database(
            "postgresql", cluster.url, params, server_pid=lambda: cluster.postmaster_pid
        )
        figures["settings_written"] = cluster.written
        return figures


RUNNERS: dict[str, Callable[[Params], Awaitable[dict[str, Any]]]] = {
    "sqlite": bench_sqlite,
    "postgresql": bench_postgresql,
}


@contextlib.asynccontextmanager
async def cancelled_by_signals() -> AsyncIterator[None]:
    """SIGINT/SIGTERM cancel the run, so the cluster and temp dirs are still cleaned up."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    try:
        yield
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def run_all(names: list[str], params: Params) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    async with cancelled_by_signals():
        for name in names:
            gc.collect()  # what the previous database's run left is not this one's to collect
            try:
                results[name] = await RUNNERS[name](params)
            except Exception as exc:  # one failing database still leaves the other's figures
                log(f"{name} failed: {type(exc).__name__}: {exc}")
                results[name] = {"error": f"{type(exc).__name__}: {exc}"}
    return results


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def balanced(results: dict[str, dict[str, Any]]) -> bool:
    """Every database that was run audits balanced and holds exactly the transfers seen to commit."""
    return bool(results) and all(
        "audit" in figures
        and figures["audit"]["balanced"]
        and figures["audit"]["transfers"] == figures["audit"]["expected_transfers"]
        for figures in results.values()
    )


def goals(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    pg = results.get("postgresql", {})
    if "transfers_per_s" not in pg:
        return {}
    return {
        f"postgresql_ge_{GOAL_PG_PER_S}_per_s": pg["transfers_per_s"] >= GOAL_PG_PER_S,
        "postgresql_no_errors": not pg["errors_whole_run"],
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    params = params_from(args)
    names = [name for name in SYSTEMS if name in args.systems.split(",")]
    loop_factory = uvloop.new_event_loop if uvloop is not None else None
    log(f"{names}: {params.workers} workers, {params.hosts} hosts, {params.viewers} viewers")
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        try:
            results = runner.run(run_all(names, params))
        except asyncio.CancelledError:
            log("interrupted; databases stopped and removed")
            raise SystemExit(130) from None
    report = {
        **{name: results[name] for name in names},
        "balanced": balanced(results),
        "goals": goals(results),
        "run": {
            **{key: getattr(params, key) for key in Params.__dataclass_fields__},
            "gift_count": 1,
            "rules": BENCH_RULES.model_dump(),
            "loop": f"uvloop {version('uvloop')}" if uvloop is not None else "asyncio",
            "cpus": os.cpu_count(),
            "cpu_model": cpu_model(),
            "python": platform.python_version(),
            "versions": {pkg: version(pkg) for pkg in ("sqlalchemy", "asyncpg", "aiosqlite")},
            "tempdir": tempfile.gettempdir(),
        },
    }
    print(json.dumps(report, ensure_ascii=False, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
