"""Day-by-day trends of a tenant: events per type and active people per UTC day."""

from __future__ import annotations

from datetime import date, datetime

import duckdb

# From the daily rollup the replica keeps with every load (no scan of the events).
DAILY_COUNTS = """
SELECT day, type, events FROM rollup_daily
WHERE tenant_id = ? AND day >= CAST(? AS DATE) AND day < CAST(? AS DATE)
ORDER BY day, type
"""
# Active = did anything; an anonymous viewer counts once per device until it signs up. One
# BIGINT key per person (counting distinct integers is what makes 10M rows fast): the account
# id, or for a device never merged into an account a negative rank of its id (exact).
DAILY_ACTIVE = """
WITH anonymous AS (
    SELECT CAST(e.ts AS DATE) AS day, coalesce(i.user_id, -dense_rank() OVER (ORDER BY e.anon_id)) AS person
    FROM events e LEFT JOIN identities i ON i.anon_id = e.anon_id
    WHERE e.tenant_id = $tenant AND e.ts >= $since AND e.ts < $until
      AND e.user_id IS NULL AND e.anon_id IS NOT NULL
)
SELECT day, count(DISTINCT person) AS active FROM (
    SELECT CAST(ts AS DATE) AS day, user_id AS person FROM events
    WHERE tenant_id = $tenant AND ts >= $since AND ts < $until AND user_id IS NOT NULL
    UNION ALL
    SELECT day, person FROM anonymous
) GROUP BY day ORDER BY day
"""


def daily_counts(
    con: duckdb.DuckDBPyConnection, *, tenant_id: int, since: datetime, until: datetime
) -> list[tuple[date, str, int]]:
    """(day, type, events) for every UTC day from ``since``'s to ``until``'s (excluded)."""
    rows = con.execute(DAILY_COUNTS, [tenant_id, _naive(since), _naive(until)]).fetchall()
    return [(day, type_, int(n)) for day, type_, n in rows]


def daily_active(
    con: duckdb.DuckDBPyConnection, *, tenant_id: int, since: datetime, until: datetime
) -> list[tuple[date, int]]:
    """(day, people active that day): accounts, and anonymous devices not merged into one."""
    params = {"tenant": tenant_id, "since": _naive(since), "until": _naive(until)}
    rows = con.execute(DAILY_ACTIVE, params).fetchall()
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
