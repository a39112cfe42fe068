"""Segments on a planted DuckDB replica: golden values worked out by hand.

No server: each test builds a replica with ``store.connect()`` and plants events with
``store.load_rows``, exactly the rows the event table would hold.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from livecircle.analytics import store
from livecircle.analytics.segments import churn, clusters, cohorts, lifecycle, rfm
from livecircle.kit.tracking import event_row

AS_OF = datetime(2026, 3, 2, 12, 0)  # a Monday, naive UTC like the replica
_seq = itertools.count(1)


def plant(con: duckdb.DuckDBPyConnection, *events: tuple[Any, ...], tenant_id: int = 1) -> None:
    """``(type, user_id, ts, amount?, props?)`` tuples as event rows."""
    rows = []
    for type_, user_id, ts, *rest in events:
        amount = rest[0] if rest else None
        props = rest[1] if len(rest) > 1 else None
        row = event_row(type_, tenant_id=tenant_id, user_id=user_id, ts=ts, amount=amount, props=props)
        rows.append(row | {"seq": next(_seq)})
    store.load_rows(con, rows)


def ago(days: float, hours: float = 0) -> datetime:
    return AS_OF - timedelta(days=days, hours=hours)


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    connection = store.connect()
    yield connection
    connection.close()


def test_lifecycle_rules_in_order(con: duckdb.DuckDBPyConnection) -> None:
    plant(
        con,
        ("view_start", 1, ago(2)),  # new
        ("view_start", 2, ago(20)),
        ("chat", 2, ago(3)),  # engaged: old account, active, interacted, no order
        ("view_start", 3, ago(20)),
        ("order_paid", 3, ago(5), 1000),  # converted: one paid order
        ("order_paid", 4, ago(40), 500),
        ("order_paid", 4, ago(10), 700),  # loyal: 2 paid, the last within 60 days
        ("order_paid", 5, ago(70), 500),
        ("order_paid", 5, ago(65), 500),
        ("view_start", 5, ago(3)),  # converted: 2 paid but the last 65 days ago
        ("view_start", 6, ago(20)),
        ("view_start", 6, AS_OF + timedelta(days=1)),  # silent: the event after as_of is ignored
        ("view_start", 7, ago(31)),  # churn risk: idle > 30 days
        ("order_paid", 8, ago(14), 900),
        ("order_paid", 8, ago(14, 1), 900),  # silent beats loyal: idle exactly 14 days
        ("view_start", 9, ago(1)),  # new, but its churn score is 0.7
        ("view_start", 10, ago(40)),
        ("view_start", 12, AS_OF + timedelta(hours=1)),  # only after as_of: absent
    )
    plant(con, ("view_start", 13, ago(1)), tenant_id=2)  # another tenant: absent
    # An anonymous viewer merged into account 11: its views count for the account.
    anon = event_row("view_start", tenant_id=1, anon_id="anon-11", ts=ago(1)) | {"seq": next(_seq)}
    store.load_rows(
        con, [anon, event_row("view_start", tenant_id=1, anon_id="lurker", ts=ago(1)) | {"seq": next(_seq)}]
    )
    con.execute("INSERT INTO identities VALUES ('anon-11', 11)")

    stages = lifecycle.lifecycle_stages(
        con, tenant_id=1, as_of=AS_OF, churn_scores={9: 0.7, 10: 0.1, 1: 0.49}
    )

    assert stages == {
        1: "new",
        2: "engaged",
        3: "converted",
        4: "loyal",
        5: "converted",
        6: "silent",
        7: "churn_risk",
        8: "silent",
        9: "churn_risk",
        10: "churn_risk",
        11: "new",
    }
    assert lifecycle.stage_mix(stages) == {
        "new": 2,
        "engaged": 1,
        "converted": 2,
        "loyal": 1,
        "silent": 2,
        "churn_risk": 3,
    }
    # Without scores, 9 is simply new.
    assert lifecycle.lifecycle_stages(con, tenant_id=1, as_of=AS_OF)[9] == "new"


def test_rfm_scores_and_tiers_by_hand(con: duckdb.DuckDBPyConnection) -> None:
    # user: (orders, days since the last, cents of each order)
    buyers = {1: (1, 50, 9000), 2: (2, 40, 100), 3: (3, 30, 100), 4: (4, 20, 100), 5: (5, 1, 100)}
    for user, (orders, days, cents) in buyers.items():
        plant(con, *[("order_paid", user, ago(days + i, 1), cents) for i in range(orders)])
    plant(con, ("order_placed", 6, ago(1), 5000), ("view_start", 7, ago(1)))  # not buyers
    plant(con, ("order_paid", 8, ago(1), 5000), tenant_id=2)

    rows = {row["user_id"]: row for row in rfm.rfm_rows(con, tenant_id=1, as_of=AS_OF)}

    assert set(rows) == {1, 2, 3, 4, 5}
    # monetary: 9000, 200, 300, 400, 500 cents; recency floors whole days (1 h past 50 d = 50)
    assert [
        (rows[u]["recency_days"], rows[u]["frequency"], rows[u]["monetary_cents"]) for u in range(1, 6)
    ] == [
        (50, 1, 9000),
        (40, 2, 200),
        (30, 3, 300),
        (20, 4, 400),
        (1, 5, 500),
    ]
    assert [(rows[u]["r"], rows[u]["f"], rows[u]["m"]) for u in range(1, 6)] == [
        (1, 1, 5),
        (2, 2, 1),
        (3, 3, 2),
        (4, 4, 3),
        (5, 5, 4),
    ]
    assert [rows[u]["tier"] for u in range(1, 6)] == [
        "重要挽留",
        "一般挽留",
        "一般价值",
        "重要价值",
        "重要价值",
    ]
    summary = {row["tier"]: row for row in rfm.tier_summary(con, tenant_id=1, as_of=AS_OF)}
    assert list(summary) == list(rfm.TIER_ORDER)
    assert summary["重要价值"]["buyers"] == 2
    assert summary["重要价值"]["monetary_cents"] == 900
    assert summary["重要价值"]["avg_recency_days"] == 10.5
    assert summary["重要价值"]["share"] == 0.4
    assert summary["重要发展"]["buyers"] == 0


def test_rfm_is_deterministic_with_ties(con: duckdb.DuckDBPyConnection) -> None:
    plant(con, *[("order_paid", user, ago(3), 100) for user in range(1, 11)])  # ten identical buyers
    first = rfm.rfm_arrays(con, tenant_id=1, as_of=AS_OF)
    second = rfm.rfm_arrays(con, tenant_id=1, as_of=AS_OF)
    assert all(np.array_equal(first[name], second[name]) for name in first)
    by_user = dict(zip(first["user_id"].tolist(), first["f"].tolist(), strict=True))
    # Ties go by account id: two per quintile, the lowest ids first.
    assert by_user == {1: 1, 2: 1, 3: 2, 4: 2, 5: 3, 6: 3, 7: 4, 8: 4, 9: 5, 10: 5}


def _plant_three_groups(con: duckdb.DuckDBPyConnection) -> None:
    events: list[tuple[Any, ...]] = []
    for user in range(1, 21):  # big spenders: 3 orders of 100 yuan, 10 chats, 60 minutes, last seen 1 day ago
        events += [("order_paid", user, ago(1), 10_000)] * 3 + [("chat", user, ago(1))] * 10
        events.append(("view_end", user, ago(1), 3600))
    for user in range(21, 41):  # lapsed: one short visit 60 days ago
        events.append(("view_end", user, ago(60), 60))
    for user in range(41, 61):  # watchers: 100 minutes, 50 likes, 2 days ago, no orders
        events += [("view_end", user, ago(2), 1200)] * 5 + [("like", user, ago(2), 1)] * 50
    plant(con, *events)


def test_kmeans_clusters_are_deterministic_and_readable(con: duckdb.DuckDBPyConnection) -> None:
    _plant_three_groups(con)

    first = clusters.cluster_accounts(con, tenant_id=1, as_of=AS_OF, k=3)
    second = clusters.cluster_accounts(con, tenant_id=1, as_of=AS_OF, k=3)

    assert first.assignments == second.assignments
    assert [c.centroid for c in first.clusters] == [c.centroid for c in second.clusters]
    assert first.accounts == 60
    assert first.silhouette is not None
    assert first.silhouette > 0.9
    by_member = {min(u for u, c in first.assignments.items() if c == cl.index): cl for cl in first.clusters}
    spenders, lapsed, watchers = by_member[1], by_member[21], by_member[41]
    assert (spenders.size, lapsed.size, watchers.size) == (20, 20, 20)
    # Identical members: the centroid is their features, back in original units.
    assert spenders.centroid == {
        "recency_days": 1.0,
        "paid_orders": 3.0,
        "paid_cents": 30000.0,
        "interactions": 10.0,
        "watch_minutes": 60.0,
    }
    assert lapsed.centroid["recency_days"] == 60.0
    assert watchers.centroid["interactions"] == 50.0
    assert "高消费" in spenders.label
    assert "big spenders" in spenders.label_en
    assert "久未活跃" in lapsed.label
    assert "高互动" in watchers.label


def test_kmeans_with_too_few_accounts_says_so(con: duckdb.DuckDBPyConnection) -> None:
    plant(con, ("view_start", 1, ago(1)), ("view_start", 2, ago(1)))
    result = clusters.cluster_accounts(con, tenant_id=1, as_of=AS_OF, k=4)
    assert result.clusters == []
    assert result.silhouette is None
    assert result.note


def _plant_churn_world(con: duckdb.DuckDBPyConnection) -> dict[int, bool]:
    """Steady and occasional users plus a cohort whose activity decays, then stops.

    Returns the truth at ``AS_OF``: user -> no event in the 14 days after it.
    """
    rng = np.random.default_rng(7)
    start, end = AS_OF - timedelta(days=100), AS_OF + timedelta(days=14)
    days = (end - start).days
    events: list[tuple[Any, ...]] = []

    def active_on(user: int, probability: np.ndarray) -> None:
        for day in np.flatnonzero(rng.random(days) < probability):
            ts = start + timedelta(days=int(day), seconds=int(rng.integers(0, 86_400)))
            events.append((str(rng.choice(["view_start", "chat", "like"])), user, ts))

    for user in range(1, 151):  # steady
        active_on(user, np.full(days, 0.6))
    for user in range(151, 201):  # occasional: churn by chance
        active_on(user, np.full(days, 0.12))
    for user in range(201, 401):  # decaying: 0.6 a day, falling to 0.05 over 3 weeks, then nothing
        stop = int(rng.integers(40, days))
        probability = np.zeros(days)
        probability[: stop - 21] = 0.6
        probability[stop - 21 : stop] = np.linspace(0.6, 0.05, 21)
        active_on(user, probability)
    plant(con, *events)
    future = {user for type_, user, ts in events if AS_OF <= ts < end}
    return {user: user not in future for user in range(1, 401)}


def test_churn_score_ranks_a_decaying_cohort(con: duckdb.DuckDBPyConnection) -> None:
    truth = _plant_churn_world(con)

    model = churn.train_churn_model(con, tenant_id=1, as_of=AS_OF)

    assert model.valid_cutoff == AS_OF - timedelta(days=14)
    assert model.train_cutoff == AS_OF - timedelta(days=28)
    assert model.train_accounts > 200
    assert model.valid_accounts > 200
    assert model.auc is not None
    assert model.auc >= 0.75
    # The scores at as_of, judged against what the planted world did next (never seen).
    scored = sorted(model.scores)
    auc_now = roc_auc_score([truth[u] for u in scored], [model.scores[u] for u in scored])
    assert auc_now >= 0.75
    # A score >= 0.5 puts an account in churn_risk.
    stages = lifecycle.lifecycle_stages(con, tenant_id=1, as_of=AS_OF, churn_scores=model.scores)
    risky = [u for u, s in model.scores.items() if s >= 0.5]
    assert risky
    assert all(stages[u] == "churn_risk" for u in risky)
    # Calibrated, not saturated: about as many flagged as really leave (tenure drift once flagged 98 %).
    churners = sum(truth[u] for u in scored)
    assert churners / 2 <= len(risky) <= churners * 2


def test_churn_model_without_churners_has_no_auc(con: duckdb.DuckDBPyConnection) -> None:
    plant(con, *[("view_start", user, ago(day)) for user in (1, 2, 3) for day in range(0, 60)])
    model = churn.train_churn_model(con, tenant_id=1, as_of=AS_OF)
    assert model.auc is None
    assert model.scores == {}
    assert model.note


def test_cohort_table_uses_calendar_weeks(con: duckdb.DuckDBPyConnection) -> None:
    as_of = datetime(2026, 3, 4, 12)  # Wednesday; Mondays: Feb 16, Feb 23, Mar 2
    plant(
        con,
        ("view_start", 1, datetime(2026, 2, 16, 10)),
        ("chat", 1, datetime(2026, 2, 24, 9)),
        ("like", 1, datetime(2026, 3, 3, 9)),
        # Sunday 23:00 then Monday 00:30: 90 minutes apart, yet the next calendar week.
        ("view_start", 2, datetime(2026, 2, 22, 23)),
        ("view_start", 2, datetime(2026, 2, 23, 0, 30)),
        ("view_start", 3, datetime(2026, 2, 25, 8)),
        ("view_start", 3, datetime(2026, 3, 5, 8)),  # after as_of: ignored
        ("view_start", 4, datetime(2026, 3, 3, 8)),
        ("view_start", 5, datetime(2026, 2, 2, 8)),  # cohort before the table's weeks
        ("view_start", 5, datetime(2026, 2, 17, 8)),
    )

    table = cohorts.retention_table(con, tenant_id=1, as_of=as_of, weeks=3)

    assert table == [
        {"cohort": date(2026, 2, 16), "size": 2, "retained": [2, 2, 1], "rates": [1.0, 1.0, 0.5]},
        {"cohort": date(2026, 2, 23), "size": 1, "retained": [1, 0, None], "rates": [1.0, 0.0, None]},
        {"cohort": date(2026, 3, 2), "size": 1, "retained": [1, None, None], "rates": [1.0, None, None]},
    ]
