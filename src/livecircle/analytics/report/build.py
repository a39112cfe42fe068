"""The report's figures from the DuckDB replica: pure functions of a connection and plain data.

``compute(con, context)`` copies the show's rows out of ``person_events`` once (the replica
has no index: one scan, filtered by ``show_id`` first), runs every section's query on that
small table and returns the report's data as plain JSON-able values. Names (products,
host) are the caller's: it reads them from the main database.

Definitions (also shown in the report):

- minutes count from the show's start (``started_at``); an event before it counts in 0;
- interactions per minute = chat lines + like taps + gifts (a combo of n counts n) + shares;
- a gift burst is a minute whose gifts are >= ``BURST_FACTOR`` x the show's median gifts per
  minute (every minute of the show, idle ones included) and >= ``BURST_MIN_GIFTS``;
- a peak is one of the ``PEAKS`` busiest minutes above the median minute, at least
  ``PEAK_GAP + 1`` minutes from a busier peak; what the host did in that minute or the
  ``LOOKBACK`` minutes before it (poll, pin, coupon, lottery, flash sale) and gift bursts
  then are its annotations;
- the funnel counts people: viewers (opened the show) → clickers (opened a product card)
  → ordered (clickers who placed an order at or after their first click) → paid (of those,
  who paid an order of the show);
- the comparison is the mean over the host's last ``PREVIOUS_SHOWS`` ended shows, each with the
  figures of its stored report (computed here, by the same definitions, when it has none).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import orjson

from livecircle.analytics import metrics
from livecircle.analytics.report.formulas import seed_formulas
from livecircle.analytics.segments.lifecycle import STAGE_LABELS, STAGES, lifecycle_stages

PEAKS = 3
PEAK_GAP = 2
LOOKBACK = 2
BURST_FACTOR = 3.0
BURST_MIN_GIFTS = 3
PREVIOUS_SHOWS = 5
TOP_PRODUCTS = 10
HOST_ACTIONS: tuple[str, ...] = (
    "poll_started",
    "product_pinned",
    "coupon_drop",
    "lottery_started",
    "flash_sale",
)
COMPARED: tuple[str, ...] = (
    "viewers",
    "peak",
    "watch_seconds",
    "avg_watch_seconds",
    "comments",
    "likes",
    "shares",
    "interaction_rate",
    "gifts",
    "gift_coins",
    "product_clicks",
    "click_to_order",
    "orders",
    "gmv_cents",
    "paid_orders",
    "paid_cents",
    "payment_success",
    "new_followers",
    "new_members",
)


@dataclass(frozen=True, slots=True)
class ShowContext:
    """What the main database knows about the show, handed to ``compute``."""

    show_id: int
    tenant_id: int
    title: str
    room_id: int
    room_title: str
    category: str
    host_id: int
    host_name: str
    started_at: datetime
    ended_at: datetime
    as_of: datetime
    # {show_id, title, ended_at, figures}: figures from the show's stored report, else None
    previous: list[dict[str, Any]] = field(default_factory=list)
    targets: dict[str, float] = field(default_factory=dict)
    target_sources: dict[str, str] = field(default_factory=dict)


# The show's rows, copied once; every query below reads this small table (see compute).
_COPY = (
    "CREATE OR REPLACE TEMP TABLE _report_events AS SELECT * FROM person_events WHERE show_id = ? AND ts <= ?"
)
_DROP = "DROP TABLE IF EXISTS _report_events"
_CURVE = """
SELECT date_diff('second', ?::TIMESTAMP, ts), amount FROM _report_events
WHERE type = 'online_sample' ORDER BY ts
"""
_MINUTES = """
SELECT greatest(CAST(floor(date_diff('millisecond', ?::TIMESTAMP, ts) / 60000.0) AS INTEGER), 0) AS m,
    count(*) FILTER (WHERE type = 'chat'),
    coalesce(sum(amount) FILTER (WHERE type = 'like'), 0),
    coalesce(sum(coalesce(TRY_CAST(json_extract_string(props, '$.count') AS BIGINT), 1))
             FILTER (WHERE type = 'gift'), 0),
    count(*) FILTER (WHERE type = 'share')
FROM _report_events WHERE type IN ('chat', 'like', 'gift', 'share') GROUP BY m ORDER BY m
"""
_ACTIONS = """
SELECT greatest(CAST(floor(date_diff('millisecond', ?::TIMESTAMP, ts) / 60000.0) AS INTEGER), 0), type, props
FROM _report_events
WHERE type IN ('poll_started', 'product_pinned', 'coupon_drop', 'lottery_started', 'flash_sale')
ORDER BY ts, seq
"""
_FUNNEL = """
WITH v AS (SELECT DISTINCT viewer FROM _report_events WHERE type = 'view_start'),
c AS (SELECT viewer, min(ts) AS first_click FROM _report_events
      WHERE type = 'product_click' AND viewer IS NOT NULL GROUP BY viewer),
o AS (SELECT DISTINCT c.viewer FROM c JOIN _report_events e
      ON e.viewer = c.viewer AND e.type = 'order_placed' AND e.ts >= c.first_click),
p AS (SELECT DISTINCT o.viewer FROM o JOIN _report_events e ON e.viewer = o.viewer AND e.type = 'order_paid')
SELECT (SELECT count(*) FROM v), (SELECT count(*) FROM c), (SELECT count(*) FROM o), (SELECT count(*) FROM p)
"""
_PRODUCTS = """
WITH placed AS (
    SELECT json_extract_string(props, '$.order_id') AS oid,
           TRY_CAST(json_extract_string(props, '$.product_id') AS BIGINT) AS pid, amount
    FROM _report_events WHERE type = 'order_placed'
), paid AS (
    SELECT json_extract_string(props, '$.order_id') AS oid,
           TRY_CAST(json_extract_string(props, '$.product_id') AS BIGINT) AS pid, amount
    FROM _report_events WHERE type = 'order_paid'
), clicks AS (
    SELECT TRY_CAST(json_extract_string(props, '$.product_id') AS BIGINT) AS pid,
           count(*) AS clicks, count(DISTINCT viewer) AS clickers
    FROM _report_events WHERE type = 'product_click' GROUP BY 1
), ords AS (
    SELECT pid, count(*) AS orders, sum(amount) AS order_cents FROM placed GROUP BY 1
), pays AS (
    SELECT coalesce(paid.pid, placed.pid) AS pid, count(*) AS paid_orders, sum(paid.amount) AS paid_cents
    FROM paid LEFT JOIN placed USING (oid) GROUP BY 1
)
SELECT pid, coalesce(clicks, 0), coalesce(clickers, 0), coalesce(orders, 0),
       coalesce(order_cents, 0), coalesce(paid_orders, 0), coalesce(paid_cents, 0)
FROM clicks FULL JOIN ords USING (pid) FULL JOIN pays USING (pid)
WHERE pid IS NOT NULL
ORDER BY 7 DESC, 5 DESC, 2 DESC, 1
LIMIT ?
"""
_SIGNED_IN = (
    "SELECT DISTINCT person_id FROM _report_events WHERE type = 'view_start' AND person_id IS NOT NULL"
)
_VIEWERS = "SELECT count(DISTINCT viewer) FROM _report_events WHERE type = 'view_start'"
_DOERS = """
WITH v AS (SELECT DISTINCT viewer FROM _report_events WHERE type = 'view_start'),
d AS (SELECT DISTINCT type, viewer FROM _report_events
      WHERE type IN ('chat', 'like', 'share', 'gift', 'product_click', 'follow', 'community_join')
        AND viewer IN (SELECT viewer FROM v)),
b AS (SELECT DISTINCT viewer FROM _report_events WHERE type = 'order_placed')
SELECT d.type, count(*), count(b.viewer) FROM d LEFT JOIN b ON b.viewer = d.viewer GROUP BY 1
"""


def compute(con: duckdb.DuckDBPyConnection, ctx: ShowContext) -> dict[str, Any]:
    """The report's data for ``ctx.show_id`` (every event of the show up to ``ctx.as_of``)."""
    con.execute(_COPY, [ctx.show_id, _naive(ctx.as_of)])
    try:
        figures = metrics.show_figures(con, ctx.show_id, until=ctx.as_of)
        interaction = interaction_minutes(con, ctx)
        return {
            "version": 1,
            "show": _show(ctx),
            "figures": figures,
            "definitions": {name: metrics.DEFINITIONS.get(name, "") for name in COMPARED},
            "curve": viewer_curve(con, ctx, figures),
            "interaction": interaction,
            "funnel": funnel(con),
            "products": products(con),
            "growth": {"new_followers": figures["new_followers"], "new_members": figures["new_members"]},
            "segments": segment_mix(con, ctx),
            "formulas": formulas(con),
            "comparison": comparison(con, ctx, figures),
            "targets": targets_vs_actual(ctx.targets, figures),
            # metric -> "show" | "tenant" | "seed": whose target it is (analytics.planning.targets)
            "target_sources": dict(ctx.target_sources),
        }
    finally:
        con.execute(_DROP)


def _show(ctx: ShowContext) -> dict[str, Any]:
    return {
        "id": ctx.show_id,
        "tenant_id": ctx.tenant_id,
        "title": ctx.title,
        "room_id": ctx.room_id,
        "room_title": ctx.room_title,
        "category": ctx.category,
        "host_id": ctx.host_id,
        "host_name": ctx.host_name,
        "started_at": ctx.started_at.isoformat(),
        "ended_at": ctx.ended_at.isoformat(),
        "duration_seconds": max(0, round((ctx.ended_at - ctx.started_at).total_seconds())),
        "as_of": ctx.as_of.isoformat(),
    }


def viewer_curve(con: duckdb.DuckDBPyConnection, ctx: ShowContext, figures: dict[str, Any]) -> dict[str, Any]:
    """The sampled online count (``online_sample``, every 10 s) as [seconds from start, online]."""
    rows = con.execute(_CURVE, [_naive(ctx.started_at)]).fetchall()
    points = [[int(offset), int(online or 0)] for offset, online in rows]
    peak = max(points, key=lambda p: p[1], default=[0, 0])
    return {"points": points, "peak": peak[1], "peak_at": peak[0], "unique_viewers": figures["viewers"]}


def interaction_minutes(con: duckdb.DuckDBPyConnection, ctx: ShowContext) -> dict[str, Any]:
    """Chat, like taps, gifts and shares per minute; gift bursts; the peaks and their causes."""
    rows = con.execute(_MINUTES, [_naive(ctx.started_at)]).fetchall()
    length = max(_minutes_long(ctx), (rows[-1][0] + 1) if rows else 0)
    minutes = [
        {"minute": m, "chat": 0, "like_taps": 0, "gifts": 0, "shares": 0, "total": 0} for m in range(length)
    ]
    for m, chat, taps, gifts, shares in rows:
        minutes[m].update(chat=int(chat), like_taps=int(taps), gifts=int(gifts), shares=int(shares))
        minutes[m]["total"] = int(chat) + int(taps) + int(gifts) + int(shares)
    median_gifts = statistics.median([m["gifts"] for m in minutes]) if minutes else 0
    bursts = [
        m["minute"]
        for m in minutes
        if m["gifts"] >= max(BURST_FACTOR * median_gifts, BURST_MIN_GIFTS) and m["gifts"] > 0
    ]
    actions = host_actions(con, ctx)
    return {
        "minutes": minutes,
        "median_gifts": median_gifts,
        "gift_bursts": bursts,
        "actions": actions,
        "peaks": peaks(minutes, actions, bursts),
    }


def _minutes_long(ctx: ShowContext) -> int:
    return max(1, -(-int((ctx.ended_at - ctx.started_at).total_seconds()) // 60))


def host_actions(con: duckdb.DuckDBPyConnection, ctx: ShowContext) -> list[dict[str, Any]]:
    """What the host did (``HOST_ACTIONS``), with the minute it happened in."""
    rows = con.execute(_ACTIONS, [_naive(ctx.started_at)]).fetchall()
    return [{"minute": int(m), "type": kind, "props": orjson.loads(props or "{}")} for m, kind, props in rows]


def peaks(
    minutes: list[dict[str, Any]], actions: list[dict[str, Any]], bursts: list[int]
) -> list[dict[str, Any]]:
    """The busiest minutes (see the module docstring), each with what happened then."""
    median_total = statistics.median([m["total"] for m in minutes]) if minutes else 0
    ranked = sorted(minutes, key=lambda m: (-m["total"], m["minute"]))
    chosen: list[dict[str, Any]] = []
    for m in ranked:
        if len(chosen) == PEAKS or m["total"] <= median_total:
            break
        if all(abs(m["minute"] - c["minute"]) > PEAK_GAP for c in chosen):
            chosen.append(m)
    return [_annotate(m, actions, bursts) for m in chosen]


def _annotate(m: dict[str, Any], actions: list[dict[str, Any]], bursts: list[int]) -> dict[str, Any]:
    low, high = m["minute"] - LOOKBACK, m["minute"]
    causes = [
        {"type": a["type"], "minute": a["minute"], "props": a["props"]}
        for a in actions
        if low <= a["minute"] <= high
    ]
    causes += [{"type": "gift_burst", "minute": b, "props": {}} for b in bursts if low <= b <= high]
    causes.sort(key=lambda c: c["minute"])
    return {"minute": m["minute"], "total": m["total"], "causes": causes}


def funnel(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """People at each step, and each step's conversion from the one before."""
    row = con.execute(_FUNNEL).fetchone() or (0, 0, 0, 0)
    steps: list[dict[str, Any]] = []
    previous: int | None = None
    for name, value in zip(("view", "click", "order", "pay"), row, strict=True):
        people = int(value)
        steps.append({"step": name, "people": people, "conversion": _ratio(people, previous)})
        previous = people
    overall = _ratio(steps[-1]["people"], steps[0]["people"])
    return {"steps": steps, "overall": overall}


def products(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Per product: clicks, orders placed and paid (a payment is matched to its order's product)."""
    rows = con.execute(_PRODUCTS, [TOP_PRODUCTS]).fetchall()
    keys = ("product_id", "clicks", "clickers", "orders", "order_cents", "paid_orders", "paid_cents")
    return [{key: int(value) for key, value in zip(keys, row, strict=True)} for row in rows]


def segment_mix(con: duckdb.DuckDBPyConnection, ctx: ShowContext) -> dict[str, Any]:
    """The lifecycle stage of each signed-in viewer of the show, as of the report's time."""
    people = [int(row[0]) for row in con.execute(_SIGNED_IN).fetchall()]
    stages = lifecycle_stages(con, tenant_id=ctx.tenant_id, as_of=ctx.as_of) if people else {}
    counts = dict.fromkeys(STAGES, 0)
    for person in people:
        stage = stages.get(person)
        if stage in counts:
            counts[stage] += 1
    mix = [
        {"stage": stage, "label": STAGE_LABELS.get(stage, stage), "count": n, "share": _ratio(n, len(people))}
        for stage, n in counts.items()
    ]
    return {"signed_in_viewers": len(people), "mix": mix}


def formulas(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """P_u, C_r and I_b with their inputs (formulas.py): shares of the show's viewers."""
    viewers_row = con.execute(_VIEWERS).fetchone()
    rows = con.execute(_DOERS).fetchall()
    doers = {kind: (int(did), int(ordered)) for kind, did, ordered in rows}
    return seed_formulas(int(viewers_row[0]) if viewers_row else 0, doers)


def comparison(con: duckdb.DuckDBPyConnection, ctx: ShowContext, figures: dict[str, Any]) -> dict[str, Any]:
    """This show against the mean of the host's previous ended shows (same definitions)."""
    previous = [
        {
            **show,
            "figures": show.get("figures")
            or metrics.show_figures(con, int(show["show_id"]), until=ctx.as_of),
        }
        for show in ctx.previous
    ]
    rows = []
    for name in COMPARED:
        values = [p["figures"][name] for p in previous if p["figures"].get(name) is not None]
        mean = round(statistics.fmean(values), 4) if values else None
        this = figures.get(name)
        delta = round(this - mean, 4) if this is not None and mean is not None else None
        rows.append(
            {
                "metric": name,
                "this": this,
                "mean": mean,
                "delta": delta,
                "delta_pct": _ratio(delta, mean) if delta is not None and mean else None,
            }
        )
    shows = [{key: p[key] for key in ("show_id", "title", "ended_at")} for p in previous]
    return {"previous": shows, "rows": rows}


def targets_vs_actual(targets: dict[str, float], figures: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name in COMPARED:
        if name not in targets:
            continue
        actual = figures.get(name)
        target = targets[name]
        attainment = round(actual / target, 4) if actual is not None and target else None
        rows.append({"metric": name, "target": target, "actual": actual, "attainment": attainment})
    return rows


def _ratio(part: float | None, whole: float | None) -> float | None:
    return round(part / whole, 4) if part is not None and whole else None


def _naive(value: datetime) -> datetime:
    """The replica stores naive UTC timestamps."""
    return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)
