"""Weekly cohort retention table.

Convention (stated on the page too, research §1.1: Amplitude defaults to rolling 24 h
windows, we do not): **calendar weeks, not rolling windows**. A week runs Monday 00:00 to
Sunday 24:00 UTC (DuckDB ``date_trunc('week', ts)``, ISO weeks). An account's cohort is
the week of its first event ever; it is *retained in week k* when it has any event in the
k-th calendar week after its cohort week (week 0 is the cohort week itself, so 100 %).
Weeks that have not started by ``as_of`` are empty (None); the week holding ``as_of``
counts the events so far. Only accounts count (an anonymous viewer merged into an
account counts as the account).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import duckdb

from livecircle.analytics.segments.lifecycle import naive_utc

CONVENTION = (
    "calendar weeks (Monday-Sunday, UTC), not rolling 7-day windows; cohort = week of the first event; "
    "retained in week k = any event in the k-th calendar week after the cohort week"
)
CONVENTION_ZH = (
    "按自然周（周一至周日，UTC）而非滚动 7 天窗口计算；同期群 = 首次事件所在周；"
    "第 k 周留存 = 在同期群周之后第 k 个自然周内有任意事件"
)

_SQL = """
WITH firsts AS (
    SELECT person_id, date_trunc('week', min(ts)) AS cohort
    FROM person_events
    WHERE tenant_id = $tenant AND person_id IS NOT NULL AND ts <= $as_of
    GROUP BY person_id
    HAVING date_trunc('week', min(ts)) >= date_trunc('week', $as_of) - to_weeks($weeks - 1)
), active AS (
    SELECT DISTINCT person_id, date_trunc('week', ts) AS week
    FROM person_events
    WHERE tenant_id = $tenant AND person_id IS NOT NULL AND ts <= $as_of
      AND ts >= date_trunc('week', $as_of) - to_weeks($weeks - 1)
)
SELECT f.cohort, CAST(date_diff('week', f.cohort, a.week) AS INTEGER) AS k, count(*) AS people
FROM firsts f JOIN active a USING (person_id)
GROUP BY ALL
ORDER BY 1, 2
"""


def retention_table(
    con: duckdb.DuckDBPyConnection, *, tenant_id: int, as_of: datetime, weeks: int = 8
) -> list[dict[str, Any]]:
    """One row per cohort week among the last ``weeks`` (oldest first).

    Each row: ``cohort`` (the Monday, a date), ``size``, ``retained`` (people per week
    0..weeks-1, None for weeks not begun) and ``rates`` (retained / size, 4 decimals).
    """
    when = naive_utc(as_of)
    rows = con.execute(_SQL, {"tenant": tenant_id, "as_of": when, "weeks": weeks}).fetchall()
    current = _monday(when)
    table: dict[date, list[int | None]] = {}
    for cohort, k, people in rows:
        start = cohort.date() if isinstance(cohort, datetime) else cohort
        cells = table.setdefault(
            start, [None if (current - start).days // 7 < i else 0 for i in range(weeks)]
        )
        if 0 <= k < weeks:
            cells[k] = int(people)
    return [_row(cohort, cells) for cohort, cells in sorted(table.items())]


def _row(cohort: date, cells: list[int | None]) -> dict[str, Any]:
    size = cells[0] or 0
    rates = [None if cell is None else round(cell / size, 4) if size else 0.0 for cell in cells]
    return {"cohort": cohort, "size": size, "retained": cells, "rates": rates}


def _monday(value: datetime) -> date:
    day = value.date()
    return date.fromordinal(day.toordinal() - day.weekday())
