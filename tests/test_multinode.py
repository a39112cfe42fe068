"""Two server processes sharing rooms through a real redis-server and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import websockets

from tests import services
from tests.conftest import migrate
from tests.test_realtime import next_event

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def backing_services() -> Iterator[tuple[str, str]]:
    services.require("redis", services.have_redis(), "redis-server is not installed")
    services.require("postgresql", services.have_postgres(), "PostgreSQL server binaries not found")
    with services.postgres_server() as db_url, services.redis_server() as redis_url:
        migrate(db_url)
        yield db_url, redis_url


@pytest.fixture(scope="module")
async def nodes(
    backing_services: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[list[str]]:
    db_url, redis_url = backing_services
    var = tmp_path_factory.mktemp("nodes")
    with contextlib.ExitStack() as stack:
        nodes = [services.livecircle_node(db_url, var, LIVECIRCLE_REDIS_URL=redis_url) for _ in range(2)]
        urls = [stack.enter_context(node).base_url for node in nodes]
        env = {**os.environ, "LIVECIRCLE_DATABASE_URL": db_url, "LIVECIRCLE_VAR_DIR": str(var)}
        demo = subprocess.run(
            [str(BIN / "livecircle"), "demo", "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        assert orjson.loads(demo.stdout)["room_id"]
        yield urls


async def token(base: str, email: str) -> str:
    async with httpx.AsyncClient(base_url=base) as client:
        response = await client.post(
            "/api/v1/auth/token", json={"email": email, "password": "livecircle-demo"}
        )
        assert response.status_code == 200, response.text
        value: str = response.json()["access_token"]
        return value


def ws(base: str, room_id: int, query: str = "", *, token: str = "") -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else None  # never a token in the URL
    url = f"{base.replace('http', 'ws')}/ws/rooms/{room_id}{query}"
    return websockets.connect(url, additional_headers=headers)


async def test_chat_crosses_nodes_and_counts_agree(nodes: list[str]) -> None:
    node_a, node_b = nodes
    sender = await token(node_a, "viewer1@demo.livecircle.local")
    async with ws(node_a, 1, token=sender) as on_a, ws(node_b, 1) as on_b:
        await next_event(on_a, "hello")
        await next_event(on_b, "hello")
        await asyncio.sleep(0.5)
        await on_a.send(orjson.dumps({"op": "chat", "text": "A 节点发的"}).decode())
        received = await next_event(on_b, "chat", timeout=2)
        assert received["text"] == "A 节点发的"
        mirrored = await next_event(on_a, "chat", timeout=2)
        assert mirrored["eid"] == received["eid"]  # one id, whichever node you read it from

        async def online(conn: Any) -> int:
            while True:
                event = await next_event(conn, "presence", timeout=12)
                if event["online"] == 2:
                    return 2

        assert await online(on_a) == 2
        assert await online(on_b) == 2


async def test_resume_on_another_node_gets_the_missed_events(nodes: list[str]) -> None:
    node_a, node_b = nodes
    talker = await token(node_a, "viewer2@demo.livecircle.local")
    async with ws(node_a, 1) as listener, ws(node_a, 1, token=talker) as speaker:
        await next_event(listener, "hello")
        await next_event(speaker, "hello")
        await speaker.send(orjson.dumps({"op": "chat", "text": "第一句"}).decode())
        last = (await next_event(listener, "chat"))["eid"]
        await listener.close()
        for text in ("第二句", "第三句"):
            await speaker.send(orjson.dumps({"op": "chat", "text": text}).decode())
            await next_event(speaker, "chat")
    async with ws(node_b, 1, f"?last_event_id={last}") as again:
        frame = orjson.loads(await asyncio.wait_for(again.recv(), 3))
        hello, *events = frame["events"]
        assert hello["resumed"] is True
        assert [e["text"] for e in events if e["type"] == "chat"] == ["第二句", "第三句"]


async def test_likes_and_peak_agree_across_nodes(nodes: list[str]) -> None:
    node_a, node_b = nodes
    host = await token(node_a, "host@demo.livecircle.local")
    async with httpx.AsyncClient(base_url=node_a) as client:
        key = (
            await client.get("/api/v1/rooms/1/stream-key", headers={"Authorization": f"Bearer {host}"})
        ).json()["stream_key"]
        form = {"app": "ingest", "call": "publish", "addr": "127.0.0.1", "name": key, "type": "live"}
        assert (await client.post("/hooks/rtmp/publish", data=form)).status_code == 302
    async with ws(node_a, 1) as on_a, ws(node_b, 1) as on_b, ws(node_b, 1) as watcher:
        for conn in (on_a, on_b, watcher):
            await next_event(conn, "hello")
        await on_a.send(orjson.dumps({"op": "like", "count": 30}).decode())
        await on_b.send(orjson.dumps({"op": "like", "count": 20}).decode())
        totals: list[int] = []
        while not totals or max(totals) < 50:  # both nodes' events may share one frame: read them all
            frame = orjson.loads(await asyncio.wait_for(watcher.recv(), 3))
            totals += [e["total"] for e in frame["events"] if e["type"] == "likes"]
        assert max(totals) == 50
        await asyncio.sleep(2.5)  # peak recorders write every 2 s
    for node in nodes:
        async with httpx.AsyncClient(base_url=node) as client:
            show = (await client.get("/api/v1/rooms/1/state")).json()["show"]
            assert show["like_count"] == 50
            assert show["peak_viewers"] >= 3


async def test_a_mute_on_one_node_holds_at_once_on_the_other(nodes: list[str]) -> None:
    node_a, node_b = nodes
    host = await token(node_a, "host@demo.livecircle.local")
    async with httpx.AsyncClient(base_url=node_b) as client:
        me = await client.post(
            "/api/v1/auth/register",
            json={"email": "crossnode@example.com", "password": "livecircle-demo", "display_name": "跨节点"},
        )
        assert me.status_code == 201, me.text
        user_id = me.json()["user"]["id"]
        talker = me.json()["access_token"]
    async with ws(node_b, 1, token=talker) as on_b:
        await next_event(on_b, "hello")
        await on_b.send(orjson.dumps({"op": "chat", "text": "禁言前"}).decode())
        await next_event(on_b, "chat")  # node B now has this sender's standing cached
        async with httpx.AsyncClient(base_url=node_a) as client:
            muted = await client.post(
                "/api/v1/rooms/1/moderation/sanctions",
                json={"user_id": user_id, "kind": "mute", "minutes": 5},
                headers={"Authorization": f"Bearer {host}"},
            )
            assert muted.status_code == 201, muted.text
        await next_event(on_b, "moderation", timeout=3)
        await on_b.send(orjson.dumps({"op": "chat", "text": "禁言后"}).decode())
        assert (await next_event(on_b, "error"))["code"] == "muted"


async def test_both_nodes_dashboards_agree_and_count_every_node_s_viewers(nodes: list[str]) -> None:
    """Events from both nodes reach PostgreSQL's log; each node's replica reads them all, so
    the dashboards agree; the online samples hold the total over the nodes, once per slot."""
    node_a, node_b = nodes
    host = await token(node_a, "host@demo.livecircle.local")
    headers = {"Authorization": f"Bearer {host}"}
    async with httpx.AsyncClient(base_url=node_a) as client:
        # A room of its own: the demo room's show carries the earlier tests' taps and likers.
        created = await client.post("/api/v1/rooms", json={"title": "双节点看板"}, headers=headers)
        assert created.status_code == 201, created.text
        room_id = created.json()["id"]
        key = (await client.get(f"/api/v1/rooms/{room_id}/stream-key", headers=headers)).json()["stream_key"]
        form = {"app": "ingest", "call": "publish", "addr": "127.0.0.1", "name": key, "type": "live"}
        assert (await client.post("/hooks/rtmp/publish", data=form)).status_code == 302
        show = (await client.get(f"/api/v1/rooms/{room_id}/state")).json()["show"]
        assert show["status"] == "live", show
        show_id = show["id"]
    devices = [f"node-device-{n}-{os.getpid()}" for n in range(3)]
    async with (
        ws(node_a, room_id, f"?device={devices[0]}") as on_a,
        ws(node_b, room_id, f"?device={devices[1]}") as on_b,
        ws(node_b, room_id, f"?device={devices[2]}") as also_b,
    ):
        for conn, taps in ((on_a, 7), (on_b, 5), (also_b, 4)):
            await next_event(conn, "hello")
            await conn.send(orjson.dumps({"op": "like", "count": taps}).decode())
        boards: list[dict[str, Any]] = []
        for _ in range(100):  # samples every 5 s, replicas every second
            boards = []
            for node in nodes:
                async with httpx.AsyncClient(base_url=node) as client:
                    answer = await client.get(f"/api/v1/shows/{show_id}/dashboard", headers=headers)
                    boards.append(answer.json()["figures"])
            mine = [b for b in boards if b["like_taps"] >= 16 and b["likes"] >= 3 and b["online"] >= 3]
            if len(mine) == 2 and boards[0] == boards[1]:
                break
            await asyncio.sleep(0.2)
        assert boards[0] == boards[1], boards
        assert boards[0]["online"] == 3  # the total over both nodes, not one node's share
        assert boards[0]["likes"] == 3  # three devices, each once
        assert boards[0]["like_taps"] == 16
