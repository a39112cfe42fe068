"""Levels, badges, member tiers, paid memberships and privileges, over the real API on SQLite
and PostgreSQL. Each test uses a tenant of its own, so the badge rules are the defaults."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from livecircle.economy import points, tiers
from livecircle.economy.points_models import UserBadge
from livecircle.identity.models import User
from livecircle.identity.schemas import Role
from tests.conftest import Account, RunningServer, make_account, make_room
from tests.test_economy import _tenant_id, audit, fund, gift_id, send

THRESHOLDS = [0, 5, 20, 65, 155, 515, 2015, 8015, 33015]
ALL_PRIVILEGES = ["chat_badge", "exclusive_discount", "member_only_rooms", "priority_cohost"]


@pytest.fixture
def tenant() -> str:
    return f"tiers-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def member(server: RunningServer, tenant: str) -> Account:
    return await make_account(server, tenant=tenant, name="会员")


@pytest.fixture
async def operator(server: RunningServer, tenant: str) -> Account:
    return await make_account(server, role=Role.OPERATOR, tenant=tenant, name="运营")


async def add_xp(server: RunningServer, account: Account, xp: int) -> None:
    tenant_id = await _tenant_id(server, account)
    async with server.db.unit_of_work() as session:
        await tiers.do_add_xp(session, tenant_id=tenant_id, user_id=account.user_id, points=xp)


async def level(client: httpx.AsyncClient, account: Account) -> dict[str, Any]:
    response = await client.get("/api/v1/me/level", headers=account.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_level_changes_exactly_at_every_threshold() -> None:
    for level_index, threshold in enumerate(THRESHOLDS, start=1):
        assert tiers.level_for(threshold, THRESHOLDS) == level_index
        if threshold:
            assert tiers.level_for(threshold - 1, THRESHOLDS) == level_index - 1
    assert tiers.level_for(10**9, THRESHOLDS) == 9
    assert [tiers.next_threshold(n, THRESHOLDS) for n in (1, 8, 9)] == [5, 33015, None]


async def test_earned_points_are_xp_and_set_the_level(
    server: RunningServer, client: httpx.AsyncClient, member: Account
) -> None:
    assert (await level(client, member))["level"] == 1
    tenant_id = await _tenant_id(server, member)
    async with server.db.unit_of_work() as session:
        await points.do_earn(
            session,
            server.settings.economy,
            tenant_id=tenant_id,
            user_id=member.user_id,
            rule="invite",
            key=f"invite:{uuid.uuid4()}",
        )
    mine = await level(client, member)
    assert (mine["xp"], mine["level"], mine["level_xp"], mine["next_level_xp"]) == (50, 3, 20, 65)
    await add_xp(server, member, 14)  # 64: one short of level 4
    assert (await level(client, member))["level"] == 3
    await add_xp(server, member, 1)
    assert (await level(client, member))["level"] == 4


async def test_coins_spent_on_gifts_are_xp_and_a_badge_is_awarded_once(
    server: RunningServer, client: httpx.AsyncClient, member: Account, tenant: str
) -> None:
    host = await make_account(server, role=Role.HOST, tenant=tenant, name="主播")
    room = await make_room(client, host)
    await fund(server, member, 1000)
    flower = await gift_id(client, member, "鲜花")  # 52 coins
    before = await level(client, member)
    assert "first_gift" not in {b["code"] for b in before["badges"]}
    assert (await send(client, member, room["id"], flower)).status_code == 201
    after = await level(client, member)
    assert after["xp"] == before["xp"] + 52
    assert [b["code"] for b in after["badges"]].count("first_gift") == 1
    assert (await send(client, member, room["id"], flower)).status_code == 201
    again = await level(client, member)
    assert [b["code"] for b in again["badges"]] == [b["code"] for b in after["badges"]]
    tenant_id = await _tenant_id(server, member)
    async with server.db.unit_of_work() as session:
        assert not await tiers.do_evaluate_badges(
            session, server.settings.economy, tenant_id=tenant_id, user_id=member.user_id
        )
        rows = await session.scalar(
            select(func.count()).select_from(UserBadge).where(UserBadge.user_id == member.user_id)
        )
    assert rows == len(again["badges"])
    assert (await audit(server.db)).balanced


async def test_operators_define_badge_rules_that_earnings_award(
    server: RunningServer, client: httpx.AsyncClient, member: Account, operator: Account
) -> None:
    rule = {"code": "xp_10", "name": "十点经验", "stat": "xp", "threshold": 10}
    refused = await client.post("/api/v1/badges/rules", json=rule, headers=member.headers)
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    created = await client.post("/api/v1/badges/rules", json=rule, headers=operator.headers)
    assert created.status_code == 201, created.text
    taken = await client.post("/api/v1/badges/rules", json=rule, headers=operator.headers)
    assert (taken.status_code, taken.json()["code"]) == (409, "conflict")
    codes = {r["code"] for r in (await client.get("/api/v1/badges/rules", headers=member.headers)).json()}
    assert {"xp_10", "first_gift", "streak_7", "level_5"} <= codes
    tenant_id = await _tenant_id(server, member)
    for n in range(2):  # 2 × 5 points for shares: the badge comes with the earning that reaches 10
        async with server.db.unit_of_work() as session:
            await points.do_earn(
                session,
                server.settings.economy,
                tenant_id=tenant_id,
                user_id=member.user_id,
                rule="share",
                key=f"share:{member.user_id}:{n}",
            )
        async with server.db.unit_of_work() as session:
            won = {
                b["code"]
                for b in await tiers.list_user_badges(session, tenant_id=tenant_id, user_id=member.user_id)
            }
        assert ("xp_10" in won) == (n == 1)
    disabled = await client.patch(
        f"/api/v1/badges/rules/{created.json()['id']}", json={"enabled": False}, headers=operator.headers
    )
    assert disabled.json()["enabled"] is False
    assert "xp_10" in {b["code"] for b in (await level(client, member))["badges"]}  # kept once awarded


async def test_tiers_follow_the_level_thresholds_with_their_privileges(
    server: RunningServer, client: httpx.AsyncClient, member: Account
) -> None:
    seen = []
    for xp in (0, 19, 1, 494, 1):  # totals 0, 19, 20, 514, 515: levels 1, 2, 3, 5, 6
        await add_xp(server, member, xp)
        mine = await level(client, member)
        seen.append((mine["level"], mine["tier"], mine["privileges"], mine["chat_badge"]))
    assert seen == [
        (1, "follower", [], None),
        (2, "follower", [], None),
        (3, "participant", ["chat_badge"], {"tier": "participant", "level": 3}),
        (5, "participant", ["chat_badge"], {"tier": "participant", "level": 5}),
        (6, "premium", ALL_PRIVILEGES, {"tier": "premium", "level": 6}),
    ]
    assert "level_5" in {b["code"] for b in (await level(client, member))["badges"]}


async def test_privileges_per_tier_come_from_the_settings(server: RunningServer, member: Account) -> None:
    rules = server.settings.economy
    custom = rules.model_copy(
        update={"tiers": rules.tiers.model_copy(update={"privileges": {"follower": ["member_only_rooms"]}})}
    )
    tenant_id = await _tenant_id(server, member)
    async with server.db.unit_of_work() as session:
        ask = {"tenant_id": tenant_id, "user_id": member.user_id}
        assert await tiers.privileges(session, rules, **ask) == set()
        assert await tiers.has_privilege(session, custom, privilege="member_only_rooms", **ask)
        assert not await tiers.has_privilege(session, custom, privilege="priority_cohost", **ask)
        assert await tiers.get_chat_badge(session, rules, **ask) is None


async def test_a_paid_membership_is_premium_extends_once_per_key_and_expires(
    server: RunningServer, client: httpx.AsyncClient, member: Account
) -> None:
    await fund(server, member, 700)
    price, days = (
        server.settings.economy.tiers.membership_price,
        server.settings.economy.tiers.membership_days,
    )

    async def buy(key: str, periods: int = 1) -> httpx.Response:
        return await client.post(
            "/api/v1/memberships",
            json={"periods": periods},
            headers={**member.headers, "Idempotency-Key": key},
        )

    started = datetime.now(UTC)
    first = await buy("m1")
    assert first.status_code == 201, first.text
    until = datetime.fromisoformat(first.json()["premium_until"])
    assert timedelta(days=days) <= until - started < timedelta(days=days, minutes=1)
    replay = await buy("m1")
    assert (replay.json()["replayed"], replay.json()["premium_until"]) == (
        True,
        first.json()["premium_until"],
    )
    second = await buy("m2")
    assert datetime.fromisoformat(second.json()["premium_until"]) == until + timedelta(days=days)
    assert second.json()["balance"] == 700 - 2 * price
    poor = await buy("m3", periods=2)
    assert (poor.status_code, poor.json()["code"]) == (409, "insufficient_balance")
    mine = await level(client, member)
    assert (mine["level"], mine["tier"], mine["privileges"]) == (1, "premium", ALL_PRIVILEGES)
    tenant_id = await _tenant_id(server, member)
    end = until + timedelta(days=days)
    async with server.db.unit_of_work() as session:
        ask = {"tenant_id": tenant_id, "user_id": member.user_id}
        rules = server.settings.economy
        assert (
            await tiers.get_standing(session, rules, now=end - timedelta(seconds=1), **ask)
        ).tier == "premium"
        assert (await tiers.get_standing(session, rules, now=end, **ask)).tier == "follower"
        assert not await tiers.has_privilege(session, rules, privilege="priority_cohost", now=end, **ask)
    assert (await audit(server.db)).balanced


async def test_minors_cannot_buy_a_membership(
    server: RunningServer, client: httpx.AsyncClient, member: Account
) -> None:
    await fund(server, member, 1000)
    async with server.db.unit_of_work() as session:
        await session.execute(update(User).where(User.id == member.user_id).values(is_minor=True))
    refused = await client.post(
        "/api/v1/memberships", json={"periods": 1}, headers={**member.headers, "Idempotency-Key": "minor"}
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "minor_cannot_pay")
