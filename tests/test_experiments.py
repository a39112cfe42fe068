"""A/B statistics: the research §1.1 test vectors, scipy as the reference, the small-sample
guard, two planted shows compared on the replica, and the API / page / CSV over HTTP."""

from __future__ import annotations

import csv
import io
import itertools
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import numpy as np
import pytest
from scipy import stats
from sqlalchemy import select

from livecircle.analytics import experiments, store
from livecircle.analytics.metrics import show_figures
from livecircle.identity.schemas import Role
from livecircle.kit.tracking import event_row, insert_rows
from livecircle.live.models import Show
from tests.conftest import RunningServer, make_account, make_room
from tests.room_kit import go_live

_seq = itertools.count(1)
T0 = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)


def test_two_proportion_z_test_vector() -> None:
    result = experiments.two_proportions(100, 1000, 150, 1000)
    assert result.z == pytest.approx(3.381, abs=5e-4)
    assert result.p_value == pytest.approx(0.00072, abs=5e-6)
    # The same p as χ² without Yates' correction (research §1.1).
    chi2 = stats.chi2_contingency([[100, 900], [150, 850]], correction=False)
    assert result.p_value == pytest.approx(chi2.pvalue, rel=1e-9)
    # Wald interval of B - A by hand: 0.05 ± 1.959964 * sqrt(.1*.9/1000 + .15*.85/1000)
    assert (result.ci_low, result.ci_high) == (
        pytest.approx(0.021095, abs=1e-6),
        pytest.approx(0.078905, abs=1e-6),
    )
    assert result.enough_data
    assert result.significant


def test_small_samples_give_no_verdict() -> None:
    result = experiments.two_proportions(1, 10, 4, 10)
    assert result.enough_data is False
    assert result.significant is None
    assert result.p_value is not None  # shown, but not judged


@pytest.mark.parametrize(
    ("baseline", "lift", "expected"),
    [(0.10, 0.01, 14_751), (0.10, 0.02, 3_841), (0.05, 0.01, 8_158), (0.02, 0.005, 13_809)],
)
def test_sample_size_per_arm(baseline: float, lift: float, expected: int) -> None:
    assert abs(experiments.sample_size_per_arm(baseline, lift) - expected) <= 1


def test_welch_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(100, 20, 40), rng.normal(112, 45, 60)
    result = experiments.welch(a, b)
    reference = stats.ttest_ind(b, a, equal_var=False)
    assert result.t == pytest.approx(reference.statistic, rel=1e-9)
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    assert result.df == pytest.approx(reference.df, rel=1e-9)
    interval = reference.confidence_interval(0.95)
    assert (result.ci_low, result.ci_high) == (pytest.approx(interval.low), pytest.approx(interval.high))


def _show_rows(show_id: int, viewers: int, ordered: int, seconds: int, *, tenant_id: int = 1) -> list[dict]:
    """``viewers`` people (one anonymous) watch ``seconds`` each; the first ``ordered`` order."""
    rows = []
    for n in range(viewers):
        who = {"anon_id": f"anon-{show_id}"} if n == 0 else {"user_id": show_id * 1000 + n}
        session = {"session": f"s-{show_id}-{n}"}
        rows.append(
            event_row("view_start", tenant_id=tenant_id, show_id=show_id, ts=T0, props=session, **who)
        )
        ended = T0 + timedelta(seconds=seconds + n)
        rows.append(
            event_row(
                "view_end",
                tenant_id=tenant_id,
                show_id=show_id,
                ts=ended,
                amount=seconds + n,
                props=session,
                **who,
            )
        )
        if n < ordered:
            rows.append(
                event_row("order_placed", tenant_id=tenant_id, show_id=show_id, ts=ended, amount=990, **who)
            )
    rows.append(
        event_row("order_placed", tenant_id=tenant_id, show_id=show_id, ts=T0, amount=990, user_id=999_999)
    )
    return rows


def test_compare_two_planted_shows() -> None:
    con = store.connect()
    rows = _show_rows(1, 20, 4, 600) + _show_rows(2, 30, 12, 900) + _show_rows(3, 10, 10, 60)
    store.load_rows(con, [row | {"seq": next(_seq)} for row in rows])
    until = T0 + timedelta(hours=2)

    result = experiments.compare_arms(con, [1], [2], until=until)

    # 999999 ordered without watching: not a viewer, not counted.
    assert result["conversion"] == experiments.two_proportions(4, 20, 12, 30)
    # The viewers are the dashboard's viewers; watch seconds its watch_seconds.
    for show_id, arm in ((1, "n_a"), (2, "n_b")):
        figures = show_figures(con, show_id, until=until)
        assert getattr(result["conversion"], arm) == figures["viewers"]
    assert result["mean"].mean_a * 20 == show_figures(con, 1, until=until)["watch_seconds"]
    assert result["mean"].mean_a == pytest.approx(600 + 9.5)  # 600 + mean of 0..19
    assert result["mean"].mean_b == pytest.approx(900 + 14.5)
    # A tactic = a set of shows.
    tactic = experiments.compare_arms(con, [1, 3], [2], until=until)
    assert (tactic["conversion"].n_a, tactic["conversion"].conversions_a) == (30, 14)
    assert tactic["overlap"] == 0
    con.close()


@pytest.fixture
def tenant() -> str:
    return f"ab-{uuid.uuid4().hex[:8]}"


async def test_experiment_api_page_and_csv(
    server: RunningServer, client: httpx.AsyncClient, tenant: str
) -> None:
    operator = await make_account(server, role=Role.OPERATOR, tenant=tenant, name="运营")
    member = await make_account(server, tenant=tenant)
    show_a = await go_live(client, operator, (await make_room(client, operator, title="A 场"))["id"])
    show_b = await go_live(client, operator, (await make_room(client, operator, title="B 场"))["id"])
    async with server.db.unit_of_work() as session:
        tenant_id = (await session.scalars(select(Show.tenant_id).where(Show.id == show_a))).one()
        await insert_rows(
            session,
            _show_rows(show_a, 20, 2, 300, tenant_id=tenant_id)
            + _show_rows(show_b, 20, 8, 300, tenant_id=tenant_id),
        )
    await server.app.state.analytics.sync()

    answer = await client.get(
        "/api/v1/analytics/experiments", params={"a": str(show_a), "b": str(show_b)}, headers=operator.headers
    )
    assert answer.status_code == 200, answer.text
    conversion = answer.json()["conversion"]
    expected = experiments.two_proportions(2, 20, 8, 20)
    assert (
        conversion["n_a"],
        conversion["conversions_a"],
        conversion["n_b"],
        conversion["conversions_b"],
    ) == (
        20,
        2,
        20,
        8,
    )
    assert conversion["p_value"] == pytest.approx(expected.p_value)
    assert conversion["enough_data"] is False  # 2 conversions in A: below the guard

    page = await client.get(
        "/console/experiments", params={"a": str(show_a), "b": str(show_b)}, headers=operator.headers
    )
    assert page.status_code == 200
    assert 'id="experiment-result"' in page.text
    assert 'id="conversion-verdict"' in page.text
    exported = await client.get(
        "/api/v1/analytics/experiments.csv",
        params={"a": str(show_a), "b": str(show_b)},
        headers=operator.headers,
    )
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0] == ["test", "field", "value"]
    assert ["conversion", "conversions_b", "8"] in rows

    # Another tenant's show is refused, and members do not see experiments at all.
    other = await make_account(server, role=Role.OPERATOR, tenant=f"{tenant}-x")
    refused = await client.get(
        "/api/v1/analytics/experiments", params={"a": str(show_a), "b": str(show_b)}, headers=other.headers
    )
    assert refused.status_code == 400
    for path in ("/api/v1/analytics/experiments", "/console/experiments"):
        answer = await client.get(path, params={"a": str(show_a), "b": str(show_b)}, headers=member.headers)
        assert answer.status_code == 403
