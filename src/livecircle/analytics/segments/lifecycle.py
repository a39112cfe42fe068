"""Lifecycle stage of every account: new, engaged, converted, loyal, silent, churn risk.

Rules, tested in this order for each account with any event up to ``as_of``; the first
that matches gives the stage (days are exact 24 h spans before ``as_of``, UTC):

1. ``churn_risk`` - no event for more than 30 days (last event before as_of - 30 d),
   or the churn model's score for the account is >= 0.5 (``churn_scores``).
2. ``silent``     - no event for 14 to 30 days (last event in [as_of - 30 d, as_of - 14 d)).
3. ``loyal``      - at least 2 paid orders (``order_paid``), the last within 60 days.
4. ``converted``  - at least 1 paid order (one, or several whose last is older than 60 d).
5. ``new``        - first event less than 7 days ago.
6. ``engaged``    - the rest: active in the last 14 days, first seen >= 7 days ago, no paid
   order. Interactions (chat, like, share, gift, product click) in the last 30 days are
   counted in ``interactions_30d``; an account that only watched is still ``engaged``
   here (watching is the live room's base engagement), so the six stages cover everyone.

Only accounts count (``person_id``: an anonymous viewer merged into an account counts as
the account); events of other tenants and after ``as_of`` are ignored. Refunds are not
subtracted: a paid order stays a paid order for the lifecycle.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import duckdb

STAGES: tuple[str, ...] = ("new", "engaged", "converted", "loyal", "silent", "churn_risk")
STAGE_LABELS: dict[str, str] = {
    "new": "新用户",
    "engaged": "活跃互动",
    "converted": "已转化",
    "loyal": "忠诚",
    "silent": "沉默",
    "churn_risk": "流失风险",
}
INTERACTIONS: tuple[str, ...] = ("chat", "like", "share", "gift", "product_click")
NEW_DAYS = 7
SILENT_DAYS = 14
CHURN_DAYS = 30
LOYAL_DAYS = 60
CHURN_SCORE = 0.5

_QUERY = """
SELECT person_id,
       min(ts) AS first_ts,
       max(ts) AS last_ts,
       count(*) FILTER (WHERE type = 'order_paid') AS paid_orders,
       max(ts) FILTER (WHERE type = 'order_paid') AS last_paid_ts,
       count(*) FILTER (WHERE type IN ({interactions}) AND ts >= ?::TIMESTAMP - INTERVAL 30 DAY)
           AS interactions_30d
FROM person_events
WHERE tenant_id = ? AND person_id IS NOT NULL AND ts <= ?::TIMESTAMP
GROUP BY person_id
"""


def account_activity(
    con: duckdb.DuckDBPyConnection, *, tenant_id: int, as_of: datetime
) -> list[dict[str, Any]]:
    """Per account: first/last event, paid orders, last paid order, interactions in 30 days."""
    placeholders = ", ".join(f"'{name}'" for name in INTERACTIONS)
    when = naive_utc(as_of)
    rows = con.execute(_QUERY.format(interactions=placeholders), [when, tenant_id, when]).fetchall()
    keys = ("person_id", "first_ts", "last_ts", "paid_orders", "last_paid_ts", "interactions_30d")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def stage_of(row: Mapping[str, Any], *, as_of: datetime, churn_score: float | None = None) -> str:
    """The stage for one account's activity row (the rules in the module docstring, in order)."""
    when = naive_utc(as_of)
    idle_days = (when - row["last_ts"]).total_seconds() / 86400
    if idle_days > CHURN_DAYS or (churn_score is not None and churn_score >= CHURN_SCORE):
        return "churn_risk"
    if idle_days >= SILENT_DAYS:
        return "silent"
    paid = int(row["paid_orders"])
    if paid >= 2 and (when - row["last_paid_ts"]).total_seconds() <= LOYAL_DAYS * 86400:
        return "loyal"
    if paid >= 1:
        return "converted"
    if (when - row["first_ts"]).total_seconds() < NEW_DAYS * 86400:
        return "new"
    return "engaged"


def lifecycle_stages(
    con: duckdb.DuckDBPyConnection,
    *,
    tenant_id: int,
    as_of: datetime,
    churn_scores: Mapping[int, float] | None = None,
) -> dict[int, str]:
    """``{account id: stage}`` for every account of the tenant with an event up to ``as_of``.

    ``churn_scores`` (account -> probability, from ``churn.score_accounts``) moves an
    account whose score is >= 0.5 into ``churn_risk``; without it only inactivity counts.
    """
    scores = churn_scores or {}
    return {
        int(row["person_id"]): stage_of(row, as_of=as_of, churn_score=scores.get(int(row["person_id"])))
        for row in account_activity(con, tenant_id=tenant_id, as_of=as_of)
    }


def stage_mix(stages: Mapping[int, str]) -> dict[str, int]:
    """How many accounts are in each stage (every stage present, in ``STAGES`` order)."""
    counts = Counter(stages.values())
    return {stage: counts.get(stage, 0) for stage in STAGES}


def naive_utc(value: datetime) -> datetime:
    """The replica stores naive UTC timestamps."""
    return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)
