"""RFM value tiers: recency, frequency and monetary value of every paying account.

One DuckDB query per call: per account with at least one ``order_paid`` up to ``as_of``,

- recency   R = whole days since the last paid order (``as_of`` minus its ``ts``, floored),
- frequency F = paid orders,
- monetary  M = paid cents (sum of ``amount``).

Each is scored 1-5 by ``NTILE(5)`` over the buyers (5 = best: most recent, most orders,
most cents). Ties are broken by account id, so the scores are deterministic: the same
events always give the same scores. A score is *high* when it is >= ``HIGH`` (3, the
middle quintile and above). The named tiers are the classic 8-cell R x F x M grid:

| R high | F high | M high | tier                      |
|--------|--------|--------|---------------------------|
| yes    | yes    | yes    | 重要价值 (champions)       |
| yes    | no     | yes    | 重要发展 (promising, big)  |
| no     | yes    | yes    | 重要保持 (at risk, big)    |
| no     | no     | yes    | 重要挽留 (can't lose)      |
| yes    | yes    | no     | 一般价值 (loyal, small)    |
| yes    | no     | no     | 一般发展 (new, small)      |
| no     | yes    | no     | 一般保持 (slipping, small) |
| no     | no     | no     | 一般挽留 (lost, small)     |
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb
import numpy as np

from livecircle.analytics.segments.lifecycle import naive_utc

HIGH = 3
# (R high, F high, M high) -> (tier, English name)
TIERS: dict[tuple[bool, bool, bool], tuple[str, str]] = {
    (True, True, True): ("重要价值", "champions"),
    (True, False, True): ("重要发展", "promising big spenders"),
    (False, True, True): ("重要保持", "big spenders at risk"),
    (False, False, True): ("重要挽留", "big spenders to win back"),
    (True, True, False): ("一般价值", "loyal small spenders"),
    (True, False, False): ("一般发展", "new small spenders"),
    (False, True, False): ("一般保持", "slipping small spenders"),
    (False, False, False): ("一般挽留", "lost small spenders"),
}
TIER_ORDER: tuple[str, ...] = tuple(name for name, _ in TIERS.values())
TIER_ENGLISH: dict[str, str] = dict(TIERS.values())
COLUMNS = ("user_id", "recency_days", "frequency", "monetary_cents", "r", "f", "m", "tier")
# ``tier_code`` in the query and the arrays is the tier's index in ``TIER_ORDER``.


def _tier_case() -> str:
    """The tier as its index in ``TIER_ORDER`` (a small int: fetching 500k strings costs more
    than the whole query)."""
    arms = " ".join(
        f"WHEN (r >= {HIGH}) = {str(rh).lower()} AND (f >= {HIGH}) = {str(fh).lower()} "
        f"AND (m >= {HIGH}) = {str(mh).lower()} THEN {code}"
        for code, (rh, fh, mh) in enumerate(TIERS)
    )
    return f"CAST(CASE {arms} END AS TINYINT)"


RFM_SQL = f"""
WITH buyers AS (
    SELECT person_id AS user_id,
           CAST(floor(epoch(?::TIMESTAMP - max(ts)) / 86400) AS BIGINT) AS recency_days,
           count(*) AS frequency,
           CAST(coalesce(sum(amount), 0) AS BIGINT) AS monetary_cents
    FROM person_events
    WHERE tenant_id = ? AND type = 'order_paid' AND person_id IS NOT NULL AND ts <= ?::TIMESTAMP
    GROUP BY person_id
), scored AS (
    SELECT *,
           NTILE(5) OVER (ORDER BY recency_days DESC, user_id) AS r,
           NTILE(5) OVER (ORDER BY frequency, user_id) AS f,
           NTILE(5) OVER (ORDER BY monetary_cents, user_id) AS m
    FROM buyers
)
SELECT user_id, recency_days, frequency, monetary_cents, r, f, m, {_tier_case()} AS tier_code
FROM scored
"""  # noqa: S608 - the grid is constant; every value is a bound parameter


def rfm_arrays(
    con: duckdb.DuckDBPyConnection, *, tenant_id: int, as_of: datetime
) -> dict[str, np.ndarray[Any, Any]]:
    """Every buyer's R, F, M, scores and ``tier_code`` as columns (no Python row per buyer)."""
    when = naive_utc(as_of)
    result: dict[str, np.ndarray[Any, Any]] = con.execute(RFM_SQL, [when, tenant_id, when]).fetchnumpy()
    return result


def rfm_rows(
    con: duckdb.DuckDBPyConnection, *, tenant_id: int, as_of: datetime, limit: int | None = None
) -> list[dict[str, Any]]:
    """Buyers as dicts (``COLUMNS``), best monetary value first, then by account id."""
    when = naive_utc(as_of)
    sql = f"SELECT * FROM ({RFM_SQL}) ORDER BY monetary_cents DESC, user_id"  # noqa: S608
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    rows = con.execute(sql, [when, tenant_id, when]).fetchall()
    return [dict(zip(COLUMNS, (*row[:-1], TIER_ORDER[row[-1]]), strict=True)) for row in rows]


def tier_summary(con: duckdb.DuckDBPyConnection, *, tenant_id: int, as_of: datetime) -> list[dict[str, Any]]:
    """Per tier (every tier, grid order): buyers, share, mean R days, mean F, total and mean M."""
    when = naive_utc(as_of)
    sql = f"SELECT tier_code, count(*), avg(recency_days), avg(frequency), sum(monetary_cents), avg(monetary_cents) FROM ({RFM_SQL}) GROUP BY tier_code"  # noqa: S608, E501
    rows = con.execute(sql, [when, tenant_id, when]).fetchall()
    found = {TIER_ORDER[row[0]]: row for row in rows}
    total = sum(int(row[1]) for row in rows)
    summary = []
    for tier in TIER_ORDER:
        row = found.get(tier, (tier, 0, None, None, 0, None))
        summary.append(
            {
                "tier": tier,
                "tier_en": TIER_ENGLISH[tier],
                "buyers": int(row[1]),
                "share": round(int(row[1]) / total, 4) if total else 0.0,
                "avg_recency_days": _round(row[2]),
                "avg_frequency": _round(row[3]),
                "monetary_cents": int(row[4] or 0),
                "avg_monetary_cents": _round(row[5]),
            }
        )
    return summary


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)
