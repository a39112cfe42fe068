"""``kill -9`` of the server in the middle of a gift load, on SQLite and PostgreSQL: after a
restart the ledger is balanced, every acknowledged gift is there, none is half-written or
doubled, and sending every key again moves only the gifts that had not committed. Every
committed gift has its analytics event (written in the same transaction), exactly once."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from livecircle.economy.models import Entry, Transfer
from livecircle.kit.tracking import AnalyticsEvent
from tests import services
from tests.burst import Reply, request
from tests.conftest import Account, RunningServer
from tests.test_economy import audit, fund, gift_id, room
from tests.test_economy_load import gift_call

__all__ = ["room"]

START = 10_000
SENDS = 600
PRICE = 10  # 棒棒糖: 5 to the host, 5 to the platform


async def transfers_by_key(server: RunningServer, keys: list[str]) -> Counter[str]:
    async with server.db.unit_of_work() as session:
        rows = await session.scalars(select(Transfer.key).where(Transfer.key.in_(keys)))
        return Counter(rows.all())


async def gift_events(server: RunningServer, keys: list[str]) -> int:
    """Analytics events of the gifts sent with ``keys`` (one per transfer, by its id)."""
    async with server.db.unit_of_work() as session:
        ids = (await session.scalars(select(Transfer.id).where(Transfer.key.in_(keys)))).all()
        count = await session.scalar(
            select(func.count()).where(AnalyticsEvent.event_id.in_([f"gift:{i}" for i in ids]))
        )
    return int(count or 0)


async def coins(server: RunningServer, account: Account) -> int:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        wallet = await http.get("/api/v1/wallet", headers=account.headers)
    return int(wallet.json()["coins"])


async def test_kill_9_during_a_gift_load_loses_nothing_and_doubles_nothing(
    server: RunningServer,
    client: httpx.AsyncClient,
    viewer: Account,
    room: dict[str, Any],
    tmp_path: Path,
) -> None:
    await fund(server, viewer, START)
    lollipop = await gift_id(client, viewer, "棒棒糖")
    keys = [f"crash-{uuid.uuid4()}" for _ in range(SENDS)]
    calls = {key: gift_call(viewer, room["id"], lollipop, key) for key in keys}
    database = server.settings.database_url

    with services.livecircle_node(database, tmp_path) as node:
        acknowledged: dict[str, Reply] = {}

        async def one(key: str) -> None:
            reply = await request(node.base_url, calls[key], timeout=60)
            if reply.status_code == 201:
                acknowledged[key] = reply

        load = [asyncio.ensure_future(one(key)) for key in keys]
        while len(acknowledged) < 50:
            assert not all(task.done() for task in load), "the load ended before the kill"
            await asyncio.sleep(0.005)
        node.kill()
        outcomes = await asyncio.gather(*load, return_exceptions=True)
    assert len(acknowledged) < SENDS, "every gift had committed: the kill came too late to test anything"
    assert any(isinstance(outcome, BaseException) for outcome in outcomes)

    moved = await transfers_by_key(server, keys)
    assert set(moved.values()) <= {1}
    assert set(acknowledged) <= set(moved), "an acknowledged gift is missing after the crash"
    report = await audit(server.db)
    assert report.balanced, report
    async with server.db.unit_of_work() as session:
        legs = await session.scalar(
            select(func.count())
            .select_from(Entry)
            .join(Transfer, Transfer.id == Entry.transfer_id)
            .where(Transfer.key.in_(keys))
        )
    assert legs == 3 * len(moved)  # viewer, host share, platform rest: no half transfer
    assert await coins(server, viewer) == START - PRICE * len(moved)
    # Each committed gift's analytics event committed with it (one transaction): none lost.
    assert await gift_events(server, keys) == len(moved)

    with services.livecircle_node(database, tmp_path) as node:
        replies = await asyncio.gather(*(request(node.base_url, calls[key]) for key in keys))
    assert Counter(reply.status_code for reply in replies) == {201: SENDS}
    for key, reply in zip(keys, replies, strict=True):
        if key in acknowledged:
            assert reply.content == acknowledged[key].content
    assert Counter((await transfers_by_key(server, keys)).values()) == {1: SENDS}
    assert await gift_events(server, keys) == SENDS  # the replays added none twice
    assert await coins(server, viewer) == START - PRICE * SENDS
    report = await audit(server.db)
    assert report.balanced, report
