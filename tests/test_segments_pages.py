"""Segments, cohorts, experiments and tags pages over HTTP on SQLite and PostgreSQL: they
load for an operator with the planted numbers, are refused (403) to a member and send a
visitor to sign in; the JSON API agrees; every CSV export parses; a member sees their own
tags with reasons on /me/tags and opts out there."""

from __future__ import annotations

import csv
import io
import uuid

import httpx
import pytest

from livecircle.identity.schemas import Role
from tests.conftest import RunningServer, make_account
from tests.test_tags import plant_world, run_tags

CONSOLE_PAGES = ("/console/tags", "/console/segments", "/console/cohorts", "/console/experiments")


@pytest.fixture
def tenant() -> str:
    return f"seg-{uuid.uuid4().hex[:8]}"


def parse_csv(answer: httpx.Response) -> list[dict[str, str]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.content.startswith("\ufeff".encode())  # Excel reads the Chinese right
    return list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))


async def test_pages_for_operators_only(
    server: RunningServer, client: httpx.AsyncClient, tenant: str
) -> None:
    world = await plant_world(server, client, tenant)
    await server.app.state.analytics.sync()
    for path in CONSOLE_PAGES:
        page = await client.get(path, headers=world.operator.headers)
        assert page.status_code == 200, (path, page.text[:500])
        assert (await client.get(path, headers=world.watcher.headers)).status_code == 403
        anonymous = await client.get(path)
        assert anonymous.status_code == 303
        assert anonymous.headers["location"] == f"/login?next={path}"
    assert (await client.get("/me/tags")).status_code == 303

    segments = (await client.get("/console/segments", params={"k": 2}, headers=world.operator.headers)).text
    assert 'id="lifecycle-table"' in segments
    assert 'id="churn-auc"' in segments
    assert 'id="cluster-table"' in segments
    cohorts = (
        await client.get("/console/cohorts", headers=world.operator.headers, params={"lang": "en"})
    ).text
    assert "calendar weeks" in cohorts
    assert 'id="cohort-table"' in cohorts
    zh = (await client.get("/console/cohorts", headers=world.operator.headers, params={"lang": "zh-CN"})).text
    assert "自然周" in zh
    assert "同期群留存" in zh


async def test_segments_api_and_csv_exports(
    server: RunningServer, client: httpx.AsyncClient, tenant: str
) -> None:
    world = await plant_world(server, client, tenant)
    await server.app.state.analytics.sync()
    headers = world.operator.headers

    overview = (await client.get("/api/v1/analytics/segments", params={"k": 2}, headers=headers)).json()
    mix = overview["lifecycle"]["mix"]
    # Every account has its signup event: the operator counts as a new account too.
    assert mix == {"new": 3, "engaged": 0, "converted": 0, "loyal": 1, "silent": 0, "churn_risk": 0}
    assert overview["churn"]["auc"] is None
    assert overview["churn"]["note"]
    assert overview["clusters"]["k"] == 2
    assert overview["clusters"]["accounts"] == 4
    assert sum(tier["buyers"] for tier in overview["rfm_tiers"]) == 1

    lifecycle = parse_csv(await client.get("/api/v1/analytics/lifecycle.csv", headers=headers))
    assert {int(row["user_id"]): row["stage"] for row in lifecycle} == {
        world.buyer.user_id: "loyal",
        world.watcher.user_id: "new",
        world.stranger.user_id: "new",
        world.operator.user_id: "new",
    }
    rfm = parse_csv(await client.get("/api/v1/analytics/rfm.csv", headers=headers))
    assert [(row["user_id"], row["frequency"], row["monetary_cents"], row["tier"]) for row in rfm] == [
        (str(world.buyer.user_id), "2", "45000", "一般挽留")
    ]
    tiers = parse_csv(await client.get("/api/v1/analytics/rfm-tiers.csv", headers=headers))
    assert len(tiers) == 8
    assert {row["tier"]: row["buyers"] for row in tiers}["一般挽留"] == "1"
    clusters = parse_csv(await client.get("/api/v1/analytics/clusters.csv", params={"k": 2}, headers=headers))
    assert sum(int(row["size"]) for row in clusters) == 4
    assert "centroid_paid_cents" in clusters[0]
    assert parse_csv(await client.get("/api/v1/analytics/churn.csv", headers=headers)) == []
    cohorts = parse_csv(
        await client.get("/api/v1/analytics/cohorts.csv", params={"weeks": 4}, headers=headers)
    )
    assert sum(int(row["size"]) for row in cohorts) == 4
    assert all(row["rate_0"] == "1.0" for row in cohorts)
    cohort_json = (await client.get("/api/v1/analytics/cohorts", params={"weeks": 4}, headers=headers)).json()
    assert "calendar weeks" in cohort_json["convention"]
    assert len(cohort_json["cohorts"]) == len(cohorts)

    member = world.watcher.headers
    for path in ("/api/v1/analytics/segments", "/api/v1/analytics/rfm.csv", "/api/v1/analytics/cohorts"):
        assert (await client.get(path, headers=member)).status_code == 403


async def test_member_sees_reasons_and_opts_out_on_the_page(
    server: RunningServer, client: httpx.AsyncClient, tenant: str
) -> None:
    world = await plant_world(server, client, tenant)
    await run_tags(client, world.operator)
    page = await client.get("/me/tags", headers=world.watcher.headers, params={"lang": "zh-CN"})
    assert page.status_code == 200
    assert "兴趣:美妆" in page.text
    assert "近30天观看美妆直播 1 场" in page.text
    english = await client.get("/me/tags", headers=world.watcher.headers, params={"lang": "en"})
    assert "watched 1 美妆 show(s)" in english.text

    await client.get("/login")
    form = {"opt_out": "true", "csrf_token": client.cookies["lc_csrf"]}
    answer = await client.post("/me/tags/profiling", data=form, headers=world.watcher.headers)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/me/tags?saved=1"
    after = await client.get("/me/tags", headers=world.watcher.headers)
    assert 'id="tags-opted-out"' in after.text
    assert "兴趣:美妆" not in after.text
    mine = (await client.get("/api/v1/me/tags", headers=world.watcher.headers)).json()
    assert mine == {"profiling_opt_out": True, "tags": []}

    # The console's run-now button and rule form work the same way.
    form = {"csrf_token": client.cookies["lc_csrf"]}
    ran = await client.post("/console/tags/run", data=form, headers=world.operator.headers)
    assert ran.status_code == 303
    assert ran.headers["location"] == "/console/tags?ran=5"
    bad = {"name": "坏规则", "kind": "consumption", "definition": "{not json", **form}
    refused = await client.post("/console/tags/rules", data=bad, headers=world.operator.headers)
    assert refused.status_code == 422
    assert 'id="tags-error"' in refused.text
    tags_page = (await client.get("/console/tags", headers=world.operator.headers)).text
    assert 'id="coverage-value"' in tags_page
    assert "50.0 %" in tags_page


async def test_another_tenants_operator_sees_none_of_it(
    server: RunningServer, client: httpx.AsyncClient, tenant: str
) -> None:
    world = await plant_world(server, client, tenant)
    await run_tags(client, world.operator)
    other = await make_account(server, role=Role.OPERATOR, tenant=f"{tenant}-x")
    await server.app.state.analytics.sync()
    lifecycle = parse_csv(await client.get("/api/v1/analytics/lifecycle.csv", headers=other.headers))
    assert [int(row["user_id"]) for row in lifecycle] == [other.user_id]  # only its own signup
    assert parse_csv(await client.get("/api/v1/analytics/rfm.csv", headers=other.headers)) == []
    assert (await client.get("/api/v1/analytics/tags", headers=other.headers)).json() == []
