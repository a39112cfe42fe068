"""Churn-risk score with its validation AUC, split by time (never at random).

Label: an account *churns* at a cut-off when it has no activity (``ACTIVITY``: a viewer's
own actions, not sign-ups, sign-ins or points paid) in the ``horizon_days`` after it
(default 14); "event" below means such an activity. Features come from the ``window_days`` before the cut-off
(default 28), for the accounts with at least one event in that window:

days since the last event, events in the last 7 days, in days 8-14, in days 15-28,
active days, interactions (chat, like, share, gift, product click), paid orders, paid
cents, minutes watched, and days since the account's first event (tenure), capped at the
window: an uncapped tenure grows with the calendar, so a model trained weeks earlier would
see every account as older than any it learnt from.

Training uses the cut-off ``as_of - 2 x horizon`` (its labels end at ``as_of - horizon``);
validation the later cut-off ``as_of - horizon`` (labels end at ``as_of``), so the model is
always judged on a period it never saw. The AUC reported is ``roc_auc_score`` on that
validation cut-off. The same model then scores the accounts active in the window before
``as_of``: the probability that they have no event in the next ``horizon_days``.
Accounts idle for the whole window are not scored (they already count as churned).
The model is a logistic regression on log1p-transformed, standardised features.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import duckdb
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from livecircle.analytics.segments.lifecycle import INTERACTIONS, naive_utc

# What counts as activity: things a member does. Account events (sign-up, sign-in) and
# what the platform does for them (points paid) are not: an account created today for a
# member with a long history would otherwise look active whatever they do.
ACTIVITY: tuple[str, ...] = (
    "view_start", "view_end", "chat", "like", "share", "gift", "product_click", "cart_add",
    "order_placed", "order_paid", "follow", "community_join", "page_view", "replay_view",
)  # fmt: skip
HORIZON_DAYS = 14
WINDOW_DAYS = 28
FEATURES: tuple[str, ...] = (
    "idle_days",
    "events_7d",
    "events_8_14d",
    "events_older",
    "active_days",
    "interactions",
    "paid_orders",
    "paid_cents",
    "watch_minutes",
    "tenure_days",
)

_SQL = """
SELECT person_id,
       epoch($cut - max(ts) FILTER (WHERE ts < $cut)) / 86400.0,
       count(*) FILTER (WHERE ts >= $cut - INTERVAL 7 DAY AND ts < $cut),
       count(*) FILTER (WHERE ts >= $cut - INTERVAL 14 DAY AND ts < $cut - INTERVAL 7 DAY),
       count(*) FILTER (WHERE ts >= $cut - to_days($window) AND ts < $cut - INTERVAL 14 DAY),
       count(DISTINCT CAST(ts AS DATE)) FILTER (WHERE ts >= $cut - to_days($window) AND ts < $cut),
       count(*) FILTER (WHERE ts >= $cut - to_days($window) AND ts < $cut AND type IN ({interactions})),
       count(*) FILTER (WHERE ts >= $cut - to_days($window) AND ts < $cut AND type = 'order_paid'),
       coalesce(sum(amount) FILTER (WHERE ts >= $cut - to_days($window) AND ts < $cut
                                    AND type = 'order_paid'), 0),
       coalesce(sum(amount) FILTER (WHERE ts >= $cut - to_days($window) AND ts < $cut
                                    AND type = 'view_end'), 0) / 60.0,
       least(epoch($cut - min(ts)) / 86400.0, $window),
       count(*) FILTER (WHERE ts >= $cut) = 0
FROM person_events
WHERE tenant_id = $tenant AND person_id IS NOT NULL AND ts < $cut + to_days($horizon)
  AND type IN ({activity})
GROUP BY person_id
HAVING count(*) FILTER (WHERE ts >= $cut - to_days($window) AND ts < $cut) > 0
ORDER BY person_id
"""


@dataclass
class Snapshot:
    """Accounts active before a cut-off: ids, features and (if observed) churn labels."""

    ids: np.ndarray[Any, Any]
    features: np.ndarray[Any, Any]
    churned: np.ndarray[Any, Any]


@dataclass
class ChurnModel:
    as_of: datetime
    horizon_days: int
    train_cutoff: datetime
    valid_cutoff: datetime
    train_accounts: int = 0
    valid_accounts: int = 0
    train_churn_rate: float | None = None
    valid_churn_rate: float | None = None
    auc: float | None = None
    scores: dict[int, float] = field(default_factory=dict)
    note: str = ""


def snapshot(
    con: duckdb.DuckDBPyConnection,
    *,
    tenant_id: int,
    cutoff: datetime,
    horizon_days: int = HORIZON_DAYS,
    window_days: int = WINDOW_DAYS,
) -> Snapshot:
    """Features before ``cutoff`` and labels from the ``horizon_days`` after it."""
    sql = _SQL.format(
        interactions=", ".join(f"'{name}'" for name in INTERACTIONS),
        activity=", ".join(f"'{name}'" for name in ACTIVITY),
    )
    params = {"cut": naive_utc(cutoff), "tenant": tenant_id, "window": window_days, "horizon": horizon_days}
    rows = con.execute(sql, params).fetchall()
    ids = np.array([row[0] for row in rows], dtype=np.int64)
    features = np.array([row[1:-1] for row in rows], dtype=np.float64).reshape(len(rows), len(FEATURES))
    churned = np.array([bool(row[-1]) for row in rows], dtype=bool)
    return Snapshot(ids=ids, features=np.maximum(features, 0.0), churned=churned)


def train_churn_model(
    con: duckdb.DuckDBPyConnection,
    *,
    tenant_id: int,
    as_of: datetime,
    horizon_days: int = HORIZON_DAYS,
    window_days: int = WINDOW_DAYS,
) -> ChurnModel:
    """Train on the earlier cut-off, validate (AUC) on the later one, score accounts at ``as_of``.

    When a cut-off has only churners or only stayers there is nothing to learn or judge:
    the result then has no AUC, no scores and a ``note`` saying why.
    """
    when = naive_utc(as_of)
    valid_cut = when - timedelta(days=horizon_days)
    result = ChurnModel(
        as_of=when,
        horizon_days=horizon_days,
        train_cutoff=valid_cut - timedelta(days=horizon_days),
        valid_cutoff=valid_cut,
    )
    args = {"tenant_id": tenant_id, "horizon_days": horizon_days, "window_days": window_days}
    train = snapshot(con, cutoff=result.train_cutoff, **args)
    valid = snapshot(con, cutoff=valid_cut, **args)
    result.train_accounts, result.valid_accounts = len(train.ids), len(valid.ids)
    result.train_churn_rate = _rate(train.churned)
    result.valid_churn_rate = _rate(valid.churned)
    if len(set(train.churned.tolist())) < 2:
        result.note = "the training cut-off has only churners or only stayers"
        return result
    model = _model().fit(train.features, train.churned)
    if len(set(valid.churned.tolist())) == 2:
        result.auc = round(float(roc_auc_score(valid.churned, model.predict_proba(valid.features)[:, 1])), 4)
    else:
        result.note = "the validation cut-off has only churners or only stayers: no AUC"
    current = snapshot(con, cutoff=when, horizon_days=0, tenant_id=tenant_id, window_days=window_days)
    if len(current.ids):
        probabilities = model.predict_proba(current.features)[:, 1]
        result.scores = {int(i): round(float(p), 4) for i, p in zip(current.ids, probabilities, strict=True)}
    return result


def _model() -> Pipeline:
    return make_pipeline(FunctionTransformer(np.log1p), StandardScaler(), LogisticRegression(max_iter=1000))


def _rate(labels: np.ndarray[Any, Any]) -> float | None:
    return round(float(labels.mean()), 4) if len(labels) else None
