"""What an alert rule measures: a show's figures over the last ``window`` seconds.

Rates over a window divide by the viewers present in it (the mean of the online samples in
the window, or the latest sample when the window is shorter than the sampling), so a dip
shows within one window instead of being diluted by the whole show.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb

from livecircle.analytics.metrics import ratio, show_figures

METRICS: dict[str, str] = {
    "interaction_rate": "(comments + likers + shares) in the window / mean online in the window",
    "online": "viewers online at the latest sample",
    "online_vs_peak": "online now / the show's peak so far",
    "comments_per_minute": "danmaku lines per minute over the window",
    "likes_per_minute": "like taps per minute over the window",
    "gifts_per_minute": "gifts per minute over the window",
    "orders_per_minute": "orders per minute over the window",
    "click_to_order": "clickers who ordered / clickers, whole show",
    "payment_success": "payments succeeded / settled, whole show (judged after 5 settled)",
}

_WINDOW = """
SELECT
    count(*) FILTER (WHERE type = 'chat'),
    count(DISTINCT viewer) FILTER (WHERE type = 'like'),
    coalesce(sum(amount) FILTER (WHERE type = 'like'), 0),
    count(*) FILTER (WHERE type = 'share'),
    count(*) FILTER (WHERE type = 'gift'),
    count(*) FILTER (WHERE type = 'order_placed'),
    avg(amount) FILTER (WHERE type = 'online_sample')
FROM person_events WHERE show_id = ? AND ts > ? AND ts <= ?
"""


_MOST_ONLINE = """
SELECT show_id, max(amount) FROM person_events
WHERE type = 'online_sample' AND ts > ? AND ts <= ? AND list_contains(?, show_id)
GROUP BY show_id
"""


def most_online(
    con: duckdb.DuckDBPyConnection, show_ids: list[int], *, now: datetime, seconds: int
) -> dict[int, int]:
    """The most viewers sampled in each show over (now - seconds, now], for the shows with a
    sample in it: one query for every live show, so the judge skips the empty ones cheaply."""
    start = now - timedelta(seconds=seconds)
    rows = con.execute(_MOST_ONLINE, [start, now, show_ids]).fetchall()
    return {int(show_id): int(most or 0) for show_id, most in rows}


def window_figures(
    con: duckdb.DuckDBPyConnection, show_id: int, *, now: datetime, seconds: int
) -> dict[str, float]:
    """Every alert metric for ``show_id`` over (now - seconds, now]; a metric with nothing to
    divide by is left out (never judged)."""
    start = now - timedelta(seconds=seconds)
    row = con.execute(_WINDOW, [show_id, start, now]).fetchall()[0]
    comments, likers, taps, shares, gifts, orders, mean_online = row
    whole = show_figures(con, show_id, until=now)
    if mean_online is None:  # a window shorter than the sampling: the latest sample stands
        mean_online = whole["online"]
    minutes = seconds / 60
    out: dict[str, float] = {
        "online": whole["online"],
        "mean_online": float(mean_online or 0),
        "comments_per_minute": comments / minutes,
        "likes_per_minute": taps / minutes,
        "gifts_per_minute": gifts / minutes,
        "orders_per_minute": orders / minutes,
    }
    rate = ratio(comments + likers + shares, round(mean_online)) if mean_online else None
    optional = {
        "interaction_rate": rate,
        "online_vs_peak": ratio(whole["online"], whole["peak"]),
        "click_to_order": whole["click_to_order"],
        "payment_success": whole["payment_success"]
        if whole["paid_orders"] + whole["payments_failed"] >= 5
        else None,
    }
    out.update({name: value for name, value in optional.items() if value is not None})
    return out
