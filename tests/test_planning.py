"""Content planning through the running server, on both databases: topic suggestions come from
the tenant's planted chat, questions and product events (and never from another tenant's), one
click adopts one, a topic plans a show, and the calendar counts shows by scenario and month
against the month's targets. Another tenant's ids are 404."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import update

from livecircle.identity.schemas import Role
from livecircle.interaction.models import ChatMessage
from livecircle.interaction.qa.models import Question
from livecircle.kit.clock import utcnow
from livecircle.kit.tracking import event_row, insert_rows
from livecircle.live.models import Show
from tests.conftest import Account, RunningServer, make_account, make_room
from tests.room_kit import go_live

LIPSTICK_LINES = [
    "这支口红是什么色号",
    "口红会不会拔干",
    "求链接口红",
    "黄皮适合哪个口红",
    "口红持久吗",
    "口红掉色吗",
]
OTHER_LINES = ["主播好美", "主播好美", "来了来了", "哈哈哈哈", "晚上好"]


@dataclass
class Tenant:
    slug: str
    operator: Account
    host: Account
    viewer: Account
    room: dict[str, Any]


async def make_tenant(server: RunningServer, client: httpx.AsyncClient, prefix: str) -> Tenant:
    slug = f"{prefix}-{uuid.uuid4().hex[:8]}"
    operator = await make_account(server, role=Role.OPERATOR, tenant=slug, name="运营")
    host = await make_account(server, role=Role.HOST, tenant=slug, name="主播")
    viewer = await make_account(server, tenant=slug, name="观众", consents=())
    room = await make_room(client, host, title=f"{prefix} 直播间")
    return Tenant(slug, operator, host, viewer, room)


async def plant_chat(server: RunningServer, t: Tenant, show_id: int, lines: list[str]) -> None:
    async with server.db.unit_of_work() as session:
        for text in lines:
            session.add(
                ChatMessage(
                    id=random.randint(10**12, 2**53),
                    tenant_id=t.room["tenant_id"],
                    room_id=t.room["id"],
                    show_id=show_id,
                    user_id=t.viewer.user_id,
                    display_name="观众",
                    text=text,
                )
            )


async def plant_question(server: RunningServer, t: Tenant, show_id: int, text: str, votes: int) -> None:
    async with server.db.unit_of_work() as session:
        session.add(
            Question(
                tenant_id=t.room["tenant_id"],
                room_id=t.room["id"],
                show_id=show_id,
                user_id=t.viewer.user_id,
                display_name="观众",
                text=text,
                votes=votes,
            )
        )


async def make_product(client: httpx.AsyncClient, operator: Account, name: str) -> int:
    body = {"name": name, "skus": [{"name": "标准装", "price_cents": 9900, "stock": 10}]}
    response = await client.post("/api/v1/products", json=body, headers=operator.headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def product_events(
    t: Tenant, show_id: int, product_id: int, *, clicks: int, paid: int
) -> list[dict[str, Any]]:
    tenant_id, tag = t.room["tenant_id"], uuid.uuid4().hex[:8]
    rows = [
        event_row("product_click", tenant_id=tenant_id, user_id=1000 + i, show_id=show_id,
                  props={"product_id": product_id})
        for i in range(clicks)
    ]  # fmt: skip
    for i in range(paid):
        order = f"{tag}-{i}"
        rows.append(event_row("order_placed", tenant_id=tenant_id, user_id=1000 + i, show_id=show_id,
                              amount=9900, props={"order_id": order, "product_id": product_id}))  # fmt: skip
        rows.append(event_row("order_paid", tenant_id=tenant_id, user_id=1000 + i, show_id=show_id,
                              amount=9900, props={"order_id": order}))  # fmt: skip
    return rows


async def plant_events(server: RunningServer, rows: list[dict[str, Any]]) -> None:
    async with server.db.unit_of_work() as session:
        await insert_rows(session, rows)


async def test_suggestions_come_from_the_tenants_own_audience_and_adopt_in_one_click(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    a = await make_tenant(server, client, "plan-a")
    b = await make_tenant(server, client, "plan-b")
    show_a = await go_live(client, a.host, a.room["id"])
    show_b = await go_live(client, b.host, b.room["id"])
    await plant_chat(server, a, show_a, LIPSTICK_LINES + OTHER_LINES)
    await plant_chat(
        server, b, show_b, ["洗面奶好用吗", "洗面奶多少钱", "洗面奶敏感肌能用吗", "口红", "口红"]
    )
    await plant_question(server, a, show_a, "这款口红适合干皮吗？", votes=7)
    await plant_question(server, b, show_b, "洗面奶怎么用？", votes=9)
    lipstick = await make_product(client, a.operator, "丝绒口红")
    cleanser = await make_product(client, b.operator, "氨基酸洗面奶")
    browsed = await make_product(client, a.operator, "保湿面霜")
    await plant_events(server, product_events(a, show_a, lipstick, clicks=5, paid=2))
    await plant_events(server, product_events(a, show_a, browsed, clicks=3, paid=0))
    await plant_events(server, product_events(b, show_b, cleanser, clicks=9, paid=4))

    listed = await client.get("/api/v1/planning/suggestions", headers=a.host.headers)
    assert listed.status_code == 200, listed.text
    found = {s["key"]: s for s in listed.json()["suggestions"]}
    keyword = found["keyword:口红"]
    assert keyword["score"] == len(LIPSTICK_LINES)
    assert keyword["evidence"]["lines"] == len(LIPSTICK_LINES)
    assert keyword["evidence"]["shows"] == [show_a]
    assert keyword["evidence"]["examples"]
    assert set(keyword["evidence"]["examples"]) <= set(LIPSTICK_LINES)
    assert keyword["scenario"] == "product_seeding"
    question = next(s for s in found.values() if s["kind"] == "question")
    assert (question["title"], question["evidence"]["votes"]) == ("这款口红适合干皮吗？", 7)
    product = found[f"product:{lipstick}"]
    assert product["title"] == "丝绒口红"
    evidence = product["evidence"]
    assert (evidence["clicks"], evidence["clickers"], evidence["paid_orders"], evidence["paid_cents"]) == (
        5,
        5,
        2,
        19800,
    )
    assert evidence["shows"] == [show_a]
    clicked_only = found[f"product:{browsed}"]["evidence"]
    assert (clicked_only["clicks"], clicked_only["paid_orders"], clicked_only["shows"]) == (3, 0, [show_a])
    assert product["score"] > found[f"product:{browsed}"]["score"]  # bought ranks above only clicked
    # Nothing of tenant B's: its keyword, question and product stay out.
    titles = " ".join(s["title"] for s in found.values())
    assert "洗面奶" not in titles
    assert f"product:{cleanser}" not in found
    assert not any(k.startswith("keyword:主播") or "好美" in k for k in found)

    adopted = await client.post(f"/api/v1/planning/suggestions/{keyword['id']}/adopt", headers=a.host.headers)
    assert adopted.status_code == 201, adopted.text
    topic = adopted.json()
    assert (topic["title"], topic["source"], topic["status"], topic["scenario"]) == (
        "口红",
        "keyword",
        "idea",
        "product_seeding",
    )
    assert topic["evidence"]["lines"] == len(LIPSTICK_LINES)
    assert "examples" not in topic["evidence"]  # counts and shows only: no quoted chat kept
    again = await client.post(f"/api/v1/planning/suggestions/{keyword['id']}/adopt", headers=a.host.headers)
    assert (again.status_code, again.json()["id"]) == (200, topic["id"])
    library = (await client.get("/api/v1/planning/topics", headers=a.operator.headers)).json()
    assert [t["id"] for t in library] == [topic["id"]]
    refreshed = await client.post("/api/v1/planning/suggestions/refresh", headers=a.host.headers)
    kept = next(s for s in refreshed.json()["suggestions"] if s["key"] == "keyword:口红")
    assert (kept["id"], kept["topic_id"]) == (keyword["id"], topic["id"])

    # Another tenant's ids are 404; a viewer may not plan.
    for method, path in (
        ("POST", f"/api/v1/planning/suggestions/{keyword['id']}/adopt"),
        ("GET", f"/api/v1/planning/topics/{topic['id']}"),
        ("PATCH", f"/api/v1/planning/topics/{topic['id']}"),
        ("DELETE", f"/api/v1/planning/topics/{topic['id']}"),
    ):
        response = await client.request(
            method, path, headers=b.operator.headers, json={} if method == "PATCH" else None
        )
        assert response.status_code == 404, (method, path, response.text)
    forbidden = await client.get("/api/v1/planning/suggestions", headers=a.viewer.headers)
    assert (forbidden.status_code, forbidden.json()["code"]) == (403, "planning_forbidden")
    assert (await client.get("/api/v1/planning/topics")).status_code == 401


async def test_topics_plan_shows_and_the_calendar_counts_target_vs_actual(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    t = await make_tenant(server, client, "plan-cal")
    other = await make_tenant(server, client, "plan-cal-x")
    create = await client.post(
        "/api/v1/planning/topics",
        json={
            "title": "秋冬护肤答疑",
            "notes": "干皮、敏感肌",
            "scenario": "user_service",
            "tags": ["护肤", "护肤", " 答疑 "],
        },
        headers=t.host.headers,
    )
    assert create.status_code == 201, create.text
    topic = create.json()
    assert (topic["tags"], topic["status"], topic["source"]) == (["护肤", "答疑"], "idea", "operator")
    bad = await client.post("/api/v1/planning/topics", json={"title": "  "}, headers=t.host.headers)
    assert bad.status_code == 422

    march = datetime(2031, 3, 10, 12, 0, tzinfo=UTC)
    planned = await client.post(
        f"/api/v1/planning/topics/{topic['id']}/plan",
        json={"room_id": t.room["id"], "scheduled_at": march.isoformat()},
        headers=t.host.headers,
    )
    assert planned.status_code == 201, planned.text
    show = planned.json()
    assert (show["title"], show["scenario"], show["status"]) == ("秋冬护肤答疑", "user_service", "scheduled")
    got = (await client.get(f"/api/v1/planning/topics/{topic['id']}", headers=t.host.headers)).json()
    assert (got["status"], got["shows"]) == ("planned", [show["show_id"]])
    refused = await client.post(  # another tenant's room: 404, nothing created
        f"/api/v1/planning/topics/{topic['id']}/plan",
        json={"room_id": other.room["id"], "scheduled_at": march.isoformat()},
        headers=t.operator.headers,
    )
    assert refused.status_code == 404, refused.text
    naive = await client.post(
        f"/api/v1/planning/topics/{topic['id']}/plan",
        json={"room_id": t.room["id"], "scheduled_at": "2031-03-11T10:00:00"},
        headers=t.host.headers,
    )
    assert naive.status_code == 422

    # More shows: March has user service (planned), product seeding live and ended, a brand one
    # ended; April one product seeding; a show of another tenant in March counts for nobody.
    ids = {
        "seed_live": await _show(
            server, client, t, "种草一", "product_seeding", datetime(2031, 3, 2), "live"
        ),
        "seed_ended": await _show(
            server, client, t, "种草二", "product_seeding", datetime(2031, 3, 31, 23), "ended"
        ),
        "brand": await _show(server, client, t, "品牌日", "brand", datetime(2031, 3, 15), "ended"),
        "april": await _show(
            server, client, t, "四月种草", "product_seeding", datetime(2031, 4, 1), "scheduled"
        ),
    }
    await _show(server, client, other, "别家", "brand", datetime(2031, 3, 5), "ended")

    seeded = (await client.get("/api/v1/planning/calendar?month=2031-03", headers=t.host.headers)).json()
    assert seeded["targets_source"] == "seed"
    assert seeded["targets"] == {"all": 12, "product_seeding": 4, "user_service": 6}
    rows = {r["scope"]: r for r in seeded["rows"]}
    expected = {"scope": "all", "target": 12, "planned": 1, "live": 1, "ended": 2, "actual": 3}
    assert rows["all"] == expected | {"met": False, "on_track": False}
    assert (rows["product_seeding"]["actual"], rows["user_service"]["planned"], rows["brand"]["target"]) == (
        2,
        1,
        None,
    )
    assert [s["id"] for s in seeded["shows"]] == [
        ids["seed_live"],
        show["show_id"],
        ids["brand"],
        ids["seed_ended"],
    ]
    listed = {s["id"]: s for s in seeded["shows"]}
    assert (listed[show["show_id"]]["topic_id"], listed[show["show_id"]]["topic_title"]) == (
        topic["id"],
        "秋冬护肤答疑",
    )
    assert (seeded["previous"], seeded["next"]) == ("2031-02", "2031-04")

    host_put = await client.put(
        "/api/v1/planning/month-targets/2031-03", json={"targets": {"all": 1}}, headers=t.host.headers
    )
    assert host_put.status_code == 403
    default = await client.put(
        "/api/v1/planning/month-targets/default",
        json={"targets": {"all": 1, "product_seeding": 1}},
        headers=t.operator.headers,
    )
    assert default.status_code == 200, default.text
    march_put = await client.put(
        "/api/v1/planning/month-targets/2031-03",
        json={"targets": {"all": 3, "product_seeding": 2, "user_service": 2}},
        headers=t.operator.headers,
    )
    assert march_put.status_code == 200, march_put.text
    march_cal = (await client.get("/api/v1/planning/calendar?month=2031-03", headers=t.host.headers)).json()
    rows = {r["scope"]: r for r in march_cal["rows"]}
    assert march_cal["targets_source"] == "month"
    assert (rows["all"]["met"], rows["product_seeding"]["met"], rows["user_service"]["met"]) == (
        True,
        True,
        False,
    )
    assert rows["user_service"]["on_track"] is False  # 0 done + 1 planned < 2
    april = (await client.get("/api/v1/planning/calendar?month=2031-04", headers=t.host.headers)).json()
    rows = {r["scope"]: r for r in april["rows"]}
    assert april["targets_source"] == "default"
    assert (
        rows["product_seeding"]["planned"],
        rows["product_seeding"]["met"],
        rows["product_seeding"]["on_track"],
    ) == (1, False, True)
    other_cal = (
        await client.get("/api/v1/planning/calendar?month=2031-03", headers=other.host.headers)
    ).json()
    assert [s["title"] for s in other_cal["shows"]] == ["别家"]
    assert other_cal["targets_source"] == "seed"
    for month in ("2031-13", "2031-3"):
        wrong = await client.get(f"/api/v1/planning/calendar?month={month}", headers=t.host.headers)
        assert wrong.status_code == 422, month
    too_many = await client.put(
        "/api/v1/planning/month-targets/2031-05", json={"targets": {"all": -1}}, headers=t.operator.headers
    )
    assert too_many.status_code == 422

    # A show planned from the topic goes live: the topic is used.
    room = await make_room(client, t.host, title="专用直播间")
    planned = await client.post(
        f"/api/v1/planning/topics/{topic['id']}/plan",
        json={"room_id": room["id"], "scheduled_at": utcnow().isoformat(), "title": "今晚答疑"},
        headers=t.host.headers,
    )
    assert planned.status_code == 201, planned.text
    live = await go_live(client, t.host, room["id"])
    assert live == planned.json()["show_id"]
    used = (await client.get(f"/api/v1/planning/topics/{topic['id']}", headers=t.host.headers)).json()
    assert used["status"] == "used"
    assert (
        await client.delete(f"/api/v1/planning/topics/{topic['id']}", headers=t.host.headers)
    ).status_code == 204
    assert (
        await client.get(f"/api/v1/planning/topics/{topic['id']}", headers=t.host.headers)
    ).status_code == 404


async def _show(
    server: RunningServer,
    client: httpx.AsyncClient,
    t: Tenant,
    title: str,
    scenario: str,
    at: datetime,
    status: str,
) -> int:
    """A show of ``scenario`` created through the API, then given ``status`` at ``at`` (UTC)."""
    when = at.replace(tzinfo=UTC)
    created = await client.post(
        f"/api/v1/rooms/{t.room['id']}/shows",
        json={"title": title, "scenario": scenario, "scheduled_at": when.isoformat()},
        headers=t.host.headers,
    )
    assert created.status_code == 201, created.text
    show_id = int(created.json()["id"])
    await _set_status(server, show_id, status, when if status != "scheduled" else None)
    return show_id


async def _set_status(server: RunningServer, show_id: int, status: str, started: datetime | None) -> None:
    ended = started + timedelta(hours=1) if started and status == "ended" else None
    async with server.db.unit_of_work() as session:
        await session.execute(
            update(Show).where(Show.id == show_id).values(status=status, started_at=started, ended_at=ended)
        )


async def test_the_planning_pages_render_and_their_forms_save(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    t = await make_tenant(server, client, "plan-page")
    other = await make_tenant(server, client, "plan-page-x")
    client.cookies.set("lc_csrf", "page-test-token")
    form_headers = {**t.operator.headers, "X-CSRF-Token": "page-test-token"}
    try:
        added = await client.post(
            "/console/planning/topics",
            data={"title": "新品开箱", "scenario": "product_seeding", "tags": "新品，开箱", "notes": "三款"},
            headers=form_headers,
        )
        assert added.status_code == 303, added.text
        topics = (await client.get("/api/v1/planning/topics", headers=t.operator.headers)).json()
        assert [(x["title"], x["tags"]) for x in topics] == [("新品开箱", ["新品", "开箱"])]
        page = await client.get("/console/planning?month=2031-03&lang=zh-CN", headers=t.operator.headers)
        assert page.status_code == 200
        assert "选题库" in page.text
        assert f'id="topic-{topics[0]["id"]}"' in page.text
        assert "<script>" not in page.text
        assert ' style="' not in page.text
        planned = await client.post(
            f"/console/planning/topics/{topics[0]['id']}/plan",
            data={"room_id": str(t.room["id"]), "scheduled_at": "2031-03-20T19:30"},
            headers=form_headers,
        )
        assert planned.status_code == 303, planned.text
        assert planned.headers["location"].startswith("/console/planning?month=2031-03#show-")
        show_id = int(planned.headers["location"].rsplit("-", 1)[1])
        saved = await client.post(
            f"/console/planning/shows/{show_id}/targets",
            data={"kpi_interaction_rate": "10", "kpi_gmv_cents": "1000", "kpi_viewers": ""},
            headers=form_headers,
        )
        assert saved.status_code == 303, saved.text
        held = (await client.get(f"/api/v1/planning/shows/{show_id}/targets", headers=t.host.headers)).json()
        assert held["own"] == {"interaction_rate": 0.1, "gmv_cents": 100000.0}
        shown = await client.get(f"/console/planning/shows/{show_id}?lang=en", headers=t.host.headers)
        assert shown.status_code == 200
        assert 'data-metric="interaction_rate"' in shown.text
        assert "This show" in shown.text
        wrong = await client.post(
            f"/console/planning/shows/{show_id}/targets", data={"kpi_viewers": "many"}, headers=form_headers
        )
        assert wrong.status_code == 422
        hidden = await client.get(f"/console/planning/shows/{show_id}", headers=other.operator.headers)
        assert hidden.status_code == 404
        empty = await client.post("/api/v1/planning/suggestions/refresh", headers=other.host.headers)
        assert (empty.status_code, empty.json()["suggestions"]) == (200, [])
    finally:
        client.cookies.clear()
