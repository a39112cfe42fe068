"""The live dashboard's figures for one show, computed from its events in the replica.

Every figure is defined in ``DEFINITIONS`` (shown next to it on the dashboard and in the
report), and none counts anything twice: a viewer is a person (an account, or an anonymous
id until it signs up), a like is a viewer who liked (taps are shown separately), a
conversion is a share of people, never a ratio of unrelated counts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import duckdb

from livecircle.kit.clock import utcnow

DEFINITIONS: dict[str, str] = {
    "online": "viewers on the room's sockets at the latest sample (every few seconds, all nodes)",
    "peak": "the highest sampled online count during the show",
    "viewers": "different people who opened the show (an account, or an anonymous viewer)",
    "watch_seconds": "seconds watched, summed over every viewing (open viewings count up to now)",
    "avg_watch_seconds": "watch_seconds / viewers",
    "comments": "danmaku lines stored for the show",
    "likes": "viewers who liked at least once (each viewer counts once however often they tap)",
    "like_taps": "every like tap",
    "likes_per_minute": "like taps in the last 60 seconds",
    "shares": "shares of the room, show or a product",
    "interaction_rate": "(comments + likes + shares) / viewers, likes counted once per viewer",
    "gifts": "gifts sent (a combo of n counts n)",
    "gift_coins": "coins spent on gifts",
    "product_clicks": "product card opens (once per viewer per card)",
    "clickers": "different viewers who opened a product card",
    "click_to_order": "clickers who then placed an order / clickers",
    "orders": "orders placed in the show",
    "gmv_cents": "value of the orders placed, in cents (before cancellations)",
    "paid_orders": "orders paid",
    "paid_cents": "value of the orders paid, in cents",
    "payment_success": "payments that succeeded / payments that succeeded or failed",
    "new_followers": "viewers who followed the host during the show",
    "new_members": "viewers who joined a community from the show",
}

_COUNTS = """
SELECT
    count(DISTINCT viewer) FILTER (WHERE type = 'view_start'),
    count(*) FILTER (WHERE type = 'chat'),
    count(DISTINCT viewer) FILTER (WHERE type = 'like'),
    coalesce(sum(amount) FILTER (WHERE type = 'like'), 0),
    count(*) FILTER (WHERE type = 'share'),
    coalesce(sum(coalesce(TRY_CAST(json_extract_string(props, '$.count') AS BIGINT), 1))
             FILTER (WHERE type = 'gift'), 0),
    coalesce(sum(amount) FILTER (WHERE type = 'gift'
                                 AND json_extract_string(props, '$.currency') = 'coin'), 0),
    count(*) FILTER (WHERE type = 'product_click'),
    count(DISTINCT viewer) FILTER (WHERE type = 'product_click'),
    count(*) FILTER (WHERE type = 'order_placed'),
    coalesce(sum(amount) FILTER (WHERE type = 'order_placed'), 0),
    count(*) FILTER (WHERE type = 'order_paid'),
    coalesce(sum(amount) FILTER (WHERE type = 'order_paid'), 0),
    count(*) FILTER (WHERE type = 'payment_failed'),
    count(*) FILTER (WHERE type = 'follow'),
    count(*) FILTER (WHERE type = 'community_join'),
    coalesce(max(amount) FILTER (WHERE type = 'online_sample'), 0),
    coalesce(sum(amount) FILTER (WHERE type = 'like' AND ts > ?), 0)
FROM person_events WHERE show_id = ? AND ts <= ?
"""
_COUNT_NAMES = (
    "viewers",
    "comments",
    "likes",
    "like_taps",
    "shares",
    "gifts",
    "gift_coins",
    "product_clicks",
    "clickers",
    "orders",
    "gmv_cents",
    "paid_orders",
    "paid_cents",
    "payments_failed",
    "new_followers",
    "new_members",
    "peak",
    "likes_per_minute",
)

_ONLINE = """
SELECT amount FROM events WHERE show_id = ? AND type = 'online_sample' AND ts <= ?
ORDER BY ts DESC LIMIT 1
"""

# Viewings: a view_start and its view_end share props.session; an open one counts to `until`.
_WATCH = """
WITH starts AS (
    SELECT json_extract_string(props, '$.session') AS session, min(ts) AS ts
    FROM events WHERE show_id = ? AND type = 'view_start' AND ts <= ? GROUP BY 1
), ends AS (
    SELECT json_extract_string(props, '$.session') AS session, max(amount) AS seconds
    FROM events WHERE show_id = ? AND type = 'view_end' AND ts <= ? GROUP BY 1
)
SELECT coalesce(sum(coalesce(ends.seconds, greatest(date_diff('second', starts.ts, ?), 0))), 0)
FROM starts LEFT JOIN ends USING (session)
"""

_CONVERTED_CLICKERS = """
SELECT count(*) FROM (
    SELECT viewer, min(ts) AS first_click FROM person_events
    WHERE show_id = ? AND type = 'product_click' AND ts <= ? GROUP BY viewer
) c WHERE EXISTS (
    SELECT 1 FROM person_events o WHERE o.show_id = ? AND o.type = 'order_placed'
      AND o.viewer = c.viewer AND o.ts >= c.first_click AND o.ts <= ?
)
"""


def show_figures(
    con: duckdb.DuckDBPyConnection, show_id: int, *, until: datetime | None = None
) -> dict[str, Any]:
    """Every dashboard figure for ``show_id`` as of ``until`` (default now)."""
    at = _naive(until or utcnow())
    row = con.execute(_COUNTS, [at - timedelta(seconds=60), show_id, at]).fetchall()[0]
    figures: dict[str, Any] = {name: int(value or 0) for name, value in zip(_COUNT_NAMES, row, strict=True)}
    online = con.execute(_ONLINE, [show_id, at]).fetchall()
    figures["online"] = int(online[0][0]) if online else 0
    figures["watch_seconds"] = int(con.execute(_WATCH, [show_id, at, show_id, at, at]).fetchall()[0][0])
    converted = con.execute(_CONVERTED_CLICKERS, [show_id, at, show_id, at]).fetchall()
    figures["converted_clickers"] = int(converted[0][0])
    _add_ratios(figures)
    return figures


def _add_ratios(f: dict[str, Any]) -> None:
    viewers = f["viewers"]
    f["avg_watch_seconds"] = round(f["watch_seconds"] / viewers, 1) if viewers else 0.0
    f["interaction_rate"] = ratio(f["comments"] + f["likes"] + f["shares"], viewers)
    f["click_to_order"] = ratio(f["converted_clickers"], f["clickers"])
    f["payment_success"] = ratio(f["paid_orders"], f["paid_orders"] + f["payments_failed"])


def ratio(part: int, whole: int) -> float | None:
    """``part / whole`` to 4 places, or None when there is nothing to divide by."""
    return round(part / whole, 4) if whole else None


def _naive(value: datetime) -> datetime:
    return value.replace(tzinfo=None) if value.tzinfo is not None else value
