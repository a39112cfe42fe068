"""A/B comparison of two shows, or of two tactics (two sets of shows).

Per arm, the unit is a viewer (``person_events.viewer``: an account, or an anonymous id
until it signs up), the same people the dashboard's ``viewers`` counts:

- conversion = viewers who placed an order in the arm's shows / viewers, compared with
  the pooled two-proportion z-test (two-sided; equal to χ² without Yates) and a 95 %
  Wald interval of the difference B - A;
- a mean per viewer (``watch_seconds``: seconds watched as the dashboard counts them;
  ``paid_cents``: ``order_paid`` cents; 0 for a viewer with none), compared with Welch's t-test
  (unequal variances) and a 95 % interval on Welch-Satterthwaite degrees of freedom.

Small-sample guard (research §1.1): the z-test needs n·p > 5 and n·(1 - p) > 5 in both
arms; otherwise the result says ``enough_data: False`` and gives no verdict. A viewer who
saw both arms counts in both; ``overlap`` says how many did.

``sample_size_per_arm`` gives the viewers needed per arm to detect an absolute lift
(two-sided α = 0.05, power 0.8; pooled-variance formula): 10 %→11 % needs 14,751.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import numpy as np
from scipy import stats

from livecircle.analytics.segments.lifecycle import naive_utc
from livecircle.kit.clock import utcnow

ALPHA = 0.05
POWER = 0.8
MIN_EXPECTED = 5
MEAN_METRICS: dict[str, str] = {
    "watch_seconds": "seconds watched per viewer (view_end, or up to now while open)",
    "paid_cents": "cents paid per viewer (order_paid in the shows)",
}


@dataclass(frozen=True)
class Proportions:
    conversions_a: int
    n_a: int
    conversions_b: int
    n_b: int
    rate_a: float
    rate_b: float
    difference: float
    ci_low: float
    ci_high: float
    z: float | None
    p_value: float | None
    enough_data: bool
    significant: bool | None


@dataclass(frozen=True)
class Means:
    mean_a: float
    n_a: int
    mean_b: float
    n_b: int
    difference: float
    ci_low: float | None
    ci_high: float | None
    t: float | None
    df: float | None
    p_value: float | None
    enough_data: bool
    significant: bool | None


def two_proportions(
    conversions_a: int, n_a: int, conversions_b: int, n_b: int, *, alpha: float = ALPHA
) -> Proportions:
    """Pooled two-proportion z-test of B against A and the Wald CI of ``rate_b - rate_a``."""
    rate_a = conversions_a / n_a if n_a else 0.0
    rate_b = conversions_b / n_b if n_b else 0.0
    difference = rate_b - rate_a
    enough = _enough(conversions_a, n_a) and _enough(conversions_b, n_b)
    z = p_value = None
    low = high = difference
    if n_a and n_b:
        pooled = (conversions_a + conversions_b) / (n_a + n_b)
        se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
        if se_pooled > 0:
            z = difference / se_pooled
            p_value = float(2 * stats.norm.sf(abs(z)))
        margin = float(stats.norm.ppf(1 - alpha / 2)) * math.sqrt(
            rate_a * (1 - rate_a) / n_a + rate_b * (1 - rate_b) / n_b
        )
        low, high = difference - margin, difference + margin
    significant = (p_value < alpha) if enough and p_value is not None else None
    return Proportions(
        conversions_a, n_a, conversions_b, n_b, rate_a, rate_b,
        difference, low, high, z, p_value, enough, significant,
    )  # fmt: skip


def welch(values_a: Sequence[float], values_b: Sequence[float], *, alpha: float = ALPHA) -> Means:
    """Welch's t-test of mean(B) against mean(A) and the CI of the difference."""
    a = np.asarray(values_a, dtype=np.float64)
    b = np.asarray(values_b, dtype=np.float64)
    mean_a = float(a.mean()) if len(a) else 0.0
    mean_b = float(b.mean()) if len(b) else 0.0
    difference = mean_b - mean_a
    if len(a) < 2 or len(b) < 2:
        return Means(mean_a, len(a), mean_b, len(b), difference, None, None, None, None, None, False, None)
    var_a, var_b = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(var_a + var_b)
    if se == 0:
        return Means(
            mean_a, len(a), mean_b, len(b), difference, difference, difference, None, None, None, True, None
        )
    df = (var_a + var_b) ** 2 / (var_a**2 / (len(a) - 1) + var_b**2 / (len(b) - 1))
    t = difference / se
    p_value = float(2 * stats.t.sf(abs(t), df))
    margin = float(stats.t.ppf(1 - alpha / 2, df)) * se
    return Means(
        mean_a, len(a), mean_b, len(b), difference, difference - margin, difference + margin,
        t, float(df), p_value, True, p_value < alpha,
    )  # fmt: skip


def sample_size_per_arm(baseline: float, lift: float, *, alpha: float = ALPHA, power: float = POWER) -> int:
    """Viewers per arm to detect ``baseline`` → ``baseline + lift`` (absolute), two-sided."""
    p1, p2 = baseline, baseline + lift
    pooled = (p1 + p2) / 2
    z_alpha = float(stats.norm.ppf(1 - alpha / 2))
    z_beta = float(stats.norm.ppf(power))
    root = z_alpha * math.sqrt(2 * pooled * (1 - pooled)) + z_beta * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return math.ceil(root**2 / lift**2)


def _enough(conversions: int, n: int) -> bool:
    return conversions > MIN_EXPECTED and (n - conversions) > MIN_EXPECTED


_VIEWERS_SQL = """
WITH arm AS (
    SELECT * FROM person_events WHERE show_id IN (SELECT unnest($shows)) AND ts <= $until
), viewers AS (
    SELECT viewer, bool_or(type = 'order_placed') AS ordered,
           coalesce(sum(amount) FILTER (WHERE type = 'order_paid'), 0) AS paid
    FROM arm GROUP BY viewer HAVING bool_or(type = 'view_start')
), starts AS (
    SELECT show_id, json_extract_string(props, '$.session') AS session,
           any_value(viewer) AS viewer, min(ts) AS ts
    FROM arm WHERE type = 'view_start' GROUP BY 1, 2
), ends AS (
    SELECT show_id, json_extract_string(props, '$.session') AS session, max(amount) AS seconds
    FROM arm WHERE type = 'view_end' GROUP BY 1, 2
), watch AS (
    SELECT s.viewer, sum(coalesce(e.seconds, greatest(date_diff('second', s.ts, $until), 0))) AS seconds
    FROM starts s LEFT JOIN ends e USING (show_id, session) GROUP BY s.viewer
)
SELECT v.viewer, v.ordered, CASE WHEN $metric = 'paid_cents' THEN v.paid ELSE coalesce(w.seconds, 0) END
FROM viewers v LEFT JOIN watch w USING (viewer)
ORDER BY v.viewer
"""


def arm_viewers(
    con: duckdb.DuckDBPyConnection,
    show_ids: Sequence[int],
    *,
    metric: str = "watch_seconds",
    until: datetime | None = None,
) -> dict[str, tuple[bool, float]]:
    """``{viewer: (ordered, metric value)}`` for the viewers who opened one of ``show_ids``.

    Watch seconds follow the dashboard's definition (``metrics.DEFINITIONS``): per viewing
    (``props.session``) the ``view_end`` seconds, or up to ``until`` while it is open.
    """
    at = naive_utc(until or utcnow())
    params = {"shows": [int(i) for i in show_ids], "metric": metric, "until": at}
    rows = con.execute(_VIEWERS_SQL, params).fetchall()
    return {str(viewer): (bool(ordered), float(value)) for viewer, ordered, value in rows}


def compare_arms(
    con: duckdb.DuckDBPyConnection,
    shows_a: Sequence[int],
    shows_b: Sequence[int],
    *,
    metric: str = "watch_seconds",
    until: datetime | None = None,
) -> dict[str, Any]:
    """Conversion (z-test) and the mean ``metric`` per viewer (Welch) of arm B against arm A."""
    arm_a = arm_viewers(con, shows_a, metric=metric, until=until)
    arm_b = arm_viewers(con, shows_b, metric=metric, until=until)
    conversion = two_proportions(
        sum(ordered for ordered, _ in arm_a.values()),
        len(arm_a),
        sum(ordered for ordered, _ in arm_b.values()),
        len(arm_b),
    )
    means = welch([value for _, value in arm_a.values()], [value for _, value in arm_b.values()])
    return {
        "shows_a": list(shows_a),
        "shows_b": list(shows_b),
        "metric": metric,
        "conversion": conversion,
        "mean": means,
        "overlap": len(arm_a.keys() & arm_b.keys()),
    }
