"""Tags from the replica: evaluate the rules over ``person_events`` (no database writes).

Interest: per account and category, the shows watched (``view_start``, once per show) in
rooms of the category, the cards of its products opened (``product_click``) and its
products bought (``order_paid``; its product comes from the order's ``order_placed``).
Consumption: per account, paid cents, paid orders and the median paid order in the window.
Every tag carries a reason that gives the numbers it was decided on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from livecircle.analytics.segments.lifecycle import naive_utc
from livecircle.analytics.tags.schemas import (
    METRIC_LABELS,
    ConsumptionDefinition,
    InterestDefinition,
    parse_definition,
)

SOURCE_WORDS: dict[str, tuple[str, str]] = {
    "view_start": ("观看{c}直播 {n} 场", "watched {n} {c} show(s)"),
    "product_click": ("点击{c}商品 {n} 次", "opened {n} {c} product card(s)"),
    "order_paid": ("购买{c}商品 {n} 单", "bought {n} {c} order(s)"),
}


@dataclass(frozen=True)
class Rule:
    id: int | None
    name: str
    kind: str
    definition: dict[str, Any]


@dataclass(frozen=True)
class Tagging:
    user_id: int
    tag: str
    kind: str
    rule_id: int | None
    reason: str
    reason_en: str


_INTEREST_SQL = """
WITH placed AS (
    SELECT json_extract_string(props, '$.order_id') AS order_id,
           any_value(TRY_CAST(json_extract_string(props, '$.product_id') AS BIGINT)) AS product_id
    FROM events
    WHERE tenant_id = $tenant AND type = 'order_placed'
    GROUP BY 1
), recent AS (
    SELECT person_id, type, room_id, show_id, seq, props
    FROM person_events
    WHERE tenant_id = $tenant AND person_id IS NOT NULL
      AND type IN ('view_start', 'product_click', 'order_paid')
      AND ts > $as_of - to_days($days) AND ts <= $as_of
)
SELECT person_id, type, room_key, product_key, count(DISTINCT unit)
FROM (
    SELECT r.person_id, r.type,
           CASE WHEN r.type = 'view_start' THEN r.room_id END AS room_key,
           CASE WHEN r.type <> 'view_start'
                THEN coalesce(TRY_CAST(json_extract_string(r.props, '$.product_id') AS BIGINT), p.product_id)
           END AS product_key,
           -- a show watched counts once however often its socket reconnected
           CASE WHEN r.type = 'view_start' THEN coalesce(r.show_id, -r.seq) ELSE r.seq END AS unit
    FROM recent r
    LEFT JOIN placed p ON r.type = 'order_paid' AND p.order_id = json_extract_string(r.props, '$.order_id')
)
GROUP BY 1, 2, 3, 4
"""

_CONSUMPTION_SQL = """
SELECT person_id,
       coalesce(sum(amount) FILTER (WHERE type = 'order_paid'), 0),
       count(*) FILTER (WHERE type = 'order_paid'),
       median(amount) FILTER (WHERE type = 'order_paid')
FROM person_events
WHERE tenant_id = $tenant AND person_id IS NOT NULL AND ts > $as_of - to_days($days) AND ts <= $as_of
GROUP BY person_id
"""


def interest_counts(
    con: duckdb.DuckDBPyConnection,
    *,
    tenant_id: int,
    as_of: datetime,
    days: int,
    room_categories: Mapping[int, str],
    product_categories: Mapping[int, str],
) -> dict[int, dict[str, dict[str, int]]]:
    """``{account: {category: {source type: times}}}`` over the ``days`` before ``as_of``."""
    params = {"tenant": tenant_id, "as_of": naive_utc(as_of), "days": days}
    counts: dict[int, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    for person, type_, room_id, product_id, times in con.execute(_INTEREST_SQL, params).fetchall():
        if type_ == "view_start":
            category = room_categories.get(room_id) if room_id is not None else None
        else:
            category = product_categories.get(product_id) if product_id is not None else None
        if category:
            counts[int(person)][category][type_] += int(times)
    return counts


def consumption_metrics(
    con: duckdb.DuckDBPyConnection, *, tenant_id: int, as_of: datetime, days: int
) -> dict[int, dict[str, int | None]]:
    """``{account: {spend_cents, paid_orders, median_order_cents}}`` for accounts active in the window."""
    params = {"tenant": tenant_id, "as_of": naive_utc(as_of), "days": days}
    rows = con.execute(_CONSUMPTION_SQL, params).fetchall()
    return {
        int(person): {
            "spend_cents": int(spend),
            "paid_orders": int(orders),
            "median_order_cents": None if median is None else round(float(median)),
        }
        for person, spend, orders, median in rows
    }


def evaluate(
    con: duckdb.DuckDBPyConnection,
    rules: Sequence[Rule],
    *,
    tenant_id: int,
    as_of: datetime,
    room_categories: Mapping[int, str],
    product_categories: Mapping[int, str],
) -> list[Tagging]:
    """Every tag the rules give, with its reason; one tag per account and name (the first rule wins)."""
    tags: dict[tuple[int, str], Tagging] = {}
    for rule in rules:
        definition = parse_definition(rule.kind, rule.definition)
        if isinstance(definition, InterestDefinition):
            counts = interest_counts(
                con,
                tenant_id=tenant_id,
                as_of=as_of,
                days=definition.window_days,
                room_categories=room_categories,
                product_categories=product_categories,
            )
            found = _interest_tags(rule, definition, counts)
        else:
            metrics = consumption_metrics(con, tenant_id=tenant_id, as_of=as_of, days=definition.window_days)
            found = _consumption_tags(rule, definition, metrics)
        for tagging in found:
            tags.setdefault((tagging.user_id, tagging.tag), tagging)
    return sorted(tags.values(), key=lambda t: (t.user_id, t.tag))


def _interest_tags(
    rule: Rule, definition: InterestDefinition, counts: Mapping[int, Mapping[str, Mapping[str, int]]]
) -> list[Tagging]:
    tags = []
    for person, categories in counts.items():
        scored = []
        for category, sources in categories.items():
            score = sum(definition.weights.get(source, 0.0) * times for source, times in sources.items())  # type: ignore[call-overload]
            if score >= definition.min_score and score > 0:
                scored.append((score, category, sources))
        scored.sort(key=lambda item: (-item[0], item[1]))
        for score, category, sources in scored[: definition.max_tags]:
            zh, en = _interest_reason(definition, category, sources, score)
            tags.append(Tagging(person, f"{definition.prefix}:{category}", rule.kind, rule.id, zh, en))
    return tags


def _interest_reason(
    definition: InterestDefinition, category: str, sources: Mapping[str, int], score: float
) -> tuple[str, str]:
    used = [(source, sources[source]) for source in SOURCE_WORDS if sources.get(source)]
    zh_parts = [SOURCE_WORDS[s][0].format(c=category, n=n) for s, n in used]
    en_parts = [SOURCE_WORDS[s][1].format(c=category, n=n) for s, n in used]
    sum_text = " + ".join(f"{n}×{_num(definition.weights.get(s, 0.0))}" for s, n in used)  # type: ignore[call-overload]
    days, floor = definition.window_days, _num(definition.min_score)
    zh = f"近{days}天{'、'.join(zh_parts)}；兴趣得分 {sum_text} = {_num(score)} ≥ {floor}"
    en = (
        f"In the last {days} days: {', '.join(en_parts)}; interest score {sum_text} = {_num(score)} ≥ {floor}"
    )
    return zh, en


def _consumption_tags(
    rule: Rule, definition: ConsumptionDefinition, metrics: Mapping[int, Mapping[str, int | None]]
) -> list[Tagging]:
    tags = []
    for person, values in metrics.items():
        value = values[definition.metric]
        if value is None:
            continue
        reached = [band for band in definition.bands if value >= band.min]
        if not reached:
            continue
        band = reached[-1]
        zh, en = _consumption_reason(definition, values, band.min)
        tags.append(Tagging(person, band.tag, rule.kind, rule.id, zh, en))
    return tags


def _consumption_reason(
    definition: ConsumptionDefinition, values: Mapping[str, int | None], floor: int
) -> tuple[str, str]:
    metric, days = definition.metric, definition.window_days
    label_zh, label_en = METRIC_LABELS[metric]
    value = int(values[metric] or 0)
    if metric == "paid_orders":
        shown, shown_floor = f"{value} 单", f"{floor} 单"
        shown_en, floor_en = f"{value}", f"{floor}"
    else:
        shown = shown_en = _yuan(value)
        shown_floor = floor_en = _yuan(floor)
    zh = f"近{days}天{label_zh} {shown}（≥ {shown_floor}）"
    en = f"{label_en.capitalize()} in the last {days} days: {shown_en} (≥ {floor_en})"
    if metric == "median_order_cents":
        zh += f"，共 {values['paid_orders']} 单"
        en += f", over {values['paid_orders']} order(s)"
    return zh, en


def _yuan(cents: int) -> str:
    return f"¥{cents / 100:,.2f}"


def _num(value: float) -> str:
    return f"{value:g}"
