"""The interaction engine over real sockets: limits, moderation, filter verdicts, chat features, likes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from livecircle.identity.schemas import Role
from livecircle.kit.snowflake import EPOCH_MS, NODE_BITS, SEQUENCE_BITS
from livecircle.live.models import Show
from tests.conftest import Account, RunningServer, make_account, make_room
from tests.room_kit import Event, events_for, go_live, sock, wait_for


async def send(ws: ClientConnection, **op: Any) -> None:
    await ws.send(orjson.dumps(op).decode())


async def say(ws: ClientConnection, text: str, ref: str = "r") -> Event:
    """Send a line and return the sender's own echo or the error it got."""
    await send(ws, op="chat", text=text, ref=ref)
    return await wait_for(
        ws, lambda e: (e["type"] == "chat" and e["text"] == text) or e["type"] in ("error", "chat_held")
    )


@pytest.fixture
async def room(client: httpx.AsyncClient, host: Account) -> dict[str, Any]:
    return await make_room(client, host, title="互动引擎")


def is_chat(text: str) -> Callable[[Event], bool]:
    return lambda e: e["type"] == "chat" and e["text"] == text


# ---- limits ----


async def test_rate_limit_answers_with_retry_after_and_spares_moderators(
    server: RunningServer, room: dict[str, Any], viewer: Account, host: Account
) -> None:
    async with sock(server, room["id"], viewer) as ws:
        for n in range(20):
            assert (await say(ws, f"第{n}条"))["type"] == "chat"
        refused = await say(ws, "第21条", ref="over")
        assert refused["code"] == "rate_limited"
        assert refused["ref"] == "over"
        assert 0 < refused["retry_after"] <= 30
    async with sock(server, room["id"], host) as ws:
        for n in range(25):
            assert (await say(ws, f"主播第{n}条"))["type"] == "chat"


async def test_slow_mode_spaces_messages_per_user(
    server: RunningServer, client: httpx.AsyncClient, room: dict[str, Any], viewer: Account, host: Account
) -> None:
    response = await client.patch(
        f"/api/v1/rooms/{room['id']}/chat-policy", json={"slow_mode_seconds": 30}, headers=host.headers
    )
    assert response.status_code == 200, response.text
    async with sock(server, room["id"], viewer) as ws:
        assert (await say(ws, "慢速模式一"))["type"] == "chat"
        refused = await say(ws, "慢速模式二")
        assert refused["code"] == "slow_mode"
        assert 25 < refused["retry_after"] <= 30


async def test_members_only_and_new_account_gates(
    server: RunningServer, client: httpx.AsyncClient, room: dict[str, Any], host: Account
) -> None:
    outsider = await make_account(server, tenant="other-brand", name="外人")
    fresh = await make_account(server, name="新人")
    policy = {"mode": "members", "min_account_age_minutes": 60}
    response = await client.patch(
        f"/api/v1/rooms/{room['id']}/chat-policy", json=policy, headers=host.headers
    )
    assert response.status_code == 200
    async with sock(server, room["id"], outsider) as ws:
        assert (await say(ws, "我能说话吗"))["code"] == "chat_restricted"
    async with sock(server, room["id"], fresh) as ws:
        refused = await say(ws, "我是新人")
        assert refused["code"] == "chat_restricted"
        assert refused["mode"] == "new_account"


async def test_a_private_rooms_cached_context_admits_no_outsider(
    server: RunningServer, client: httpx.AsyncClient, host: Account, viewer: Account
) -> None:
    private = await make_room(client, host, title="内部直播", visibility="private")
    outsider = await make_account(server, tenant="other-brand", name="外人")
    async with sock(server, private["id"], viewer) as ws:
        assert (await say(ws, "内部同事在"))["type"] == "chat"  # the room's context is now cached
        refused = await client.post(
            f"/api/v1/rooms/{private['id']}/chat", json={"text": "我也来"}, headers=outsider.headers
        )
        assert refused.status_code == 404, refused.text
        allowed = await client.post(
            f"/api/v1/rooms/{private['id']}/chat", json={"text": "同事二号"}, headers=host.headers
        )
        assert allowed.status_code == 201, allowed.text


async def test_followers_only_mode(
    server: RunningServer, client: httpx.AsyncClient, room: dict[str, Any], host: Account, viewer: Account
) -> None:
    await client.patch(
        f"/api/v1/rooms/{room['id']}/chat-policy", json={"mode": "followers"}, headers=host.headers
    )
    async with sock(server, room["id"], viewer) as ws:
        assert (await say(ws, "关注前"))["code"] == "chat_restricted"
    assert (await client.put(f"/api/v1/rooms/{room['id']}/follow", headers=viewer.headers)).status_code == 204
    server.app.state.chat.pipeline.forget_sender(room["id"], viewer.user_id)
    async with sock(server, room["id"], viewer) as ws:
        assert (await say(ws, "关注后"))["type"] == "chat"


# ---- moderation ----


async def test_mute_ban_and_delete_reach_every_viewer(
    server: RunningServer,
    client: httpx.AsyncClient,
    room: dict[str, Any],
    host: Account,
    viewer: Account,
    other_viewer: Account,
) -> None:
    async with (
        sock(server, room["id"], host) as mod,
        sock(server, room["id"], viewer) as offender,
        sock(server, room["id"], other_viewer) as bystander,
    ):
        line = await say(offender, "广告广告")
        await wait_for(bystander, is_chat("广告广告"))
        await send(mod, op="delete", message_id=line["id"])
        for ws in (mod, offender, bystander):
            gone = await wait_for(ws, lambda e: e["type"] == "chat_deleted")
            assert gone["id"] == line["id"]
        await send(mod, op="mute", user_id=viewer.user_id, minutes=5)
        for ws in (mod, offender, bystander):
            muted = await wait_for(ws, lambda e: e["type"] == "moderation")
            assert (muted["action"], muted["user_id"]) == ("mute", viewer.user_id)
        refused = await say(offender, "我被禁言了吗")
        assert refused["code"] == "muted"
        assert 0 < refused["retry_after"] <= 300
        await send(mod, op="ban", user_id=other_viewer.user_id)
        await wait_for(bystander, lambda e: e["type"] == "moderation" and e["action"] == "ban")
        assert (await say(bystander, "被封了"))["code"] == "banned"
        await send(offender, op="mute", user_id=other_viewer.user_id)
        assert (await wait_for(offender, lambda e: e["type"] == "error"))["code"] == "not_moderator"
    stored = (await client.get(f"/api/v1/rooms/{room['id']}/chat")).json()
    assert "广告广告" not in [m["text"] for m in stored]
    log = (await client.get(f"/api/v1/rooms/{room['id']}/moderation/log", headers=host.headers)).json()
    assert [e["action"] for e in log][:3] == ["ban", "mute", "delete"]
    assert all(e["actor_id"] == host.user_id for e in log[:3])


async def test_word_filter_blocks_masks_and_holds_for_review(
    server: RunningServer, client: httpx.AsyncClient, room: dict[str, Any], host: Account, viewer: Account
) -> None:
    operator = await make_account(server, role=Role.OPERATOR, name="运营")
    words = [
        {"word": "竞品直播间", "action": "mask", "category": "custom"},
        {"word": "内部价", "action": "review", "category": "custom"},
    ]
    added = await client.post("/api/v1/moderation/words", json=words, headers=operator.headers)
    assert added.status_code == 201, added.text
    async with sock(server, room["id"], viewer) as ws, sock(server, room["id"]) as audience:
        blocked = await say(ws, "可以私聊转账吗")  # blocked by the shipped default list
        assert blocked["code"] == "blocked"
        await send(ws, op="chat", text="去竞 品 直 播 间看看")
        for who in (ws, audience):
            seen = await wait_for(who, lambda e: e["type"] == "chat")
            assert seen["text"] == "去*********看看"
        held = await say(ws, "有内部价吗")
        assert held["type"] == "chat_held"
        assert not [e for e in await events_for(audience, 0.4) if e["type"] == "chat"]
        queue = (await client.get(f"/api/v1/rooms/{room['id']}/moderation/held", headers=host.headers)).json()
        assert [m["text"] for m in queue] == ["有内部价吗"]
        approve = await client.post(
            f"/api/v1/rooms/{room['id']}/moderation/held/{held['id']}/approve", headers=host.headers
        )
        assert approve.status_code == 200, approve.text
        assert (await wait_for(audience, is_chat("有内部价吗")))["id"] == held["id"]
    log = (await client.get(f"/api/v1/rooms/{room['id']}/moderation/log", headers=host.headers)).json()
    assert {"auto_block", "auto_hold", "approve"} <= {e["action"] for e in log}


async def test_word_list_reloads_without_dropping_messages(
    server: RunningServer, client: httpx.AsyncClient, room: dict[str, Any], viewer: Account
) -> None:
    operator = await make_account(server, role=Role.OPERATOR, name="运营")
    async with sock(server, room["id"], viewer) as ws:
        assert (await say(ws, "热更新测试词出现"))["type"] == "chat"
        sent = asyncio.create_task(say(ws, "重载期间的消息"))
        added = await client.post(
            "/api/v1/moderation/words",
            json=[{"word": "热更新测试词", "action": "block", "category": "custom"}],
            headers=operator.headers,
        )
        assert added.status_code == 201
        assert (await sent)["type"] == "chat"
        assert (await say(ws, "热更新测试词又出现"))["code"] == "blocked"
    bad = await client.post(
        "/api/v1/moderation/words", json=[{"word": "赌", "action": "block"}], headers=operator.headers
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "word_list_invalid"


async def test_reports_reach_the_moderators(
    server: RunningServer, client: httpx.AsyncClient, room: dict[str, Any], host: Account, viewer: Account
) -> None:
    reporter = await make_account(server, name="举报人")
    async with sock(server, room["id"], viewer) as ws:
        line = await say(ws, "可疑的消息")
    for _ in range(2):  # idempotent per reporter
        response = await client.post(
            f"/api/v1/rooms/{room['id']}/chat/{line['id']}/report",
            json={"reason": "广告"},
            headers=reporter.headers,
        )
        assert response.status_code == 201
    reports = (
        await client.get(f"/api/v1/rooms/{room['id']}/moderation/reports", headers=host.headers)
    ).json()
    assert [(r["message_id"], r["reason"]) for r in reports] == [(line["id"], "广告")]
    assert (
        await client.get(f"/api/v1/rooms/{room['id']}/moderation/reports", headers=viewer.headers)
    ).status_code == 403


# ---- chat features ----


async def test_mentions_replies_pins_and_badges(
    server: RunningServer,
    client: httpx.AsyncClient,
    room: dict[str, Any],
    host: Account,
    viewer: Account,
    other_viewer: Account,
) -> None:
    async with (
        sock(server, room["id"], host) as h,
        sock(server, room["id"], viewer) as a,
        sock(server, room["id"], other_viewer) as b,
    ):
        question = await say(b, "请问有红色吗 😀")
        assert "badge" not in question  # no badge: left out on the wire
        answer_text = "@观众乙 有的，3号链接"
        await send(h, op="chat", text=answer_text, reply_to=question["id"])
        answer = await wait_for(a, is_chat(answer_text))
        assert answer["badge"] == "host"
        assert answer["mentions"] == [other_viewer.user_id]
        assert answer["reply_to"] == {
            "id": question["id"],
            "display_name": "观众乙",
            "text": "请问有红色吗 😀",
        }
        await send(h, op="pin", message_id=answer["id"])
        pinned = await wait_for(b, lambda e: e["type"] == "pin")
        assert pinned["message"]["id"] == answer["id"]
    mentions = (await client.get("/api/v1/me/mentions", headers=other_viewer.headers)).json()
    assert [m["text"] for m in mentions] == [answer_text]
    async with websockets.connect(f"{server.ws_url}/ws/rooms/{room['id']}") as late:
        hello = await wait_for(late, lambda e: e["type"] == "hello")
        assert hello["pinned"]["text"] == answer_text
    async with sock(server, room["id"], viewer) as a:
        await send(a, op="chat", text="回复不存在的消息", reply_to=12345)
        assert (await wait_for(a, lambda e: e["type"] == "error"))["code"] == "message_not_found"


async def test_a_line_on_the_wire_carries_only_what_the_client_cannot_derive(
    server: RunningServer, client: httpx.AsyncClient, room: dict[str, Any], viewer: Account
) -> None:
    """Every viewer receives every line: the room, show and time (in the time-ordered id) and the
    empty optional fields stay off the wire; the stored line keeps them all."""
    async with sock(server, room["id"], viewer) as ws:
        before = time.time()
        line = await say(ws, "这件有几个颜色")
    assert set(line) == {"type", "id", "user_id", "display_name", "text", "eid"}
    sent_at = ((line["id"] >> (NODE_BITS + SEQUENCE_BITS)) + EPOCH_MS) / 1000
    assert before - 1 <= sent_at <= time.time() + 1
    recent = (await client.get(f"/api/v1/rooms/{room['id']}/chat", headers=viewer.headers)).json()
    stored = next(m for m in recent if m["id"] == line["id"])
    assert {"room_id", "created_at", "kind", "mentions", "badge"} <= set(stored)


async def test_keyword_auto_reply_with_cooldown(
    server: RunningServer, client: httpx.AsyncClient, room: dict[str, Any], host: Account, viewer: Account
) -> None:
    rule = {"match": "contains", "keyword": "发货", "reply": "下单后48小时内发货", "cooldown_seconds": 60}
    created = await client.post(f"/api/v1/rooms/{room['id']}/auto-replies", json=rule, headers=host.headers)
    assert created.status_code == 201, created.text
    exact = {"match": "exact", "keyword": "链接", "reply": "链接在购物车第1个", "cooldown_seconds": 0}
    await client.post(f"/api/v1/rooms/{room['id']}/auto-replies", json=exact, headers=host.headers)
    async with sock(server, room["id"], viewer) as ws:

        async def auto_replies_after(text: str) -> list[Event]:
            await send(ws, op="chat", text=text)
            return [e for e in await events_for(ws, 0.5) if e.get("kind") == "auto_reply"]

        [reply] = await auto_replies_after("什么时候发货呀")
        assert reply["text"] == "下单后48小时内发货"
        assert reply["mentions"] == [viewer.user_id]
        assert await auto_replies_after("发货快吗") == []  # within the cooldown
        assert await auto_replies_after("求链接") == []  # the exact rule does not match
        [exact_reply] = await auto_replies_after("链接")
        assert exact_reply["text"] == "链接在购物车第1个"


# ---- likes, storage, peak ----


async def test_likes_are_aggregated_per_tick_and_stored_with_the_show(
    server: RunningServer, client: httpx.AsyncClient, room: dict[str, Any], host: Account, viewer: Account
) -> None:
    show_id = await go_live(client, host, room["id"])
    async with sock(server, room["id"], viewer) as tapper, sock(server, room["id"]) as watcher:
        for _ in range(25):
            await send(tapper, op="like", count=1)
        seen = await events_for(watcher, 1.0)
        likes = [e for e in seen if e["type"] == "likes"]
        assert sum(e["delta"] for e in likes) == 25
        assert len(likes) < 25  # aggregated, not one event per tap
        assert likes[-1]["total"] == 25
        await send(tapper, op="like", count=500)
        assert (await wait_for(tapper, lambda e: e["type"] == "error"))["code"] == "bad_request"
    await asyncio.sleep(1.3)
    async with server.db.unit_of_work() as session:
        show = await session.get(Show, show_id)
        assert show is not None
        assert show.like_count == 25


async def test_chat_is_stored_in_batches_and_peak_is_kept(
    server: RunningServer, client: httpx.AsyncClient, room: dict[str, Any], host: Account
) -> None:
    show_id = await go_live(client, host, room["id"])
    writer = server.app.state.chat.writer
    await writer.flush()
    batches_before, written_before = writer.batches, writer.written
    talkers = [await make_account(server, name=f"观众{n}") for n in range(3)]
    async with (
        sock(server, room["id"], talkers[0]) as a,
        sock(server, room["id"], talkers[1]) as b,
        sock(server, room["id"], talkers[2]) as c,
    ):
        for n in range(10):
            for ws in (a, b, c):
                await send(ws, op="chat", text=f"批量{n}")
        await wait_for(a, lambda e: e["type"] == "presence" and e["online"] == 3)
        await asyncio.sleep(0.6)
    await asyncio.sleep(2.5)  # the peak recorder writes every 2 s
    assert writer.written - written_before == 30
    assert writer.batches - batches_before < 10
    stored = (await client.get(f"/api/v1/shows/{show_id}/chat")).json()
    assert len(stored) == 30
    async with server.db.unit_of_work() as session:
        show = await session.get(Show, show_id)
        assert show is not None
        assert show.peak_viewers >= 3
