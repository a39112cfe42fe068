"""Shared helpers for tests of a live room: go live through the RTMP publish hook, open the
room socket, wait for events."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
import websockets
from websockets.asyncio.client import ClientConnection

from tests.conftest import Account, RunningServer

Event = dict[str, Any]


@asynccontextmanager
async def sock(
    server: RunningServer, room_id: int, account: Account | None = None
) -> AsyncIterator[ClientConnection]:
    query = f"?token={account.token}" if account else ""
    async with websockets.connect(f"{server.ws_url}/ws/rooms/{room_id}{query}") as ws:
        await wait_for(ws, lambda e: e["type"] == "hello")
        yield ws


async def wait_for(ws: ClientConnection, match: Callable[[Event], bool], timeout: float = 3.0) -> Event:
    deadline = time.monotonic() + timeout
    while True:
        frame = orjson.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
        for event in frame["events"]:
            if match(event):
                return dict(event)


async def events_for(ws: ClientConnection, seconds: float) -> list[Event]:
    """Every event that arrives within ``seconds``."""
    seen: list[Event] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            frame = orjson.loads(await asyncio.wait_for(ws.recv(), left))
        except TimeoutError:
            break
        seen.extend(frame["events"])
    return seen


async def go_live(client: httpx.AsyncClient, owner: Account, room_id: int) -> int:
    key = (await client.get(f"/api/v1/rooms/{room_id}/stream-key", headers=owner.headers)).json()[
        "stream_key"
    ]
    form = {
        "app": "ingest",
        "call": "publish",
        "addr": "127.0.0.1",
        "clientid": "1",
        "type": "live",
        "name": key,
    }
    assert (await client.post("/hooks/rtmp/publish", data=form)).status_code == 302
    state = (await client.get(f"/api/v1/rooms/{room_id}/state")).json()
    show_id: int = state["show"]["id"]
    return show_id
