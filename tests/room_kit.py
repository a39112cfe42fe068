"""Shared helpers for tests of a live room: go live through the RTMP publish hook, open the
room socket, wait for events."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
import websockets
from sqlalchemy import update
from websockets.asyncio.client import ClientConnection

from livecircle.kit.clock import utcnow
from livecircle.kit.jobs import Job
from tests.conftest import Account, RunningServer

Event = dict[str, Any]


@asynccontextmanager
async def sock(
    server: RunningServer, room_id: int, account: Account | None = None
) -> AsyncIterator[ClientConnection]:
    # A non-browser client: the bearer token in a header, never in the URL.
    headers = account.headers if account else None
    async with websockets.connect(f"{server.ws_url}/ws/rooms/{room_id}", additional_headers=headers) as ws:
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


async def settle_chat(server: RunningServer) -> None:
    """Store the pending chat lines, then pay their points (both run on timers in production)."""
    engine = server.app.state.chat
    await engine.writer.flush()
    await engine.earnings.flush()


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
    state = (await client.get(f"/api/v1/rooms/{room_id}/state", headers=owner.headers)).json()
    show_id: int = state["show"]["id"]
    return show_id


async def bring_forward(
    server: RunningServer, *, job_key: str, column: Any, row_id: int, seconds: float
) -> datetime:
    """Make a timed thing (a poll's close, a lottery's draw) due ``seconds`` from now: its row's
    ``column`` and its durable job both move, so the job runner does the real work, sooner
    than the product's minimum duration would allow a test to wait."""
    due = utcnow() + timedelta(seconds=seconds)
    model = column.class_
    async with server.db.unit_of_work() as session:
        await session.execute(update(model).where(model.id == row_id).values({column.key: due}))
        moved = await session.execute(update(Job).where(Job.key == job_key).values(run_at=due))
        assert getattr(moved, "rowcount", 0) == 1, f"no job {job_key}"
    return due
