"""The peer of ``bench.segments``: the same segments in plain SQLite SQL (stdlib, a file, WAL).

The rule-based segments are one query each. The churn-risk stage with the model runs the
same three snapshots (features and labels, ``analytics.segments.churn``'s definitions)
as SQLite SQL and the same scikit-learn pipeline on them, so the difference is the
engine. Every refresh is diffed against the previous day's membership as on DuckDB, and
its memberships are compared with DuckDB's (``agrees``; ``differ`` = members in one and
not the other).
"""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from bench.segments.data import AS_OF, TENANT, log, timed
from livecircle.analytics.segments import churn, lifecycle, rfm

DAY = 86400
IDLE = """SELECT user_id FROM events WHERE tenant_id = ? AND ts <= ? GROUP BY user_id
HAVING max(ts) < ?"""
LOYAL = """SELECT user_id FROM (
  SELECT user_id, max(ts) AS last_ts, sum(type = 'order_paid') AS paid,
         max(CASE WHEN type = 'order_paid' THEN ts END) AS last_paid
  FROM events WHERE tenant_id = ? AND ts <= ? GROUP BY user_id)
WHERE ? - last_ts < ? AND paid >= 2 AND ? - last_paid <= ?"""
RFM = """WITH b AS (SELECT user_id, (? - max(ts)) / 86400 AS r, count(*) AS f, sum(amount) AS m
FROM events WHERE tenant_id = ? AND type = 'order_paid' AND ts <= ? GROUP BY user_id),
s AS (SELECT user_id, ntile(5) OVER (ORDER BY r DESC, user_id) AS rs,
             ntile(5) OVER (ORDER BY f, user_id) AS fs, ntile(5) OVER (ORDER BY m, user_id) AS ms FROM b)
SELECT user_id FROM s WHERE rs >= ? AND fs >= ? AND ms >= ?"""
_IN_WINDOW = "ts >= :cut - :window AND ts < :cut"
_INTERACTIONS = ", ".join(f"'{t}'" for t in lifecycle.INTERACTIONS)
_ACTIVITY = ", ".join(f"'{t}'" for t in churn.ACTIVITY)
SNAPSHOT = f"""
SELECT user_id,
       (:cut - max(ts) FILTER (WHERE ts < :cut)) / 86400.0,
       count(*) FILTER (WHERE ts >= :cut - 7 * 86400 AND ts < :cut),
       count(*) FILTER (WHERE ts >= :cut - 14 * 86400 AND ts < :cut - 7 * 86400),
       count(*) FILTER (WHERE ts >= :cut - :window AND ts < :cut - 14 * 86400),
       count(DISTINCT ts / 86400) FILTER (WHERE {_IN_WINDOW}),
       count(*) FILTER (WHERE {_IN_WINDOW} AND type IN ({_INTERACTIONS})),
       count(*) FILTER (WHERE {_IN_WINDOW} AND type = 'order_paid'),
       coalesce(sum(amount) FILTER (WHERE {_IN_WINDOW} AND type = 'order_paid'), 0),
       coalesce(sum(amount) FILTER (WHERE {_IN_WINDOW} AND type = 'view_end'), 0) / 60.0,
       min((:cut - min(ts)) / 86400.0, :window / 86400.0),
       count(*) FILTER (WHERE ts >= :cut) = 0
FROM events
WHERE tenant_id = :tenant AND ts < :cut + :horizon AND type IN ({_ACTIVITY})
GROUP BY user_id
HAVING count(*) FILTER (WHERE {_IN_WINDOW}) > 0
ORDER BY user_id
"""


def load(con: duckdb.DuckDBPyConnection, path: Path) -> sqlite3.Connection:
    """The replica's events copied into SQLite (``ts`` as epoch seconds; no index: every query scans)."""
    lite = sqlite3.connect(path)
    lite.executescript("""PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
        CREATE TABLE events (seq INTEGER PRIMARY KEY, ts INTEGER, tenant_id INTEGER, type TEXT,
                             user_id INTEGER, amount INTEGER);""")
    cursor = con.execute("SELECT seq, epoch(ts)::BIGINT, tenant_id, type, user_id, amount FROM events")
    while chunk := cursor.fetchmany(500_000):
        lite.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", chunk)
    lite.commit()
    return lite


def snapshot(lite: sqlite3.Connection, cutoff: datetime, horizon_days: int) -> churn.Snapshot:
    params = {
        "cut": int(cutoff.timestamp()),
        "tenant": TENANT,
        "window": churn.WINDOW_DAYS * DAY,
        "horizon": horizon_days * DAY,
    }
    rows = lite.execute(SNAPSHOT, params).fetchall()
    ids = np.array([row[0] for row in rows], dtype=np.int64)
    features = np.array([row[1:-1] for row in rows], dtype=np.float64).reshape(len(rows), len(churn.FEATURES))
    churned = np.array([bool(row[-1]) for row in rows], dtype=bool)
    return churn.Snapshot(ids=ids, features=np.maximum(features, 0.0), churned=churned)


def churn_risk_model(lite: sqlite3.Connection, as_of: datetime) -> set[int]:
    """Idle for more than 30 days, or scored >= 0.5 by the model trained as the app trains it."""
    horizon = churn.HORIZON_DAYS
    valid_cut = as_of - timedelta(days=horizon)
    train = snapshot(lite, valid_cut - timedelta(days=horizon), horizon)
    found = members(lite, "churn_risk_rule", as_of)
    if len(set(train.churned.tolist())) < 2:
        return found
    model = churn._model().fit(train.features, train.churned)
    snapshot(lite, valid_cut, horizon)  # the validation snapshot the app computes for its AUC
    current = snapshot(lite, as_of, 0)
    if len(current.ids):
        scores = np.round(model.predict_proba(current.features)[:, 1], 4)
        found |= {int(i) for i, p in zip(current.ids, scores, strict=True) if p >= lifecycle.CHURN_SCORE}
    return found


def members(lite: sqlite3.Connection, name: str, as_of: datetime) -> set[int]:
    now = int(as_of.timestamp())
    if name == "churn_risk_model":
        return churn_risk_model(lite, as_of)
    if name == "churn_risk_rule":  # every generated event is an activity (churn.ACTIVITY)
        rows = lite.execute(IDLE, [TENANT, now, now - lifecycle.CHURN_DAYS * DAY]).fetchall()
    elif name == "lifecycle_loyal":
        params = [TENANT, now, now, lifecycle.SILENT_DAYS * DAY, now, lifecycle.LOYAL_DAYS * DAY]
        rows = lite.execute(LOYAL, params).fetchall()
    else:
        rows = lite.execute(RFM, [now, TENANT, now, rfm.HIGH, rfm.HIGH, rfm.HIGH]).fetchall()
    return {int(row[0]) for row in rows}


def sqlite_peer(
    con: duckdb.DuckDBPyConnection, path: Path, repeat: int, duck: dict[str, Any]
) -> dict[str, Any]:
    """Each segment of ``duck`` refreshed on SQLite: time, size, agreement with DuckDB."""
    started = time.perf_counter()
    lite = load(con, path)
    log(f"sqlite peer loaded in {time.perf_counter() - started:.1f} s")
    figures: dict[str, Any] = {"load_s": round(time.perf_counter() - started, 1)}
    try:
        for name in duck:
            previous = members(lite, name, AS_OF - timedelta(days=1))

            def run(n: str = name, p: set[int] = previous) -> dict[str, Any]:
                now = members(lite, n, AS_OF)
                return {"members": now, "entered": now - p, "left": p - now}

            seconds, result = timed(repeat, run)
            differ = len(result["members"] ^ duck[name]["members"])
            agrees = all(result[k] == duck[name][k] for k in ("members", "entered", "left"))
            figures[name] = {
                "s": seconds,
                "members": len(result["members"]),
                "agrees": agrees,
                "differ": differ,
            }
            log(f"sqlite {name}: {seconds} s, agrees with duckdb: {agrees} ({differ} differ)")
    finally:
        lite.close()
    return figures
