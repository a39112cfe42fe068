"""The analytics pipeline end to end: actions in a live show become events (in their own
transaction, once each), an anonymous viewer's events merge into the account they sign up
with, every dashboard figure equals the same figure recomputed here from the raw event
rows, and an alert rule fires, is delivered signed, and its suggested action runs."""

from __future__ import annotations

import asyncio
import csv
import io
import time
import uuid
from collections import defaultdict
from typing import Any

import httpx
import orjson
import websockets
from sqlalchemy import select

from livecircle.analytics.models import AnonIdentity
from livecircle.identity import service as identity_service
from livecircle.identity.schemas import Role
from livecircle.kit import webhooks
from livecircle.kit.tracking import AnalyticsEvent
from tests.conftest import Account, RunningServer, make_account, make_room
from tests.room_kit import go_live, sock, wait_for
from tests.test_economy import fund, gift_id, send
from tests.webhook_kit import webhook_receiver


async def show_events(server: RunningServer, show_id: int) -> list[AnalyticsEvent]:
    async with server.db.sessionmaker() as session:
        rows = await session.scalars(select(AnalyticsEvent).where(AnalyticsEvent.show_id == show_id))
        return list(rows)


async def identities(server: RunningServer) -> dict[str, int]:
    async with server.db.sessionmaker() as session:
        rows = await session.execute(select(AnonIdentity.anon_id, AnonIdentity.user_id))
        return {str(anon): int(user) for anon, user in rows.all()}


async def wait_until(check: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


def recompute(events: list[AnalyticsEvent], links: dict[str, int]) -> dict[str, Any]:
    """The dashboard's figures from the raw rows, written independently of analytics.metrics."""

    def who(e: AnalyticsEvent) -> str:
        user = e.user_id or (links.get(e.anon_id) if e.anon_id else None)
        return str(user) if user else f"a:{e.anon_id}"

    by_type: defaultdict[str, list[AnalyticsEvent]] = defaultdict(list)
    for e in events:
        by_type[e.type].append(e)
    viewers = {who(e) for e in by_type["view_start"]}
    likers = {who(e) for e in by_type["like"]}
    clickers = {who(e) for e in by_type["product_click"]}
    comments, shares = len(by_type["chat"]), len(by_type["share"])
    paid, failed = len(by_type["order_paid"]), len(by_type["payment_failed"])
    return {
        "viewers": len(viewers),
        "comments": comments,
        "likes": len(likers),
        "like_taps": sum(e.amount or 0 for e in by_type["like"]),
        "shares": shares,
        "gifts": sum(int(e.props.get("count", 1)) for e in by_type["gift"]),
        "gift_coins": sum(e.amount or 0 for e in by_type["gift"] if e.props.get("currency") != "point"),
        "product_clicks": len(by_type["product_click"]),
        "orders": len(by_type["order_placed"]),
        "gmv_cents": sum(e.amount or 0 for e in by_type["order_placed"]),
        "paid_orders": paid,
        "new_followers": len(by_type["follow"]),
        "new_members": len(by_type["community_join"]),
        "peak": max((e.amount or 0 for e in by_type["online_sample"]), default=0),
        "interaction_rate": round((comments + len(likers) + shares) / len(viewers), 4) if viewers else None,
        "payment_success": round(paid / (paid + failed), 4) if paid + failed else None,
        "clickers": len(clickers),
    }


async def test_a_show_s_actions_become_events_and_the_dashboard_matches_them(
    server: RunningServer, client: httpx.AsyncClient, host: Account, viewer: Account
) -> None:
    room = await make_room(client, host, title="数据直播间")
    show_id = await go_live(client, host, room["id"])
    device = "dev-" + uuid.uuid4().hex[:12]
    anon_url = f"{server.ws_url}/ws/rooms/{room['id']}?device={device}"
    async with sock(server, room["id"], viewer) as ws, websockets.connect(anon_url) as anon:
        await wait_for(anon, lambda e: e["type"] == "hello")
        for text in ("大家好", "这个多少钱", "hello"):
            await ws.send(orjson.dumps({"op": "chat", "text": text}).decode())
        await ws.send(orjson.dumps({"op": "like", "count": 5}).decode())
        await ws.send(orjson.dumps({"op": "like", "count": 2}).decode())
        await anon.send(orjson.dumps({"op": "like", "count": 3}).decode())
        await fund(server, viewer, 500)
        flower = await gift_id(client, viewer, "鲜花")
        assert (await send(client, viewer, room["id"], flower, count=2)).status_code == 201
        too_many = await send(client, viewer, room["id"], flower, count=50)  # 2,600 coins: refused
        assert too_many.status_code in (402, 409, 422), too_many.text
        shared = await client.post(
            "/api/v1/points/shares", json={"target": f"show:{show_id}"}, headers=viewer.headers
        )
        assert shared.status_code == 201, shared.text
        assert (
            await client.put(f"/api/v1/rooms/{room['id']}/follow", headers=viewer.headers)
        ).status_code == 204

        async def settled() -> list[AnalyticsEvent] | None:
            events = await show_events(server, show_id)
            kinds = [e.type for e in events]
            wanted = {"chat": 3, "gift": 1, "share": 1, "follow": 1, "view_start": 2}
            taps = sum(e.amount or 0 for e in events if e.type == "like")
            # A sample with both viewers online: the peak is final (a later sample cannot pass it).
            both = any(e.type == "online_sample" and e.amount == 2 for e in events)
            ok = all(kinds.count(k) >= n for k, n in wanted.items()) and taps == 10 and both
            return events if ok else None

        events = await wait_until(settled, timeout=25)
        assert [e.type for e in events].count("gift") == 1  # the refused send left no event
        anon_likes = [e for e in events if e.type == "like" and e.anon_id == device]
        assert [(e.user_id, e.amount) for e in anon_likes] == [(None, 3)]

        # The anonymous viewer signs up from the same device: its events become the account's.
        registered = await client.post(
            "/api/v1/auth/register",
            json={
                "email": f"a{uuid.uuid4().hex[:10]}@example.com",
                "password": "s3cret-Passw0rd",
                "display_name": "新人",
            },
            headers={"X-Device-Id": device},
        )
        assert registered.status_code == 201, registered.text
        new_user = registered.json()["user"]["id"]
        assert (await identities(server))[device] == new_user

        dashboard = (await client.get(f"/api/v1/shows/{show_id}/dashboard", headers=host.headers)).json()
        figures = dashboard["figures"]
        expected = recompute(await show_events(server, show_id), await identities(server))
        assert {k: figures[k] for k in expected} == expected
        assert (figures["viewers"], figures["likes"], figures["comments"]) == (2, 2, 3)
        assert figures["interaction_rate"] == round((3 + 2 + 1) / 2, 4)
        assert set(dashboard["definitions"]) >= set(expected) - {"clickers"} | {"online", "watch_seconds"}

        async def merged() -> Any:
            return await server.app.state.analytics.run(
                lambda con: con.execute(
                    "SELECT person_id FROM person_events WHERE anon_id = ? AND type = 'like'", [device]
                ).fetchall()
            )

        await server.app.state.analytics.sync()
        assert await merged() == [(new_user,)]

    # Both sockets closed: each viewing ended with its seconds, once.
    async def ended() -> list[AnalyticsEvent] | None:
        ends = [e for e in await show_events(server, show_id) if e.type == "view_end"]
        return ends if len(ends) == 2 else None

    ends = await wait_until(ended)
    starts = {e.props["session"] for e in await show_events(server, show_id) if e.type == "view_start"}
    assert {e.props["session"] for e in ends} == starts


async def test_events_are_stored_once_by_id_and_only_operators_import(
    server: RunningServer, client: httpx.AsyncClient, host: Account, viewer: Account
) -> None:
    room = await make_room(client, host)
    operator = await make_account(server, role=Role.OPERATOR)
    batch = {
        "events": [
            {"event_id": f"e-{uuid.uuid4().hex}", "type": "share", "room_id": room["id"]} for _ in range(3)
        ]
    }
    first = await client.post("/api/v1/events", json=batch, headers=viewer.headers)
    again = await client.post("/api/v1/events", json=batch, headers=viewer.headers)
    assert (first.status_code, first.json()) == (202, {"accepted": 3, "duplicates": 0})
    assert again.json() == {"accepted": 0, "duplicates": 3}
    event_id = f"h-{uuid.uuid4().hex}"
    past = {"event_id": event_id, "type": "order_paid", "ts": "2026-09-01T10:00:00Z", "amount": 9900}
    history = {"events": [{**past, "user_id": viewer.user_id}]}
    refused = await client.post("/api/v1/events", json=history, headers=viewer.headers)
    assert (refused.status_code, refused.json()["code"]) == (403, "import_not_allowed")
    imported = await client.post("/api/v1/events", json=history, headers=operator.headers)
    assert imported.json() == {"accepted": 1, "duplicates": 0}
    async with server.db.sessionmaker() as session:
        row = await session.scalar(
            select(AnalyticsEvent).where(AnalyticsEvent.event_id == "import:" + event_id)
        )
    assert row is not None
    assert (row.user_id, row.amount, row.ts.isoformat()) == (
        viewer.user_id,
        9900,
        "2026-09-01T10:00:00+00:00",
    )
    wrong = {"events": [{"event_id": f"x-{uuid.uuid4().hex}", "type": "order_paid", "room_id": room["id"]}]}
    response = await client.post("/api/v1/events", json=wrong, headers=viewer.headers)
    assert (response.status_code, response.json()["code"]) == (422, "event_type_not_allowed")


async def test_a_quiet_show_raises_the_interaction_alert_signed_and_its_action_runs(
    server: RunningServer, client: httpx.AsyncClient, host: Account, viewer: Account, other_viewer: Account
) -> None:
    operator = await make_account(server, role=Role.OPERATOR)
    room = await make_room(client, host, title="冷场直播间")
    async with webhook_receiver() as receiver:
        rule = await client.post(
            "/api/v1/analytics/alert-rules",
            json={"name": "冷场", "metric": "interaction_rate", "comparator": "<", "threshold": 0.05,
                  "window_seconds": 10, "cooldown_seconds": 600, "min_viewers": 1, "action": "poll",
                  "room_id": room["id"], "webhook_url": receiver.url},
            headers=operator.headers,
        )  # fmt: skip
        assert rule.status_code == 201, rule.text
        receiver.secret = rule.json()["webhook_secret"]
        show_id = await go_live(client, host, room["id"])
        started = time.monotonic()
        async with sock(server, room["id"], viewer), sock(server, room["id"], other_viewer):

            async def raised() -> list[dict[str, Any]]:
                board = (await client.get(f"/api/v1/shows/{show_id}/dashboard", headers=host.headers)).json()
                return [a for a in board["alerts"] if a["metric"] == "interaction_rate"]

            alerts = await wait_until(raised, timeout=25)
            # The window (10 s) must fit in the show first; then a judge runs every 2 s.
            assert time.monotonic() - started < 10 + 2 + 5
            assert alerts[0]["value"] == 0.0
            assert alerts[0]["action"] == "poll"
            await receiver.wait_for(lambda r: len(r.accepted()) == 1)
            delivery = receiver.accepted()[0]
            assert delivery.verified
            assert delivery.headers[webhooks.EVENT_HEADER.lower()] == "alert.raised"
            assert delivery.event["alert_id"] == alerts[0]["id"]
            assert delivery.event["suggested_action"] == "poll"
            refused = await client.post(f"/api/v1/alerts/{alerts[0]['id']}/act", headers=viewer.headers)
            assert refused.status_code == 403
            acted = await client.post(f"/api/v1/alerts/{alerts[0]['id']}/act", headers=host.headers)
            assert acted.status_code == 200, acted.text
            polls = (await client.get(f"/api/v1/rooms/{room['id']}/polls", headers=host.headers)).json()
            assert [p["id"] for p in polls if p["status"] == "open"] == [acted.json()["poll_id"]]
        board = (await client.get(f"/api/v1/shows/{show_id}/dashboard", headers=host.headers)).json()
        assert board["alerts"][0]["acked_at"] is not None
        acks = [e for e in await show_events(server, show_id) if e.type == "alert_acked"]
        assert len(acks) == 1
        assert acks[0].amount is not None
        assert 0 <= acks[0].amount < 30


async def test_the_data_overview_and_every_analytics_table_exports(
    server: RunningServer, client: httpx.AsyncClient, host: Account, viewer: Account
) -> None:
    operator = await make_account(server, role=Role.OPERATOR)
    room = await make_room(client, host, title="总览直播间")
    show_id = await go_live(client, host, room["id"])
    anonymous = f"{server.ws_url}/ws/rooms/{room['id']}?device=over-{uuid.uuid4().hex[:12]}"
    async with sock(server, room["id"], viewer) as ws, websockets.connect(anonymous) as anon:
        await wait_for(anon, lambda e: e["type"] == "hello")
        await ws.send(orjson.dumps({"op": "chat", "text": "第一条"}).decode())

        async def chatted() -> bool:
            board = await client.get(f"/api/v1/shows/{show_id}/dashboard", headers=host.headers)
            return bool(board.json()["figures"]["comments"] == 1 and board.json()["figures"]["viewers"] == 2)

        await wait_until(chatted)

    async def viewing_ended() -> bool:  # the sockets' view_end are the last events this test makes
        return sum(e.type == "view_end" for e in await show_events(server, show_id)) == 2

    await wait_until(viewing_ended)
    await server.app.state.analytics.sync()
    rows = (await client.get("/api/v1/analytics/trends?days=2", headers=operator.headers)).json()
    day = rows[-1]["day"]
    async with server.db.sessionmaker() as session:
        tenant_id = (await identity_service.get_tenant_by_slug(session, "demo")).id
        today = [
            e
            for e in await session.scalars(
                select(AnalyticsEvent).where(AnalyticsEvent.tenant_id == tenant_id)
            )
            if e.ts.date().isoformat() == day
        ]
    links = await identities(server)
    people = {
        e.user_id or links.get(e.anon_id or "") or f"a:{e.anon_id}" for e in today if e.user_id or e.anon_id
    }
    assert rows[-1]["chat"] == sum(e.type == "chat" for e in today)
    assert rows[-1]["active"] == len(people)
    csv_rows = list(
        csv.reader(
            io.StringIO(
                (
                    await client.get("/api/v1/analytics/trends.csv?days=2", headers=operator.headers)
                ).text.lstrip("\ufeff")
            )
        )
    )
    assert csv_rows[0][:2] == ["day", "active"]
    assert csv_rows[-1][0] == rows[-1]["day"]
    board = await client.get(f"/api/v1/shows/{show_id}/dashboard.csv", headers=host.headers)
    figures = {row[0]: row for row in csv.reader(io.StringIO(board.text.lstrip("\ufeff")))}
    assert figures["comments"][1] == "1"
    assert "danmaku" in figures["comments"][2]
    page = await client.get("/console/analytics", headers=operator.headers)
    assert page.status_code == 200
    assert f'data-show-id="{show_id}"' in page.text
    assert (await client.get("/console/analytics", headers=viewer.headers)).status_code == 403
    assert (await client.get("/api/v1/analytics/trends", headers=viewer.headers)).status_code == 403
    assert (
        await client.get(f"/api/v1/shows/{show_id}/dashboard.csv", headers=viewer.headers)
    ).status_code == 403
