"""python -m bench.analytics: the operator's heavy queries on a 10M-event replica.

    python -m bench.analytics --events 10000000 --json

Builds a DuckDB replica (``analytics.store.connect``, the product's schema and
``person_events`` view) holding ``--events`` synthetic events of one tenant: 30 days,
``--users`` accounts, 2,000 shows, a realistic mix of types (20 % of them paid orders, so
that nearly every account is a buyer and the RFM covers ~``--users`` people). Show 1 is
a one-hour show with its own viewer samples: the report is built for it.

Timed, best of ``--repeat`` (the product's own functions, nothing bench-specific):
- ``daily_counts_s``: events per type per day over the 30 days (``trends.daily_counts``, from
  the daily rollup the replica keeps with every load; the bulk load here rebuilds it once,
  timed as ``rollup_rebuild_s``; ``daily_counts_from_events_s`` is the same from the events);
- ``dau_s``: active people per day (``trends.daily_active``, anonymous devices merged);
- ``rfm_500k_s``: RFM scores and tiers of every buyer (``segments.rfm.rfm_arrays``);
- ``report_s``: the full post-show report of show 1: figures, curve, peaks, funnel,
  products, segment mix, formulas, comparison with 5 previous shows, HTML and PDF.

Peer (``--peer sqlite``, the default): the same rows in SQLite (stdlib, file, WAL) with the
same three aggregates written for it, as an embedded engine without a columnar store
would run them. Prints the figures and ``peer`` side by side; progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from livecircle.analytics import trends
from livecircle.analytics.report import build
from livecircle.analytics.report.document import render_html
from livecircle.analytics.report.pdf import render_pdf
from livecircle.analytics.segments.rfm import rfm_arrays
from livecircle.analytics.store import connect, rebuild_rollups

T = TypeVar("T")
START = datetime(2026, 10, 1)
DAYS = 30
SHOWS = 2000
GOALS = {"daily_counts_s": 0.5, "dau_s": 1.5, "rfm_500k_s": 1.0, "report_s": 10.0}

# type by bucket of 100: the share of each in the mix
MIX = [
    ("view_start", 15), ("chat", 20), ("like", 20), ("order_paid", 20), ("gift", 5),
    ("product_click", 6), ("order_placed", 6), ("share", 3), ("view_end", 5),
]  # fmt: skip


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def type_case() -> str:
    arms, low = [], 0
    for name, share in MIX:
        arms.append(f"WHEN b < {low + share} THEN '{name}'")
        low += share
    return "CASE " + " ".join(arms) + " END"


def generate(con: duckdb.DuckDBPyConnection, events: int, users: int) -> None:
    span = DAYS * 86400
    con.execute(f"""
        INSERT INTO events
        SELECT i + 1, 'b' || i,
               CASE WHEN show_id = 1 THEN TIMESTAMP '2026-10-29 12:00:00' + to_seconds(h % 3600)
                    ELSE TIMESTAMP '{START:%Y-%m-%d}' + to_seconds(h % {span}) END,
               1, type,
               CASE WHEN anon THEN NULL ELSE 1 + (h2 // 7) % {users} END,
               CASE WHEN anon THEN 'dev' || (h2 % 100000) END,
               show_id, show_id,
               CASE type WHEN 'gift' THEN 1 + h % 500 WHEN 'like' THEN 1 + h % 10
                         WHEN 'view_end' THEN h % 3600
                         WHEN 'order_placed' THEN 990 + (h % 990) * 100
                         WHEN 'order_paid' THEN 990 + (h % 990) * 100 END,
               CASE WHEN type IN ('order_placed', 'order_paid', 'product_click')
                    THEN '{{"product_id": ' || (1 + h % 300) || ', "order_id": ' || i || '}}'
                    WHEN type = 'gift' THEN '{{"count": 1, "currency": "coin"}}'
                    ELSE '{{}}' END
        FROM (
            SELECT i, h, h2, {type_case()} AS type, 1 + (h2 // 1000003) % {SHOWS} AS show_id,
                   (b = 0 AND h % 20 = 0) AS anon
            FROM (SELECT i, hash(i) AS h, hash(i * 7919 + 1) AS h2, hash(i * 31 + 7) % 100 AS b
                  FROM range({events}) t(i))
        )
    """).fetchall()
    con.execute(f"""
        INSERT INTO events
        SELECT {events} + 1 + k, 'online' || k, TIMESTAMP '2026-10-29 12:00:00' + to_seconds(k * 5), 1,
               'online_sample', NULL, NULL, 1, 1, 200 + (k * 37) % 300, '{{}}'
        FROM range(720) t(k)
    """).fetchall()


def best(repeat: int, fn: Callable[[], T]) -> tuple[float, T]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    assert result is not None
    return round(min(times), 3), result


def report(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    started = datetime(2026, 10, 29, 12)
    previous = [
        {"show_id": s, "title": f"上一场 {s}", "ended_at": "2026-10-20", "figures": None} for s in range(2, 7)
    ]
    ctx = build.ShowContext(
        show_id=1, tenant_id=1, title="双十一预热专场", room_id=1, room_title="品牌直播间", category="美妆",
        host_id=1, host_name="主播", started_at=started, ended_at=started + timedelta(hours=1),
        as_of=started + timedelta(hours=1, minutes=5), previous=previous, targets={"viewers": 5000},
    )  # fmt: skip
    data = build.compute(con, ctx)
    render_html(data)
    render_pdf(data)
    return data


RAW_DAILY = "SELECT CAST(ts AS DATE), type, count(*) FROM events WHERE tenant_id = 1 GROUP BY ALL"


def duck_figures(con: duckdb.DuckDBPyConnection, repeat: int) -> dict[str, Any]:
    since, until = START, START + timedelta(days=DAYS)
    daily, counts = best(repeat, lambda: trends.daily_counts(con, tenant_id=1, since=since, until=until))
    raw_daily, _ = best(repeat, lambda: con.execute(RAW_DAILY).fetchall())
    dau, active = best(repeat, lambda: trends.daily_active(con, tenant_id=1, since=since, until=until))
    rfm_s, rfm = best(repeat, lambda: rfm_arrays(con, tenant_id=1, as_of=until))
    report_s, data = best(max(1, repeat - 1), lambda: report(con))
    return {
        "daily_counts_s": daily,
        "dau_s": dau,
        "rfm_500k_s": rfm_s,
        "report_s": report_s,
        "daily_counts_from_events_s": raw_daily,
        "rows": {"daily_counts": len(counts), "days": len(active), "buyers": len(rfm["user_id"])},
        "report_viewers": data["figures"]["viewers"],
    }


SQLITE_DAILY = "SELECT ts / 86400 AS day, type, count(*) FROM events WHERE tenant_id = 1 GROUP BY day, type"
SQLITE_DAU = """SELECT ts / 86400 AS day, count(DISTINCT coalesce(CAST(user_id AS TEXT), 'a:' || anon_id))
FROM events WHERE tenant_id = 1 GROUP BY day"""
SQLITE_RFM = """WITH b AS (SELECT user_id, (? - max(ts)) / 86400 AS r, count(*) AS f, sum(amount) AS m
FROM events WHERE tenant_id = 1 AND type = 'order_paid' AND user_id IS NOT NULL GROUP BY user_id)
SELECT user_id, r, f, m, ntile(5) OVER (ORDER BY r DESC, user_id), ntile(5) OVER (ORDER BY f, user_id),
       ntile(5) OVER (ORDER BY m, user_id) FROM b"""


def sqlite_peer(con: duckdb.DuckDBPyConnection, path: Path, repeat: int) -> dict[str, Any]:
    lite = sqlite3.connect(path)
    lite.executescript("""PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
        CREATE TABLE events (seq INTEGER PRIMARY KEY, ts INTEGER, tenant_id INTEGER, type TEXT,
                             user_id INTEGER, anon_id TEXT, show_id INTEGER, amount INTEGER);""")
    started = time.perf_counter()
    cursor = con.execute(
        "SELECT seq, epoch(ts)::BIGINT, tenant_id, type, user_id, anon_id, show_id, amount FROM events"
    )
    while chunk := cursor.fetchmany(500_000):
        lite.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", chunk)
    lite.commit()
    log(f"sqlite peer loaded in {time.perf_counter() - started:.1f} s")
    until = int((START + timedelta(days=DAYS)).timestamp())
    figures = {
        "daily_counts_s": best(repeat, lambda: lite.execute(SQLITE_DAILY).fetchall())[0],
        "dau_s": best(repeat, lambda: lite.execute(SQLITE_DAU).fetchall())[0],
        "rfm_500k_s": best(repeat, lambda: lite.execute(SQLITE_RFM, [until]).fetchall())[0],
    }
    lite.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--users", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--peer", choices=["sqlite", "none"], default="sqlite")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    con = connect()
    started = time.perf_counter()
    generate(con, args.events, args.users)
    log(f"generated {args.events:,} events in {time.perf_counter() - started:.1f} s")
    rollup_s, _ = best(1, lambda: rebuild_rollups(con) or True)
    figures = {**duck_figures(con, args.repeat), "rollup_rebuild_s": rollup_s}
    result: dict[str, Any] = {**{k: figures[k] for k in GOALS}, "goals": GOALS, "detail": figures}
    if args.peer == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            result["peer"] = {"sqlite": sqlite_peer(con, Path(tmp) / "events.db", args.repeat)}
    result["run"] = {
        "events": args.events,
        "users": args.users,
        "duckdb": version("duckdb"),
        "sqlite": sqlite3.sqlite_version,
        "python": platform.python_version(),
        "cpus": __import__("os").cpu_count(),
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
