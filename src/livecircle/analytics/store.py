"""A columnar replica of the event table in DuckDB, for every aggregate we show.

The database (SQLite or PostgreSQL) is the durable, shared event log; each node keeps a
DuckDB replica and copies new rows in by ``seq`` every second. On PostgreSQL two
transactions can commit out of ``seq`` order: a ``seq`` missing below the newest one copied
is a gap, which each sync asks for again for ``REREAD_SECONDS`` (most gaps are numbers that no
row will ever hold: a rolled-back insert, a duplicate event id). A row that commits up to that
late is still copied, and the loads skip rows the replica holds (by ``seq``), so none is copied
twice. Re-reading the whole last ``REREAD_SECONDS`` instead stalled the node for ~300 ms every
second or two in a flash-sale rush (700 events/s; profiled).

DuckDB is synchronous and single-writer: every call runs in one worker thread, in turn,
on the store's own connection (``await store.run(fn)``).

Replica schema (the contract every query in ``analytics`` reads):

    events(seq BIGINT, event_id VARCHAR, ts TIMESTAMP -- UTC, tenant_id INTEGER,
           type VARCHAR, user_id BIGINT, anon_id VARCHAR, room_id BIGINT,
           show_id BIGINT, amount BIGINT, props VARCHAR -- JSON text)
    identities(anon_id VARCHAR, user_id BIGINT)   -- anonymous id → account (merge)
    person_events: events plus person_id = the account (own or merged), or NULL,
                   and viewer = person_id as text, or 'a:' || anon_id
    rollup_daily(tenant_id, day, type, events, amount): kept up to date with every load,
                   what day-by-day dashboards read instead of scanning the events
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import numpy as np
import orjson
from sqlalchemy import or_, select

from livecircle.analytics.models import AnonIdentity
from livecircle.kit.db import Database
from livecircle.kit.tracking import AnalyticsEvent
from livecircle.privacy.models import ReplicaRewrite

log = logging.getLogger(__name__)
T = TypeVar("T")

REREAD_SECONDS = 10.0
MOST_GAPS = 2_000  # past this, the oldest gaps are given up early
SYNC_BATCH = 50_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq BIGINT, event_id VARCHAR, ts TIMESTAMP, tenant_id INTEGER, type VARCHAR,
    user_id BIGINT, anon_id VARCHAR, room_id BIGINT, show_id BIGINT, amount BIGINT,
    props VARCHAR
);
CREATE TABLE IF NOT EXISTS identities (anon_id VARCHAR PRIMARY KEY, user_id BIGINT);
CREATE TABLE IF NOT EXISTS rollup_daily (
    tenant_id INTEGER, day DATE, type VARCHAR, events BIGINT, amount BIGINT,
    PRIMARY KEY (tenant_id, day, type)
);
CREATE OR REPLACE VIEW person_events AS
    SELECT e.*, coalesce(e.user_id, i.user_id) AS person_id,
           coalesce(CAST(coalesce(e.user_id, i.user_id) AS VARCHAR), 'a:' || e.anon_id) AS viewer
    FROM events e LEFT JOIN identities i ON e.user_id IS NULL AND i.anon_id = e.anon_id;
"""
COLUMNS = ("seq", "event_id", "ts", "tenant_id", "type", "user_id", "anon_id", "room_id", "show_id", "amount")


def connect(path: str = ":memory:") -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the replica schema (``:memory:`` or a file)."""
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(path)
    con.execute("SET TimeZone = 'UTC'").fetchall()
    for statement in filter(str.strip, SCHEMA.split(";")):
        con.execute(statement).fetchall()
    if con.execute("SELECT count(*) FROM rollup_daily").fetchall()[0][0] == 0:
        rebuild_rollups(con)  # a replica kept from before the rollups existed
    return con


ROLLUP_FROM = """
INSERT INTO rollup_daily
SELECT tenant_id, CAST(ts AS DATE), type, count(*), coalesce(sum(amount), 0) FROM {source} GROUP BY ALL
ON CONFLICT DO UPDATE SET events = events + excluded.events, amount = amount + excluded.amount
"""


def rebuild_rollups(con: duckdb.DuckDBPyConnection) -> None:
    """The rollups from every event held (a bulk load, or a replica from before them)."""
    con.execute("DELETE FROM rollup_daily").fetchall()
    con.execute(ROLLUP_FROM.format(source="events")).fetchall()


def load_rows(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> int:
    """Append event rows (dicts with the replica's columns) the replica does not hold yet."""
    if not rows:
        return 0
    batch = {name: _column(name, [row[name] for row in rows]) for name in COLUMNS}
    batch["props"] = np.array([_props_text(row["props"]) for row in rows], dtype=object)
    low = int(batch["seq"].min())
    con.register("incoming", batch)
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE fresh AS SELECT * FROM incoming "
            "WHERE seq NOT IN (SELECT seq FROM events WHERE seq >= ?)",
            [low],
        ).fetchall()
        con.execute("INSERT INTO events SELECT * FROM fresh").fetchall()
        con.execute(ROLLUP_FROM.format(source="fresh")).fetchall()
        return int(con.execute("SELECT count(*) FROM fresh").fetchall()[0][0])
    finally:
        con.execute("DROP TABLE IF EXISTS fresh").fetchall()
        con.unregister("incoming")


class EventStore:
    """This node's replica, kept in step with the event table by ``sync``."""

    def __init__(self, db: Database, path: str = ":memory:") -> None:
        self.db = db
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="duckdb")
        self._con = self._open(path)
        self._lock = asyncio.Lock()
        self._gaps: dict[int, float] = {}  # seq → when it was first found missing
        self._identity_cursor = 0
        self._rewrite_cursor = 0
        self.synced_at = 0.0

    @staticmethod
    def _open(path: str) -> duckdb.DuckDBPyConnection:
        try:
            return connect(path)
        except duckdb.IOException:
            # Another process on this machine holds the file: a replica in memory is as good.
            log.warning("analytics replica %s is locked; keeping this node's replica in memory", path)
            return connect(":memory:")

    async def run(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run ``fn(connection)`` on the DuckDB thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, _on_cursor, self._con, fn)

    async def sync(self) -> int:
        """Copy rows committed since the last sync; returns how many were new."""
        async with self._lock:
            copied = 0
            while True:
                cursor = await self.run(_max_seq)
                rows = await self._read_since(cursor)
                copied += await self.run(lambda con, batch=rows: load_rows(con, batch))  # type: ignore[misc]
                self._note_gaps(cursor, rows)
                if len(rows) < SYNC_BATCH:
                    break
            await self._sync_identities()
            await self._apply_rewrites()
            self.synced_at = time.monotonic()
            return copied

    async def apply_rewrites(self) -> int:
        """Re-read the rows an erasure rewrote (``privacy_replica_rewrite``) since this node last
        looked: every node's replica converges on the database. Returns the rows re-read."""
        async with self._lock:
            return await self._apply_rewrites()

    async def _apply_rewrites(self) -> int:
        table = AnalyticsEvent.__table__
        async with self.db.sessionmaker() as session:
            notes = (
                await session.execute(
                    select(ReplicaRewrite.id, ReplicaRewrite.table_name, ReplicaRewrite.keys)
                    .where(ReplicaRewrite.id > self._rewrite_cursor)
                    .order_by(ReplicaRewrite.id)
                )
            ).all()
            if not notes:
                return 0
            seqs = sorted({int(k) for _, name, keys in notes if name == "analytics_event" for k in keys})
            rows: list[dict[str, Any]] = []
            for start in range(0, len(seqs), 1000):
                found = await session.execute(
                    select(table).where(table.c.seq.in_(seqs[start : start + 1000]))
                )
                rows.extend(dict(row._mapping) for row in found)
            identities = None
            if any(name == "analytics_identity" for _, name, _ in notes):
                links = await session.execute(select(AnonIdentity.anon_id, AnonIdentity.user_id))
                identities = [(anon, int(user)) for anon, user in links.all()]
        await self.run(lambda con: rewrite_rows(con, seqs, rows, identities))
        self._rewrite_cursor = int(notes[-1][0])
        return len(seqs)

    def _note_gaps(self, cursor: int, rows: list[dict[str, Any]]) -> None:
        """Forget the gaps these rows fill, note the ones below the newest row, and give up
        those older than ``REREAD_SECONDS``."""
        now = time.monotonic()
        seen = {int(row["seq"]) for row in rows}
        for seq in seen:
            self._gaps.pop(seq, None)
        newest = max(seen, default=cursor)
        for seq in range(cursor + 1, newest):
            if seq not in seen:
                self._gaps[seq] = now
        for seq, since in list(self._gaps.items()):  # oldest first
            if now - since < REREAD_SECONDS and len(self._gaps) <= MOST_GAPS:
                break
            del self._gaps[seq]

    async def _read_since(self, cursor: int) -> list[dict[str, Any]]:
        """Rows past ``cursor``, and those that filled a gap since the last sync."""
        table = AnalyticsEvent.__table__
        wanted = table.c.seq > cursor
        if self._gaps:
            wanted = or_(wanted, table.c.seq.in_(list(self._gaps)))
        async with self.db.sessionmaker() as session:
            result = await session.execute(
                select(table).where(wanted).order_by(table.c.seq).limit(SYNC_BATCH)
            )
            return [dict(row._mapping) for row in result]

    async def _sync_identities(self) -> None:
        async with self.db.sessionmaker() as session:
            result = await session.execute(
                select(AnonIdentity.id, AnonIdentity.anon_id, AnonIdentity.user_id)
                .where(AnonIdentity.id > self._identity_cursor)
                .order_by(AnonIdentity.id)
            )
            links = result.all()
        if not links:
            return
        self._identity_cursor = int(links[-1][0])
        pairs = [(anon, int(user)) for _, anon, user in links]
        await self.run(lambda con: con.executemany("INSERT OR REPLACE INTO identities VALUES (?, ?)", pairs))

    async def close(self) -> None:
        def shut(con: duckdb.DuckDBPyConnection) -> None:
            con.close()

        await self.run(shut)
        self._executor.shutdown(wait=True)


def _on_cursor(con: duckdb.DuckDBPyConnection, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    """Each call on its own cursor: a result one call leaves unread cannot block the next."""
    cursor = con.cursor()
    try:
        return fn(cursor)
    finally:
        cursor.close()


def rewrite_rows(
    con: duckdb.DuckDBPyConnection,
    seqs: list[int],
    rows: list[dict[str, Any]],
    identities: list[tuple[str, int]] | None,
) -> None:
    """Rows rewritten in the database take their new values (ids, props); rows deleted there
    leave the replica (and the rollups are rebuilt); ``identities`` replaces the merge links."""
    if rows:
        con.executemany(
            "UPDATE events SET event_id = ?, user_id = ?, anon_id = ?, props = ? WHERE seq = ?",
            [[r["event_id"], r["user_id"], r["anon_id"], _props_text(r["props"]), r["seq"]] for r in rows],
        )
    gone = sorted(set(seqs) - {int(r["seq"]) for r in rows})
    if gone:
        con.executemany("DELETE FROM events WHERE seq = ?", [[seq] for seq in gone])
        rebuild_rollups(con)
    if identities is not None:
        con.execute("DELETE FROM identities").fetchall()
        if identities:
            con.executemany("INSERT OR REPLACE INTO identities VALUES (?, ?)", identities)


def _max_seq(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("SELECT coalesce(max(seq), 0) FROM events").fetchall()[0][0])


def _column(name: str, values: list[Any]) -> np.ndarray[Any, Any]:
    if name == "ts":
        return np.array([_naive_utc(value) for value in values], dtype="datetime64[us]")
    if name in ("seq", "tenant_id"):
        return np.array(values, dtype=np.int64)
    # Text and nullable integers: an object column keeps None as NULL and ints exact.
    return np.array(values, dtype=object)


def _naive_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=None) if value.tzinfo is not None else value


def _props_text(props: Any) -> str:
    return orjson.dumps(props or {}).decode()
