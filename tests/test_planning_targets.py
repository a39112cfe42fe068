"""A show's KPI targets through the running server, on both databases: a target becomes the
live dashboard's alert threshold for that show (a show planted under its target raises the
target-derived alert, not the default one), and the post-show report's comparison line
(figure, target, actual, met or not, whose target); the tenant's defaults apply to the
figures a show sets no target for. Another tenant's show is 404."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import httpx
from sqlalchemy import select, update

from livecircle.analytics.alerts.models import AlertRule
from livecircle.identity.schemas import Role
from livecircle.kit.clock import utcnow
from livecircle.kit.tracking import event_row, insert_rows
from livecircle.live.models import Show
from tests.conftest import RunningServer, make_account, make_room
from tests.room_kit import go_live

T = TypeVar("T")
CHATS = 6
VIEWERS = 4


async def wait_until(check: Callable[[], Awaitable[T | None]], timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found:
            return found
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.25)


async def quiet_show(server: RunningServer, tenant_id: int, room_id: int, show_id: int) -> None:
    """Started 5 minutes ago; in the last 2 minutes 50 online, 6 chat lines: an interaction
    rate of about 0.12 to 0.24 (the live sampler adds samples of 0), 4 viewers in all."""
    now = utcnow()
    async with server.db.unit_of_work() as session:
        await session.execute(
            update(Show).where(Show.id == show_id).values(started_at=now - timedelta(minutes=5))
        )
        where = {"tenant_id": tenant_id, "room_id": room_id, "show_id": show_id}
        rows = [
            event_row("online_sample", ts=now - timedelta(seconds=5 * i + 1), amount=50, **where)
            for i in range(23)
        ]
        rows += [
            event_row("chat", ts=now - timedelta(seconds=10 + i), user_id=9000 + i % VIEWERS, **where)
            for i in range(CHATS)
        ]
        rows += [
            event_row(
                "view_start",
                ts=now - timedelta(minutes=4),
                user_id=9000 + i,
                props={"session": f"s{i}"},
                **where,
            )
            for i in range(VIEWERS)
        ]
        await insert_rows(session, rows)


async def test_a_show_target_drives_its_alert_and_its_report_comparison(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    slug = f"plan-kpi-{uuid.uuid4().hex[:8]}"
    operator = await make_account(server, role=Role.OPERATOR, tenant=slug)
    host = await make_account(server, role=Role.HOST, tenant=slug)
    stranger = await make_account(server, role=Role.OPERATOR, tenant=f"{slug}-x")
    room = await make_room(client, host, title="目标直播间")
    created = await client.post(
        f"/api/v1/rooms/{room['id']}/shows", json={"title": "目标场"}, headers=host.headers
    )
    show_id = int(created.json()["id"])
    base = f"/api/v1/planning/shows/{show_id}"

    bad = await client.put(f"{base}/targets", json={"targets": {"bogus": 1}}, headers=host.headers)
    assert (bad.status_code, bad.json()["code"]) == (422, "unknown_kpi")
    put = await client.put(
        f"{base}/targets", json={"targets": {"interaction_rate": 0.5, "viewers": 10}}, headers=host.headers
    )
    assert put.status_code == 200, put.text
    body = put.json()
    assert body["own"] == {"interaction_rate": 0.5, "viewers": 10.0}
    effective = {t["metric"]: t for t in body["effective"]}
    assert effective["interaction_rate"] == {
        "metric": "interaction_rate",
        "target": 0.5,
        "source": "show",
        "alerts": True,
    }
    assert (effective["viewers"]["source"], effective["viewers"]["alerts"]) == ("show", False)
    assert list(effective) == ["viewers", "interaction_rate"]  # its own set, whole: no default mixed in
    for method in ("GET", "PUT"):
        response = await client.request(method, f"{base}/targets", headers=stranger.headers,
                                        json={"targets": {}} if method == "PUT" else None)  # fmt: skip
        assert response.status_code == 404, response.text
    assert (await client.get(f"{base}/comparison", headers=stranger.headers)).status_code == 404

    assert await go_live(client, host, room["id"]) == show_id
    await quiet_show(server, room["tenant_id"], room["id"], show_id)

    async def raised() -> list[dict[str, Any]]:
        board = (await client.get(f"/api/v1/shows/{show_id}/dashboard", headers=host.headers)).json()
        return [a for a in board["alerts"] if a["metric"] == "interaction_rate"]

    alerts = await wait_until(raised)
    assert [a["threshold"] for a in alerts] == [0.5]  # the target's rule; the default (< 0.05) holds
    assert 0.1 <= alerts[0]["value"] < 0.5
    assert alerts[0]["action"] == "poll"
    rules = (await client.get("/api/v1/analytics/alert-rules", headers=operator.headers)).json()
    assert all(r["threshold"] != 0.5 for r in rules)  # the derived rule is the show's, not listed
    async with server.db.unit_of_work() as session:
        derived = (await session.scalars(select(AlertRule).where(AlertRule.show_id == show_id))).all()
    assert [(r.metric, r.threshold, r.enabled) for r in derived] == [("interaction_rate", 0.5, True)]

    live = (await client.get(f"{base}/comparison", headers=host.headers)).json()
    rows = {r["metric"]: r for r in live["rows"]}
    assert rows["viewers"] == {
        "metric": "viewers",
        "target": 10.0,
        "actual": VIEWERS,
        "met": False,
        "source": "show",
    }
    assert rows["interaction_rate"]["actual"] == round(CHATS / VIEWERS, 4)
    assert rows["interaction_rate"]["met"] is True
    assert set(rows) == {"viewers", "interaction_rate"}

    ended = await client.post(f"/api/v1/shows/{show_id}/end", headers=host.headers)
    assert ended.status_code in (200, 204), ended.text

    async def report() -> dict[str, Any] | None:
        response = await client.get(f"/api/v1/shows/{show_id}/report", headers=host.headers)
        return response.json() if response.status_code == 200 else None

    data = (await wait_until(report))["data"]
    targets = {t["metric"]: t for t in data["targets"]}
    assert (targets["viewers"]["target"], targets["viewers"]["actual"]) == (10.0, VIEWERS)
    assert targets["interaction_rate"]["target"] == 0.5
    assert data["target_sources"] == {"viewers": "show", "interaction_rate": "show"}
    page = await client.get(f"/shows/{show_id}/report", headers=host.headers)
    assert page.status_code == 200
    assert 'data-metric="viewers" data-met="false"' in page.text
    assert 'data-metric="interaction_rate" data-met="true"' in page.text

    # A show without targets of its own is held to the seed KPIs, then to the tenant's defaults.
    other = await client.post(
        f"/api/v1/rooms/{room['id']}/shows", json={"title": "下一场"}, headers=host.headers
    )
    seeded = (
        await client.get(f"/api/v1/planning/shows/{other.json()['id']}/targets", headers=host.headers)
    ).json()
    assert [(t["metric"], t["target"], t["source"], t["alerts"]) for t in seeded["effective"]] == [
        ("viewers", 500.0, "seed", False),
        ("interaction_rate", 0.08, "seed", False),
        ("click_to_order", 0.12, "seed", False),
        ("payment_success", 0.85, "seed", False),
    ]
    refused = await client.put(
        "/api/v1/planning/kpi-defaults", json={"targets": {"viewers": 2}}, headers=host.headers
    )
    assert refused.status_code == 403
    defaults = await client.put(
        "/api/v1/planning/kpi-defaults",
        json={"targets": {"viewers": 2, "gmv_cents": 100}},
        headers=operator.headers,
    )
    assert defaults.json() == {"targets": {"viewers": 2.0, "gmv_cents": 100.0}, "source": "tenant"}
    held = (
        await client.get(f"/api/v1/planning/shows/{other.json()['id']}/targets", headers=host.headers)
    ).json()
    assert [(t["metric"], t["target"], t["source"]) for t in held["effective"]] == [
        ("viewers", 2.0, "tenant"),
        ("gmv_cents", 100.0, "tenant"),
    ]
    reset = await client.put("/api/v1/planning/kpi-defaults", json={"targets": {}}, headers=operator.headers)
    assert reset.json()["source"] == "seed"
