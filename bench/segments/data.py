"""The synthetic event log of the segment benchmark (see ``bench.segments``)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import duckdb

from livecircle.analytics.store import rebuild_rollups

START = datetime(2026, 5, 1)
DAYS = 180
AS_OF = START + timedelta(days=DAYS)
TENANT = 1
GOAL_S = 60.0

# type by bucket of 100: the share of each in the mix
MIX = [
    ("view_start", 24), ("view_end", 16), ("chat", 20), ("like", 14), ("share", 3), ("gift", 4),
    ("product_click", 8), ("order_placed", 6), ("order_paid", 5),
]  # fmt: skip


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def type_case() -> str:
    arms, low = [], 0
    for name, share in MIX:
        arms.append(f"WHEN b < {low + share} THEN '{name}'")
        low += share
    return "CASE " + " ".join(arms) + " END"


def generate(con: duckdb.DuckDBPyConnection, members: int, seed: int = 1) -> int:
    """The tenant's event log, built in DuckDB; returns the number of events."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE bench_members AS
        SELECT u,
               hash(u, {seed}, 1) % {DAYS * 86400} AS joined_s,
               hash(u, {seed}, 2) % 100 < 33 AS churner,
               2 + CAST(floor(31 * pow((hash(u, {seed}, 3) % 10000) / 10000.0, 2)) AS INTEGER) AS n,
               hash(u, {seed}, 4) % (60 * 86400) AS churn_span_s
        FROM range(1, {members} + 1) t(u)
    """).fetchall()
    con.execute(f"""
        INSERT INTO events
        SELECT row_number() OVER () AS seq, 'b' || u || ':' || k, ts, {TENANT}, type, u, NULL,
               1 + show_no % 40, show_no, amount, props
        FROM (
            SELECT u, k, type, show_no,
                   TIMESTAMP '{START:%Y-%m-%d}' + to_seconds(joined_s + (h % span)) AS ts,
                   CASE type WHEN 'view_end' THEN 30 + h % 3600 WHEN 'like' THEN 1 + h % 10
                             WHEN 'gift' THEN 1 + h % 200
                             WHEN 'order_placed' THEN 990 + (h % 300) * 100
                             WHEN 'order_paid' THEN 990 + (h % 300) * 100 END AS amount,
                   CASE WHEN type IN ('order_placed', 'order_paid', 'product_click')
                        THEN '{{"product_id": ' || (1 + h % 300) || ', "order_id": ' || (u * 64 + k) || '}}'
                        ELSE '{{}}' END AS props
            FROM (
                SELECT m.u, t.k, h, (h // 7) % 5000 AS show_no,
                       greatest(1, CASE WHEN m.churner THEN least(m.churn_span_s, {DAYS * 86400} - m.joined_s)
                                        ELSE {DAYS * 86400} - m.joined_s END) AS span,
                       m.joined_s, {type_case()} AS type
                FROM bench_members m JOIN range(0, 40) t(k) ON t.k < m.n,
                     LATERAL (SELECT hash(m.u, t.k, {seed}) AS h, hash(m.u, t.k, {seed}, 9) % 100 AS b)
            )
        )
    """).fetchall()
    con.execute("DROP TABLE bench_members").fetchall()
    rebuild_rollups(con)
    return int(con.execute("SELECT count(*) FROM events").fetchall()[0][0])


def timed(repeat: int, fn: Callable[[], dict[str, Any]]) -> tuple[float, dict[str, Any]]:
    times, result = [], {}
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return round(min(times), 3), result
