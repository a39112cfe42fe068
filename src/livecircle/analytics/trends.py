"""Day-by-day trends of a tenant: events per type and active people per UTC day."""

from __future__ import annotations

from datetime import date, datetime

import duckdb

DAILY_COUNTS = """
SELECT CAST(ts AS DATE) AS day, type, count(*) AS events
FROM events WHERE tenant_id = ? AND ts >= ? AND ts < ?
GROUP BY ALL ORDER BY day, type
"""
# Active = did anything; an anonymous viewer counts once per device until it signs up.
DAILY_ACTIVE = """
SELECT CAST(ts AS DATE) AS day, count(DISTINCT viewer) AS active
FROM person_events WHERE tenant_id = ? AND ts >= ? AND ts < ?
GROUP BY ALL ORDER BY day
"""


def daily_counts(
    con: duckdb.DuckDBPyConnection, *, tenant_id: int, since: datetime, until: datetime
) -> list[tuple[date, str, int]]:
    """(day, type, events) for every day and type with events in [since, until)."""
    rows = con.execute(DAILY_COUNTS, [tenant_id, _naive(since), _naive(until)]).fetchall()
    return [(day, type_, int(n)) for day, type_, n in rows]


def daily_active(
    con: duckdb.DuckDBPyConnection, *, tenant_id: int, since: datetime, until: datetime
) -> list[tuple[date, int]]:
    """(day, people active that day): accounts, and anonymous devices not merged into one."""
    rows = con.execute(DAILY_ACTIVE, [tenant_id, _naive(since), _naive(until)]).fetchall()
    return [(day, int(n)) for day, n in rows]


def _naive(value: datetime) -> datetime:
    return value.replace(tzinfo=None) if value.tzinfo is not None else value


TREND_TYPES = ("view_start", "chat", "like", "share", "gift", "product_click", "order_placed", "order_paid")


def trend_table(
    con: duckdb.DuckDBPyConnection, *, tenant_id: int, since: datetime, until: datetime
) -> list[dict[str, object]]:
    """One row per day: active people and the count of each main event type."""
    counts = daily_counts(con, tenant_id=tenant_id, since=since, until=until)
    active = dict(daily_active(con, tenant_id=tenant_id, since=since, until=until))
    days: dict[date, dict[str, object]] = {}
    for day in sorted({d for d, _, _ in counts} | set(active)):
        days[day] = {"day": day.isoformat(), "active": active.get(day, 0), **dict.fromkeys(TREND_TYPES, 0)}
    for day, type_, n in counts:
        if type_ in TREND_TYPES:
            days[day][type_] = n
    return list(days.values())
