"""The room socket: hello snapshot, chat fan-out, presence, error frames; the hub's tick batching."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from livecircle.realtime.broker import MemoryBroker
from livecircle.realtime.hub import Hub
from tests.conftest import Account, RunningServer, make_room


@asynccontextmanager
async def room_socket(
    server: RunningServer, room_id: int | str, account: Account | None = None
) -> AsyncIterator[ClientConnection]:
    headers = account.headers if account else None  # a header, never a token in the URL
    async with websockets.connect(f"{server.ws_url}/ws/rooms/{room_id}", additional_headers=headers) as ws:
        yield ws


async def next_event(ws: ClientConnection, kind: str, timeout: float = 3.0) -> dict[str, Any]:
    """Read frames until an event of ``kind`` arrives."""
    deadline = time.monotonic() + timeout
    while True:
        frame = orjson.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
        for event in frame["events"]:
            if event["type"] == kind:
                return dict(event)


@pytest.fixture
async def room(client: httpx.AsyncClient, host: Account) -> dict[str, Any]:
    return await make_room(client, host, title="弹幕测试")


async def test_hello_describes_room_and_me(
    server: RunningServer, room: dict[str, Any], viewer: Account
) -> None:
    async with (
        room_socket(server, room["id"]) as anonymous,
        room_socket(server, room["id"], viewer) as member,
    ):
        hello = await next_event(anonymous, "hello")
        assert hello["me"] is None
        assert hello["room_id"] == room["id"]
        assert hello["state"]["mode"] == "offline"
        mine = await next_event(member, "hello")
        assert mine["me"]["id"] == viewer.user_id


async def test_chat_reaches_every_other_viewer_fast_and_is_stored(
    server: RunningServer,
    client: httpx.AsyncClient,
    room: dict[str, Any],
    viewer: Account,
    other_viewer: Account,
) -> None:
    async with (
        room_socket(server, room["id"], viewer) as a,
        room_socket(server, room["id"], other_viewer) as b,
        room_socket(server, room["id"]) as anonymous,
    ):
        for ws in (a, b, anonymous):
            await next_event(ws, "hello")
        sent_at = time.monotonic()
        await a.send(orjson.dumps({"op": "chat", "text": "大家好 👋 <b>hi</b>", "ref": "m1"}).decode())
        for ws in (b, anonymous, a):
            event = await next_event(ws, "chat", timeout=1.0)
            assert event["text"] == "大家好 👋 <b>hi</b>"
            assert event["user_id"] == viewer.user_id
            assert event["display_name"] == "观众甲"
        assert time.monotonic() - sent_at < 1.0
    stored = (await client.get(f"/api/v1/rooms/{room['id']}/chat")).json()
    assert [m["text"] for m in stored] == ["大家好 👋 <b>hi</b>"]


async def test_new_viewer_gets_recent_chat_in_hello(
    server: RunningServer, client: httpx.AsyncClient, room: dict[str, Any], viewer: Account
) -> None:
    for text in ("第一条", "第二条"):
        response = await client.post(
            f"/api/v1/rooms/{room['id']}/chat", json={"text": text}, headers=viewer.headers
        )
        assert response.status_code == 201
    async with room_socket(server, room["id"]) as ws:
        hello = await next_event(ws, "hello")
    assert [m["text"] for m in hello["chat"]] == ["第一条", "第二条"]


async def test_presence_counts_connections(
    server: RunningServer, room: dict[str, Any], viewer: Account
) -> None:
    async with room_socket(server, room["id"]) as first:
        await next_event(first, "hello")
        assert (await next_event(first, "presence"))["online"] == 1
        async with room_socket(server, room["id"], viewer) as second:
            await next_event(second, "hello")
            assert (await next_event(first, "presence"))["online"] == 2
        assert (await next_event(first, "presence"))["online"] == 1


async def test_anonymous_viewers_cannot_chat(server: RunningServer, room: dict[str, Any]) -> None:
    async with room_socket(server, room["id"]) as ws:
        await next_event(ws, "hello")
        await ws.send('{"op": "chat", "text": "hi", "ref": 7}')
        error = await next_event(ws, "error")
    assert error == {"type": "error", "code": "chat_needs_account", "message": "Sign in to chat", "ref": 7}


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "bad_frame"),
        ("[1, 2]", "bad_frame"),
        ('{"text": "no op"}', "bad_frame"),
        ('{"op": "dance"}', "unknown_op"),
        ('{"op": "chat", "text": "   "}', "chat_text_invalid"),
        ('{"op": "chat", "text": "' + "长" * 201 + '"}', "chat_text_invalid"),
        ("x" * 9000, "bad_frame"),
    ],
)
async def test_bad_frames_get_error_frames_and_the_socket_stays_open(
    server: RunningServer, room: dict[str, Any], viewer: Account, frame: str, code: str
) -> None:
    async with room_socket(server, room["id"], viewer) as ws:
        await next_event(ws, "hello")
        await ws.send(frame)
        assert (await next_event(ws, "error"))["code"] == code
        await ws.send('{"op": "ping", "ref": "still-here"}')
        assert (await next_event(ws, "pong"))["ref"] == "still-here"


async def test_unknown_or_private_room_is_refused(
    server: RunningServer, client: httpx.AsyncClient, host: Account
) -> None:
    private = await make_room(client, host, visibility="private")
    for target in ("999999", "abc", str(private["id"])):
        async with room_socket(server, target) as ws:
            error = await next_event(ws, "error")
            assert error["code"] in {"room_not_found", "bad_request"}
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 2)


class FakeSocket:
    """Stands in for a client socket inside the hub unit tests (the hub only queues to it)."""


async def test_hub_sends_one_frame_per_tick_with_every_event() -> None:
    from livecircle.realtime.hub import Connection

    hub = Hub(MemoryBroker(), tick_ms=50, queue_limit=16)
    await hub.broker.start(hub._deliver)
    conns = [
        Connection(FakeSocket(), channel="room:1", identity=None, context=None, queue_limit=16)  # type: ignore[arg-type]
        for _ in range(3)
    ]
    for conn in conns:
        hub.join(conn)
    for n in range(10):
        await hub.publish("room:1", {"type": "chat", "n": n})
    await hub.flush()
    frames = [conn.queue.get_nowait() for conn in conns]
    assert all(conn.queue.empty() for conn in conns)
    assert frames[0] is frames[1] is frames[2]  # encoded once, shared by every connection
    events = orjson.loads(frames[0] or "")["events"]
    assert [e["n"] for e in events if e["type"] == "chat"] == list(range(10))
    assert [(e["type"], e["online"]) for e in events if e["type"] == "presence"] == [("presence", 3)]
    assert all("eid" in e for e in events)


async def test_slow_consumer_is_dropped_without_stalling_others() -> None:
    from livecircle.realtime.hub import Connection

    hub = Hub(MemoryBroker(), tick_ms=50, queue_limit=4)
    await hub.broker.start(hub._deliver)
    slow = Connection(FakeSocket(), channel="room:1", identity=None, context=None, queue_limit=4)  # type: ignore[arg-type]
    fast = Connection(FakeSocket(), channel="room:1", identity=None, context=None, queue_limit=4)  # type: ignore[arg-type]
    hub.join(slow)
    hub.join(fast)
    for n in range(10):
        await hub.publish("room:1", {"type": "chat", "n": n})
        await hub.flush()
        while not fast.queue.empty():
            fast.queue.get_nowait()  # the fast client keeps up
    assert slow.dropped is True
    assert fast.dropped is False
    queued = [slow.queue.get_nowait() for _ in range(slow.queue.qsize())]
    assert queued[-1] is None  # the writer closes the socket when it reaches this
    assert len(queued) <= 4


async def chat_via_api(client: httpx.AsyncClient, room_id: int, account: Account, text: str) -> None:
    response = await client.post(
        f"/api/v1/rooms/{room_id}/chat", json={"text": text}, headers=account.headers
    )
    assert response.status_code == 201, response.text


async def test_reconnect_with_last_event_id_gets_exactly_the_missed_events(
    server: RunningServer,
    client: httpx.AsyncClient,
    room: dict[str, Any],
    viewer: Account,
    other_viewer: Account,
) -> None:
    async with room_socket(server, room["id"], viewer) as ws:
        await next_event(ws, "hello")
        await chat_via_api(client, room["id"], other_viewer, "一")
        seen = await next_event(ws, "chat")
    for text in ("二", "三"):
        await chat_via_api(client, room["id"], other_viewer, text)
    url = f"{server.ws_url}/ws/rooms/{room['id']}?last_event_id={seen['eid']}"
    async with websockets.connect(url, additional_headers=viewer.headers) as ws:
        frame = orjson.loads(await asyncio.wait_for(ws.recv(), 3))
        hello, *events = frame["events"]
        assert hello["type"] == "hello"
        assert hello["resumed"] is True
        assert [e["text"] for e in events if e["type"] == "chat"] == ["二", "三"]
        await chat_via_api(client, room["id"], other_viewer, "四")
        assert (await next_event(ws, "chat"))["text"] == "四"


async def test_reconnect_with_an_unknown_event_id_gets_a_fresh_snapshot(
    server: RunningServer, room: dict[str, Any], viewer: Account
) -> None:
    for stale in ("999999999", "not-an-id"):
        url = f"{server.ws_url}/ws/rooms/{room['id']}?last_event_id={stale}"
        async with websockets.connect(url) as ws:
            hello = await next_event(ws, "hello")
            assert hello["resumed"] is False
            assert "state" in hello
            assert "chat" in hello


async def test_room_frames_take_the_fast_path_over_the_real_server(
    server: RunningServer, client: httpx.AsyncClient, room: dict[str, Any], viewer: Account
) -> None:
    """Tick frames are written as pre-built WebSocket frames to uvicorn's transport."""
    hub = server.app.state.hub
    async with room_socket(server, room["id"], viewer) as ws:
        await next_event(ws, "hello")
        [conn] = [
            c for c in hub.channels[f"room:{room['id']}"] if c.identity and c.identity["id"] == viewer.user_id
        ]
        assert conn.raw is not None
        await ws.send(orjson.dumps({"op": "chat", "text": "快速路径"}).decode())
        assert (await next_event(ws, "chat"))["text"] == "快速路径"


async def test_a_socket_that_stops_reading_is_closed_as_too_slow(
    server: RunningServer, room: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = server.app.state.hub
    channel = f"room:{room['id']}"
    monkeypatch.setattr(hub, "max_buffer_bytes", 256 * 1024)  # the rule, sooner than at the 4 MiB default
    async with room_socket(server, room["id"]) as stalled, room_socket(server, room["id"]) as healthy:
        await next_event(stalled, "hello")
        await next_event(healthy, "hello")
        stalled.transport.pause_reading()  # type: ignore[attr-defined]
        conns = list(hub.channels[channel])
        limit = conns[0].max_buffer_bytes
        filler = "弹" * 20_000
        for _ in range(limit // 40_000 + 400):
            await hub.publish(channel, {"type": "chat", "text": filler})
            await asyncio.sleep(0.005)
            if any(c.dropped for c in conns):
                break
        assert [c.dropped for c in conns].count(True) == 1
        await next_event(healthy, "chat")  # the room went on for everybody else
        stalled.transport.resume_reading()  # type: ignore[attr-defined]
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await drain_until_closed(stalled)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4008


async def drain_until_closed(ws: ClientConnection) -> None:
    while True:
        await asyncio.wait_for(ws.recv(), 10)
