"""Points over the real API (and the service where the server awards them), on SQLite and
PostgreSQL: check-in streaks and freezes, earning caps under concurrency, the points store,
expiry against the ledger audit."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from livecircle.config import EconomySettings, PointsSettings
from livecircle.economy import checkin, expiry, ledger, points, service
from livecircle.economy.ledger import AccountRef
from livecircle.economy.models import Transfer
from livecircle.economy.points_models import PointLot
from livecircle.identity.schemas import Role
from livecircle.live import service as live_service
from livecircle.live.viewers import WatchClock
from tests.conftest import Account, RunningServer, make_account, make_room
from tests.room_kit import go_live
from tests.test_economy import _tenant_id, audit


def economy(server: RunningServer, **points_changes: Any) -> EconomySettings:
    """The server's economy settings with some points settings changed (for service calls)."""
    rules = server.settings.economy
    return rules.model_copy(update={"points": rules.points.model_copy(update=points_changes)})


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


async def check_in_on(server: RunningServer, account: Account, day: date, rules: EconomySettings) -> Any:
    tenant_id = await _tenant_id(server, account)
    async with server.db.unit_of_work() as session:
        done = await checkin.do_check_in(
            session, rules, tenant_id=tenant_id, user_id=account.user_id, today=day, now=noon(day)
        )
    return done.check_in


async def grant_points(server: RunningServer, account: Account, amount: int) -> None:
    tenant_id = await _tenant_id(server, account)
    async with server.db.unit_of_work() as session:
        await service.do_grant(
            session,
            tenant_id=tenant_id,
            user_id=account.user_id,
            currency="point",
            amount=amount,
            key=f"test-points:{uuid.uuid4()}",
            reason="test",
        )


async def balance(client: httpx.AsyncClient, account: Account) -> int:
    response = await client.get("/api/v1/points", headers=account.headers)
    assert response.status_code == 200, response.text
    return int(response.json()["balance"])


# ---- check-in ----


async def test_a_check_in_streak_grows_day_by_day_and_pays_its_bonus_once_a_day(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account
) -> None:
    today = datetime.now(UTC).date()
    rules = server.settings.economy
    for back in (3, 2, 1):
        await check_in_on(server, viewer, today - timedelta(days=back), rules)
    first = await client.post("/api/v1/checkin", headers=viewer.headers)
    assert first.status_code == 201, first.text
    assert (first.json()["streak"], first.json()["points"], first.json()["created"]) == (4, 8, True)
    again = await client.post("/api/v1/checkin", headers=viewer.headers)
    assert again.status_code == 200
    assert (again.json()["points"], again.json()["created"]) == (8, False)
    status = (await client.get("/api/v1/checkin", headers=viewer.headers)).json()
    assert (status["streak"], status["best_streak"], status["checked_in_today"]) == (4, 4, True)
    assert status["freeze_price"] == server.settings.economy.points.freeze_price
    assert await balance(client, viewer) == 5 + 6 + 7 + 8
    today_rules = (await client.get("/api/v1/points", headers=viewer.headers)).json()["today"]
    assert {r["rule"]: r["earned"] for r in today_rules}["checkin"] == 8
    assert (await audit(server.db)).balanced


async def test_the_bonus_stops_at_its_maximum(server: RunningServer, viewer: Account) -> None:
    rules = economy(server, checkin_max_bonus=2, freeze_every_days=100)
    start = date(2024, 1, 1)
    paid = [(await check_in_on(server, viewer, start + timedelta(days=n), rules)).points for n in range(5)]
    assert paid == [5, 6, 7, 7, 7]


async def test_a_missed_day_consumes_a_freeze_then_a_miss_without_one_resets_the_streak(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account
) -> None:
    today = datetime.now(UTC).date()
    rules = economy(server, freeze_every_days=3)
    for back in (6, 5, 4):
        last = await check_in_on(server, viewer, today - timedelta(days=back), rules)
    assert (last.streak, last.freeze_earned) == (3, True)
    # today - 3 is missed: the freeze earned on day 3 covers it.
    bridged = await check_in_on(server, viewer, today - timedelta(days=2), rules)
    assert (bridged.streak, bridged.freezes_used) == (4, 1)
    # today - 1 is missed with no freeze left: the streak is broken ...
    status = (await client.get("/api/v1/checkin", headers=viewer.headers)).json()
    assert (status["streak"], status["freezes"], status["checked_in_today"]) == (0, 0, False)
    assert status["best_streak"] == 4
    # ... and today's check-in starts again at 1.
    restarted = (await client.post("/api/v1/checkin", headers=viewer.headers)).json()
    assert (restarted["streak"], restarted["points"], restarted["freezes_used"]) == (1, 5, 0)


async def test_without_a_freeze_a_missed_day_resets_the_streak(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account
) -> None:
    today = datetime.now(UTC).date()
    for back in (3, 2):
        await check_in_on(server, viewer, today - timedelta(days=back), server.settings.economy)
    response = await client.post("/api/v1/checkin", headers=viewer.headers)
    assert (response.json()["streak"], response.json()["points"]) == (1, 5)


async def test_freezes_are_bought_with_points_once_per_key_up_to_the_limit(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account
) -> None:
    await grant_points(server, viewer, 1000)
    price, most = server.settings.economy.points.freeze_price, server.settings.economy.points.freeze_max

    async def buy(key: str) -> httpx.Response:
        return await client.post(
            "/api/v1/checkin/freezes", headers={**viewer.headers, "Idempotency-Key": key}
        )

    assert (await buy("f1")).json()["freezes"] == 1
    assert (await buy("f1")).json()["freezes"] == 1  # the same purchase, not another
    assert (await buy("f2")).json()["freezes"] == most
    full = await buy("f3")
    assert (full.status_code, full.json()["code"]) == (409, "freeze_limit_reached")
    assert await balance(client, viewer) == 1000 - most * price


# ---- earning rules and their caps ----


async def test_shares_earn_up_to_the_daily_cap_under_concurrency(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account
) -> None:
    rule = server.settings.economy.points.earn["share"]
    assert rule.daily_cap is not None
    responses = await asyncio.gather(
        *(
            client.post("/api/v1/points/shares", json={"target": f"room:{n}"}, headers=viewer.headers)
            for n in range(50)
        )
    )
    ok = [r for r in responses if r.status_code == 201]
    assert len(ok) == rule.daily_cap // rule.points
    assert {r.json()["code"] for r in responses if r.status_code != 201} == {"points_cap_reached"}
    late = await client.post("/api/v1/points/shares", json={"target": "room:late"}, headers=viewer.headers)
    assert (late.status_code, late.json()["code"], late.json()["daily_cap"]) == (
        409,
        "points_cap_reached",
        15,
    )
    summary = (await client.get("/api/v1/points", headers=viewer.headers)).json()
    share = next(r for r in summary["today"] if r["rule"] == "share")
    assert (share["earned"], share["daily_cap"], summary["balance"]) == (rule.daily_cap,) * 3
    assert (await audit(server.db)).balanced


async def test_a_repeated_share_is_a_replay_that_pays_nothing_more(
    client: httpx.AsyncClient, viewer: Account
) -> None:
    first = await client.post("/api/v1/points/shares", json={"target": "show:7"}, headers=viewer.headers)
    second = await client.post("/api/v1/points/shares", json={"target": "show:7"}, headers=viewer.headers)
    assert (first.json()["replayed"], second.json()["replayed"]) == (False, True)
    assert second.json()["balance"] == first.json()["balance"] == 5
    assert await balance(client, viewer) == 5


@pytest.mark.parametrize("rule", ["chat", "watch", "invite"])
async def test_server_awarded_rules_hold_their_cap_under_concurrency(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account, rule: str
) -> None:
    config = server.settings.economy.points.earn[rule]
    assert config.daily_cap is not None
    tenant_id = await _tenant_id(server, viewer)

    async def earn(key: str) -> points.Earned | None:
        return await points.award(
            server.db,
            server.settings.economy,
            tenant_id=tenant_id,
            user_id=viewer.user_id,
            rule=rule,
            key=key,
        )

    results = await asyncio.gather(*(earn(f"{rule}:{viewer.user_id}:{n}") for n in range(50)))
    paid = [r for r in results if r is not None]
    assert len(paid) == config.daily_cap // config.points
    assert await balance(client, viewer) == config.daily_cap
    again = await earn(f"{rule}:{viewer.user_id}:{next(i for i, r in enumerate(results) if r)}")
    assert again is not None
    assert again.replayed
    assert await balance(client, viewer) == config.daily_cap


# ---- the points store ----


async def make_item(client: httpx.AsyncClient, operator: Account, **fields: Any) -> dict[str, Any]:
    body = {
        "name": "优惠券",
        "kind": "coupon",
        "cost": 10,
        "stock": 5,
        "payload": {"template": "C10"},
        **fields,
    }
    response = await client.post("/api/v1/points/store", json=body, headers=operator.headers)
    assert response.status_code == 201, response.text
    item: dict[str, Any] = response.json()
    return item


@pytest.fixture
async def operator(server: RunningServer) -> Account:
    return await make_account(server, role=Role.OPERATOR, name="运营")


async def redeem(client: httpx.AsyncClient, account: Account, item_id: int, key: str) -> httpx.Response:
    return await client.post(
        f"/api/v1/points/store/{item_id}/redeem", headers={**account.headers, "Idempotency-Key": key}
    )


async def test_stock_never_goes_negative_under_concurrent_redemptions(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account, operator: Account
) -> None:
    item = await make_item(client, operator, stock=5, cost=10)
    await grant_points(server, viewer, 1000)
    responses = await asyncio.gather(*(redeem(client, viewer, item["id"], f"r{n}") for n in range(30)))
    assert sum(r.status_code == 201 for r in responses) == 5
    assert {r.json()["code"] for r in responses if r.status_code != 201} == {"out_of_stock"}
    listed = (await client.get("/api/v1/points/store", headers=viewer.headers)).json()
    assert next(i for i in listed if i["id"] == item["id"])["stock"] == 0
    assert await balance(client, viewer) == 950
    mine = (await client.get("/api/v1/points/redemptions", headers=viewer.headers)).json()
    assert [(r["item_id"], r["payload"]) for r in mine] == [(item["id"], {"template": "C10"})] * 5
    assert (await audit(server.db)).balanced


async def test_a_redemption_is_idempotent_limited_per_user_and_refused_without_points(
    server: RunningServer,
    client: httpx.AsyncClient,
    viewer: Account,
    other_viewer: Account,
    operator: Account,
) -> None:
    item = await make_item(client, operator, kind="goods", stock=10, cost=30, per_user_limit=2)
    other = await make_item(client, operator, stock=10, cost=30)
    await grant_points(server, viewer, 100)
    first = await redeem(client, viewer, item["id"], "k1")
    assert first.status_code == 201, first.text
    same = await redeem(client, viewer, item["id"], "k1")
    assert (same.status_code, same.json()["replayed"]) == (201, True)
    assert same.json()["redemption"]["id"] == first.json()["redemption"]["id"]
    reused = await redeem(client, viewer, other["id"], "k1")
    assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused")
    assert (await redeem(client, viewer, item["id"], "k2")).status_code == 201
    limit = await redeem(client, viewer, item["id"], "k3")
    assert (limit.status_code, limit.json()["code"]) == (409, "redeem_limit_reached")
    await grant_points(server, other_viewer, 10)
    poor = await redeem(client, other_viewer, item["id"], "p1")
    assert (poor.status_code, poor.json()["code"]) == (409, "insufficient_balance")
    listed = (await client.get("/api/v1/points/store", headers=viewer.headers)).json()
    assert next(i for i in listed if i["id"] == item["id"])["stock"] == 8  # the failed ones gave theirs back
    assert (await balance(client, viewer), await balance(client, other_viewer)) == (40, 10)


async def test_only_operators_manage_the_store(
    client: httpx.AsyncClient, viewer: Account, operator: Account
) -> None:
    body = {"name": "x", "kind": "goods", "cost": 1, "stock": 1}
    refused = await client.post("/api/v1/points/store", json=body, headers=viewer.headers)
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    item = await make_item(client, operator, stock=1)
    patched = await client.patch(
        f"/api/v1/points/store/{item['id']}",
        json={"add_stock": 4, "enabled": False},
        headers=operator.headers,
    )
    assert (patched.json()["stock"], patched.json()["enabled"]) == (5, False)
    below = await client.patch(
        f"/api/v1/points/store/{item['id']}", json={"add_stock": -6}, headers=operator.headers
    )
    assert (below.status_code, below.json()["code"]) == (409, "out_of_stock")
    gone = await redeem(client, viewer, item["id"], "d1")
    assert (gone.status_code, gone.json()["code"]) == (404, "store_item_not_found")


# ---- expiry ----


async def test_expiry_removes_exactly_the_expired_remainder_and_the_ledger_stays_balanced(
    server: RunningServer,
    client: httpx.AsyncClient,
    viewer: Account,
    other_viewer: Account,
    operator: Account,
) -> None:
    rules = economy(server, expiry_days=30)
    now = datetime.now(UTC)
    tenant_id = await _tenant_id(server, viewer)

    async def earn(account: Account, days_ago: int) -> None:
        async with server.db.unit_of_work() as session:
            await points.do_earn(
                session,
                rules,
                tenant_id=tenant_id,
                user_id=account.user_id,
                rule="invite",
                key=f"invite:{uuid.uuid4()}",
                now=now - timedelta(days=days_ago),
            )

    for days_ago in (40, 25, 5):  # lots of 50: expired, expiring in 5 days, fresh
        await earn(viewer, days_ago)
    await grant_points(server, viewer, 20)  # granted points are no lot: they never expire
    item = await make_item(client, operator, cost=30, stock=1)
    assert (await redeem(client, viewer, item["id"], "e1")).status_code == 201  # uses the oldest lot
    assert await balance(client, viewer) == 140
    soon = (await client.get("/api/v1/points", headers=viewer.headers)).json()
    # The server's own settings have expiry off, but lots recorded while it was on still show.
    assert soon["expiring"] == [{"day": (now + timedelta(days=5)).date().isoformat(), "points": 50}]

    # The other viewer's points left untracked (like a tip in points): unexpired lots are kept.
    for days_ago in (40, 5):
        await earn(other_viewer, days_ago)
    async with server.db.unit_of_work() as session:
        await ledger.post(
            session,
            tenant_id=tenant_id,
            key=f"tip:{uuid.uuid4()}",
            kind="tip",
            legs=[(AccountRef.wallet(other_viewer.user_id, "point"), -60), (AccountRef.revenue("point"), 60)],
            request={"tip": 60},
            result_of=lambda transfer_id, balances: {},
        )

    removed = await expiry.expire_points(server.db, rules, now=now)
    assert (removed[viewer.user_id], removed[other_viewer.user_id]) == (20, 0)
    assert (await balance(client, viewer), await balance(client, other_viewer)) == (120, 40)
    assert await expiry.expire_points(server.db, rules, now=now) == {}  # nothing twice
    async with server.db.unit_of_work() as session:
        left = await session.scalar(
            select(func.sum(PointLot.remaining)).where(PointLot.user_id == viewer.user_id)
        )
        expiries = await session.scalar(
            select(func.count())
            .select_from(Transfer)
            .where(Transfer.kind == "expire", Transfer.actor_id == viewer.user_id)
        )
    assert (left, expiries) == (100, 1)
    assert (await audit(server.db)).balanced


async def test_watch_time_pays_the_watch_rule_once_per_period(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account
) -> None:
    host = await make_account(server, role=Role.HOST, name="主播")
    room = await make_room(client, host)
    show_id = await go_live(client, host, room["id"])
    rules = EconomySettings(points=PointsSettings(watch_minutes=1))
    clock = WatchClock(server.db, server.app.state.hub, rules=rules)
    async with server.db.unit_of_work() as session:
        show = await live_service.get_show(session, show_id)
    for total in (30, 59, 61, 90, 121, 121):  # crosses 1 min once, 2 min once (the repeat is a retry)
        await clock.pay(show, {viewer.user_id: total}, step=30)
    wallet = (await client.get("/api/v1/wallet", headers=viewer.headers)).json()
    assert wallet["points"] == 2 * rules.points.earn["watch"].points
