"""K-Means clusters of accounts on RFM plus engagement, with readable centroids.

Features per account with any event in the ``days`` before ``as_of`` (default 90):

- ``recency_days``  days since the account's last event of any kind,
- ``paid_orders``   orders paid in the window,
- ``paid_cents``    cents paid in the window,
- ``interactions``  chat, like, share, gift and product-click events in the window,
- ``watch_minutes`` minutes watched in the window (``view_end`` seconds / 60).

Each feature is ``log1p``-transformed (money and counts are heavy-tailed) and standardised;
K-Means runs with ``n_init=10`` and ``random_state=0`` explicitly (scikit-learn's
``n_init='auto'`` is a single run since 1.4), on rows ordered by account id, so two runs
give the same clusters. The silhouette is computed on at most 10,000 points (a fixed
sample). Centroids are reported back in original units (``expm1`` of the centre in log
space: a typical member, near the cluster's geometric mean); a cluster's label names the
features whose centroid is half a standard deviation or more from the mean.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

from livecircle.analytics.segments.lifecycle import INTERACTIONS, naive_utc

FEATURES: tuple[str, ...] = ("recency_days", "paid_orders", "paid_cents", "interactions", "watch_minutes")
# feature -> (zh when high, zh when low, en when high, en when low); recency high = long idle
WORDS: dict[str, tuple[str, str, str, str]] = {
    "recency_days": ("久未活跃", "近期活跃", "long idle", "recently active"),
    "paid_orders": ("常购", "少购", "frequent buyers", "rare buyers"),
    "paid_cents": ("高消费", "低消费", "big spenders", "small spenders"),
    "interactions": ("高互动", "低互动", "highly interactive", "quiet"),
    "watch_minutes": ("长观看", "短观看", "long watchers", "short watchers"),
}
DEFAULT_K = 4
N_INIT = 10
RANDOM_STATE = 0
SILHOUETTE_SAMPLE = 10_000
LEVEL = 0.5  # standard deviations from the mean that make a feature worth naming

_FEATURE_SQL = """
SELECT person_id,
       epoch(?::TIMESTAMP - max(ts)) / 86400.0,
       count(*) FILTER (WHERE type = 'order_paid'),
       coalesce(sum(amount) FILTER (WHERE type = 'order_paid'), 0),
       count(*) FILTER (WHERE type IN ({interactions})),
       coalesce(sum(amount) FILTER (WHERE type = 'view_end'), 0) / 60.0
FROM person_events
WHERE tenant_id = ? AND person_id IS NOT NULL
  AND ts <= ?::TIMESTAMP AND ts > ?::TIMESTAMP - to_days(?)
GROUP BY person_id
ORDER BY person_id
"""


@dataclass
class Cluster:
    index: int
    size: int
    share: float
    centroid: dict[str, float]
    label: str
    label_en: str


@dataclass
class Clustering:
    k: int
    accounts: int
    silhouette: float | None
    clusters: list[Cluster] = field(default_factory=list)
    assignments: dict[int, int] = field(default_factory=dict)
    note: str = ""


def account_features(
    con: duckdb.DuckDBPyConnection, *, tenant_id: int, as_of: datetime, days: int = 90
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(account ids, feature matrix in ``FEATURES`` order), ordered by account id."""
    when = naive_utc(as_of)
    sql = _FEATURE_SQL.format(interactions=", ".join(f"'{name}'" for name in INTERACTIONS))
    rows = con.execute(sql, [when, tenant_id, when, when, days]).fetchall()
    ids = np.array([row[0] for row in rows], dtype=np.int64)
    matrix = np.array([row[1:] for row in rows], dtype=np.float64).reshape(len(rows), len(FEATURES))
    return ids, np.maximum(matrix, 0.0)


def cluster_accounts(
    con: duckdb.DuckDBPyConnection, *, tenant_id: int, as_of: datetime, k: int = DEFAULT_K, days: int = 90
) -> Clustering:
    """K-Means with ``k`` clusters (2-12); fewer accounts than ``k`` gives no clusters and a note."""
    k = max(2, min(int(k), 12))
    ids, raw = account_features(con, tenant_id=tenant_id, as_of=as_of, days=days)
    if len(ids) <= k:
        return Clustering(k=k, accounts=len(ids), silhouette=None, note="too few accounts for this k")
    logged = np.log1p(raw)
    scaler = StandardScaler().fit(logged)
    scaled = scaler.transform(logged)
    model = KMeans(n_clusters=k, n_init=N_INIT, random_state=RANDOM_STATE).fit(scaled)
    labels = model.labels_
    silhouette = _silhouette(scaled, labels)
    clusters = [_describe(index, model.cluster_centers_[index], labels, scaler) for index in range(k)]
    clusters.sort(key=lambda cluster: -cluster.size)
    assignments = dict(zip(ids.tolist(), labels.tolist(), strict=True))
    return Clustering(
        k=k, accounts=len(ids), silhouette=silhouette, clusters=clusters, assignments=assignments
    )


def _silhouette(scaled: np.ndarray[Any, Any], labels: np.ndarray[Any, Any]) -> float | None:
    if len(set(labels.tolist())) < 2:
        return None
    size = min(SILHOUETTE_SAMPLE, len(labels))
    return round(float(silhouette_score(scaled, labels, sample_size=size, random_state=RANDOM_STATE)), 4)


def _describe(
    index: int, center: np.ndarray[Any, Any], labels: np.ndarray[Any, Any], scaler: StandardScaler
) -> Cluster:
    size = int((labels == index).sum())
    original = np.expm1(scaler.inverse_transform(center.reshape(1, -1))[0])
    centroid = {
        name: round(float(max(value, 0.0)), 2) for name, value in zip(FEATURES, original, strict=True)
    }
    zh, en = [], []
    for name, z in zip(FEATURES, center, strict=True):
        if abs(z) >= LEVEL:
            high_zh, low_zh, high_en, low_en = WORDS[name]
            zh.append(high_zh if z > 0 else low_zh)
            en.append(high_en if z > 0 else low_en)
    return Cluster(
        index=index,
        size=size,
        share=round(size / len(labels), 4),
        centroid=centroid,
        label="·".join(zh) or "普通用户",
        label_en=", ".join(en) or "average",
    )
