"""User tags over HTTP on SQLite and PostgreSQL: the default rules' tags and their reasons
(numbers worked out by hand), coverage, rule edits taking effect at the next run (the run
replaces the previous tags), the profiling opt-out, the hourly job and the CSV export.
Each test runs in a tenant of its own."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from livecircle.analytics.tags import service as tags_service
from livecircle.analytics.tags.models import UserTag
from livecircle.commerce import catalog
from livecircle.identity.schemas import Role
from livecircle.kit import jobs
from livecircle.kit.clock import utcnow
from livecircle.kit.tracking import event_row, insert_rows
from livecircle.live.models import Room
from tests.conftest import Account, RunningServer, make_account, make_room


@dataclass
class World:
    tenant_id: int
    operator: Account
    buyer: Account  # watched 美妆 twice, clicked and bought 数码 twice
    watcher: Account  # watched 美妆 once
    stranger: Account  # watched a room with no category


async def plant_world(server: RunningServer, client: httpx.AsyncClient, tenant: str) -> World:
    operator = await make_account(server, role=Role.OPERATOR, tenant=tenant, name="运营")
    buyer, watcher, stranger = [await make_account(server, tenant=tenant) for _ in range(3)]
    beauty = await make_room(client, operator, title="美妆间")
    plain = await make_room(client, operator, title="闲聊间")
    now = utcnow()
    async with server.db.unit_of_work() as session:
        await session.execute(update(Room).where(Room.id == beauty["id"]).values(category="美妆"))
        tenant_id = (await session.scalars(select(Room.tenant_id).where(Room.id == beauty["id"]))).one()
        gadget = await catalog.do_create_product(
            session, tenant_id=tenant_id, skus=[], name="耳机", category="数码"
        )
        order_1, order_2 = (uuid.uuid4().int % 10**9 for _ in range(2))

        def row(type_: str, user: Account, hours: float, **fields: Any) -> dict[str, Any]:
            return event_row(
                type_, tenant_id=tenant_id, user_id=user.user_id, ts=now - timedelta(hours=hours), **fields
            )

        await insert_rows(
            session,
            [
                row("view_start", buyer, 48, room_id=beauty["id"], show_id=9_000_001),
                row("view_start", buyer, 24, room_id=beauty["id"], show_id=9_000_002),
                row("view_start", buyer, 23, room_id=beauty["id"], show_id=9_000_002),  # a reconnect
                row("product_click", buyer, 22, props={"product_id": gadget.id}),
                row(
                    "order_placed",
                    buyer,
                    22,
                    amount=15_000,
                    props={"order_id": order_1, "product_id": gadget.id},
                ),
                row("order_paid", buyer, 22, amount=15_000, props={"order_id": order_1}),
                row(
                    "order_placed",
                    buyer,
                    21,
                    amount=30_000,
                    props={"order_id": order_2, "product_id": gadget.id},
                ),
                row("order_paid", buyer, 21, amount=30_000, props={"order_id": order_2}),
                row("view_start", watcher, 3, room_id=beauty["id"], show_id=9_000_003),
                row("view_start", stranger, 1, room_id=plain["id"], show_id=9_000_004),
                row("chat", stranger, 1, room_id=plain["id"]),
            ],
        )
    return World(tenant_id, operator, buyer, watcher, stranger)


@pytest.fixture
def tenant() -> str:
    return f"tag-{uuid.uuid4().hex[:8]}"


async def run_tags(client: httpx.AsyncClient, operator: Account) -> dict[str, Any]:
    answer = await client.post("/api/v1/analytics/tag-runs", headers=operator.headers)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def tags_of(client: httpx.AsyncClient, operator: Account) -> dict[int, dict[str, dict[str, Any]]]:
    answer = await client.get("/api/v1/analytics/tags", headers=operator.headers)
    assert answer.status_code == 200, answer.text
    found: dict[int, dict[str, dict[str, Any]]] = {}
    for tag in answer.json():
        found.setdefault(tag["user_id"], {})[tag["tag"]] = tag
    return found


async def test_default_rules_tag_with_reasons_and_coverage(
    server: RunningServer, client: httpx.AsyncClient, tenant: str
) -> None:
    world = await plant_world(server, client, tenant)

    assert (await run_tags(client, world.operator))["accounts"] == 2
    tags = await tags_of(client, world.operator)

    assert set(tags) == {world.buyer.user_id, world.watcher.user_id}
    buyer = {tag: row["reason"] for tag, row in tags[world.buyer.user_id].items()}
    assert buyer == {
        "兴趣:数码": "近30天点击数码商品 1 次、购买数码商品 2 单；兴趣得分 1×2 + 2×3 = 8 ≥ 1",
        "兴趣:美妆": "近30天观看美妆直播 2 场；兴趣得分 2×1 = 2 ≥ 1",
        "消费:中": "近90天支付金额 ¥450.00（≥ ¥200.00）",
        "频次:复购": "近90天支付订单数 2 单（≥ 2 单）",
        "价格带:中": "近90天订单金额中位数 ¥225.00（≥ ¥50.00），共 2 单",
    }
    assert tags[world.buyer.user_id]["兴趣:数码"]["reason_en"] == (
        "In the last 30 days: opened 1 数码 product card(s), bought 2 数码 order(s); "
        "interest score 1×2 + 2×3 = 8 ≥ 1"
    )
    assert tags[world.buyer.user_id]["消费:中"]["kind"] == "consumption"
    assert {tag: row["reason"] for tag, row in tags[world.watcher.user_id].items()} == {
        "兴趣:美妆": "近30天观看美妆直播 1 场；兴趣得分 1×1 = 1 ≥ 1"
    }

    coverage = (await client.get("/api/v1/analytics/tag-coverage", headers=world.operator.headers)).json()
    assert (coverage["viewers"], coverage["tagged"], coverage["coverage"], coverage["target"]) == (
        3,
        2,
        0.6667,
        0.9,
    )

    # An edited rule takes effect at the next run, which replaces the previous run's tags.
    rules = (await client.get("/api/v1/analytics/tag-rules", headers=world.operator.headers)).json()
    interest = next(rule for rule in rules if rule["kind"] == "interest")
    changed = await client.patch(
        f"/api/v1/analytics/tag-rules/{interest['id']}",
        json={"definition": {**interest["definition"], "min_score": 3}},
        headers=world.operator.headers,
    )
    assert changed.status_code == 200, changed.text
    await run_tags(client, world.operator)
    tags = await tags_of(client, world.operator)
    assert set(tags) == {world.buyer.user_id}
    assert set(tags[world.buyer.user_id]) == {"兴趣:数码", "消费:中", "频次:复购", "价格带:中"}
    assert tags[world.buyer.user_id]["兴趣:数码"]["reason"].endswith("= 8 ≥ 3")
    async with server.db.unit_of_work() as session:
        stored = await session.scalar(
            select(func.count()).select_from(UserTag).where(UserTag.tenant_id == world.tenant_id)
        )
    assert stored == 4


async def test_opted_out_member_keeps_no_tags_and_leaves_marketing_lists(
    server: RunningServer, client: httpx.AsyncClient, tenant: str
) -> None:
    world = await plant_world(server, client, tenant)
    await run_tags(client, world.operator)
    mine = (await client.get("/api/v1/me/tags", headers=world.buyer.headers)).json()
    assert mine["profiling_opt_out"] is False
    assert {tag["tag"] for tag in mine["tags"]} == {
        "兴趣:数码",
        "兴趣:美妆",
        "消费:中",
        "频次:复购",
        "价格带:中",
    }
    assert all(tag["reason"] for tag in mine["tags"])

    answer = await client.put(
        "/api/v1/me/profiling", json={"profiling_opt_out": True}, headers=world.buyer.headers
    )
    assert answer.status_code == 200
    assert answer.json() == {"profiling_opt_out": True, "tags": []}

    async def stored_for(user: Account) -> int:
        async with server.db.unit_of_work() as session:
            count = await session.scalar(
                select(func.count()).select_from(UserTag).where(UserTag.user_id == user.user_id)
            )
            return int(count or 0)

    assert await stored_for(world.buyer) == 0  # removed at once, not at the next run
    result = await run_tags(client, world.operator)
    assert result["skipped_opted_out"] == 1
    assert await stored_for(world.buyer) == 0  # and not computed again
    assert world.buyer.user_id not in await tags_of(client, world.operator)
    everyone = [world.buyer.user_id, world.watcher.user_id, world.stranger.user_id]
    async with server.db.unit_of_work() as session:
        assert await tags_service.profiling_allowed(session, everyone) == {
            world.watcher.user_id,
            world.stranger.user_id,
        }
    coverage = (await client.get("/api/v1/analytics/tag-coverage", headers=world.operator.headers)).json()
    assert (coverage["viewers"], coverage["tagged"], coverage["opted_out"]) == (2, 1, 1)

    # Opting back in: the next run tags the member again.
    await client.put("/api/v1/me/profiling", json={"profiling_opt_out": False}, headers=world.buyer.headers)
    await run_tags(client, world.operator)
    assert await stored_for(world.buyer) == 5
    async with server.db.unit_of_work() as session:
        assert world.buyer.user_id in await tags_service.profiling_allowed(session, everyone)


async def test_rules_are_validated_and_only_for_operators(
    server: RunningServer, client: httpx.AsyncClient, tenant: str
) -> None:
    operator = await make_account(server, role=Role.OPERATOR, tenant=tenant)
    member = await make_account(server, tenant=tenant)
    rules = (await client.get("/api/v1/analytics/tag-rules", headers=operator.headers)).json()
    assert [rule["name"] for rule in rules] == ["兴趣", "消费力", "购买频次", "价格带"]

    bad = {"name": "乱序", "kind": "consumption", "definition": {"metric": "spend_cents", "bands": [
        {"min": 500, "tag": "b"}, {"min": 100, "tag": "a"}]}}  # fmt: skip
    answer = await client.post("/api/v1/analytics/tag-rules", json=bad, headers=operator.headers)
    assert answer.status_code == 422
    assert answer.json()["code"] == "tag_rule_invalid"
    monthly = {"metric": "spend_cents", "window_days": 30, "bands": [{"min": 1, "tag": "月消费:有"}]}
    good = {"name": "月消费", "kind": "consumption", "definition": monthly}
    assert (
        await client.post("/api/v1/analytics/tag-rules", json=good, headers=operator.headers)
    ).status_code == 201
    again = await client.post("/api/v1/analytics/tag-rules", json=good, headers=operator.headers)
    assert again.status_code == 409
    assert again.json()["code"] == "tag_rule_name_taken"

    for method, path in (
        ("GET", "/api/v1/analytics/tag-rules"),
        ("POST", "/api/v1/analytics/tag-runs"),
        ("GET", "/api/v1/analytics/tags.csv"),
        ("GET", "/api/v1/analytics/tag-coverage"),
    ):
        assert (await client.request(method, path, headers=member.headers)).status_code == 403
    other = await make_account(server, role=Role.OPERATOR, tenant=f"{tenant}-x")
    patched = await client.patch(
        f"/api/v1/analytics/tag-rules/{rules[0]['id']}", json={"enabled": False}, headers=other.headers
    )
    assert patched.status_code == 404


async def test_hourly_job_runs_tags_and_schedules_the_next(
    server: RunningServer, client: httpx.AsyncClient, tenant: str
) -> None:
    world = await plant_world(server, client, tenant)
    await server.app.state.analytics.sync()
    handler = server.app.state.jobs.handlers[tags_service.RUN_JOB]
    async with server.db.unit_of_work() as session:
        await handler(session, {"tenant_id": world.tenant_id})
    async with server.db.unit_of_work() as session:
        count = await session.scalar(
            select(func.count()).select_from(UserTag).where(UserTag.tenant_id == world.tenant_id)
        )
        next_hour = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        job = await jobs.get(session, f"{tags_service.RUN_JOB}:{world.tenant_id}:{next_hour:%Y%m%d%H}")
    assert count == 6
    assert job is not None
    assert job.state == "pending"
    assert job.payload == {"tenant_id": world.tenant_id}


async def test_tags_csv_parses(server: RunningServer, client: httpx.AsyncClient, tenant: str) -> None:
    world = await plant_world(server, client, tenant)
    await run_tags(client, world.operator)
    answer = await client.get("/api/v1/analytics/tags.csv", headers=world.operator.headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert len(rows) == 6
    watcher = [row for row in rows if row["user_id"] == str(world.watcher.user_id)]
    assert [(row["tag"], row["kind"]) for row in watcher] == [("兴趣:美妆", "interest")]
    assert watcher[0]["reason"] == "近30天观看美妆直播 1 场；兴趣得分 1×1 = 1 ≥ 1"
