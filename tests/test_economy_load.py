"""The issue's load acceptance, on SQLite and PostgreSQL: a thousand gift sends at once from a
wallet that pays for half of them, and a thousand duplicates of one idempotency key."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import httpx
from sqlalchemy import func, select

from livecircle.economy.models import Transfer
from tests.burst import Call, burst
from tests.conftest import Account, RunningServer
from tests.test_economy import audit, fund, gift_id, room, send

__all__ = ["room"]


def gift_call(account: Account, room_id: int, gift: int, key: str, count: int = 1) -> Call:
    return Call(
        "POST",
        f"/api/v1/rooms/{room_id}/gifts",
        {**account.headers, "Idempotency-Key": key},
        {"gift_id": gift, "count": count},
    )


async def test_a_thousand_concurrent_gifts_from_a_wallet_that_pays_for_500(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account, room: dict[str, Any]
) -> None:
    await fund(server, viewer, 500)
    heart = await gift_id(client, viewer, "小心心")  # 1 coin
    replies = await burst(
        server.base_url, [gift_call(viewer, room["id"], heart, str(uuid.uuid4())) for _ in range(1000)]
    )
    codes = Counter(r.status_code for r in replies)
    assert codes == {201: 500, 409: 500}, (codes, {r.content for r in replies if r.status_code >= 500})
    assert {r.json()["code"] for r in replies if r.status_code == 409} == {"insufficient_balance"}
    assert sorted(r.json()["balance"] for r in replies if r.status_code == 201) == list(range(500))
    assert (await client.get("/api/v1/wallet", headers=viewer.headers)).json()["coins"] == 0
    async with server.db.unit_of_work() as session:
        gifts = await session.scalar(
            select(func.count()).select_from(Transfer).where(Transfer.actor_id == viewer.user_id)
        )
    assert gifts == 500
    report = await audit(server.db)
    assert report.balanced, report


async def test_one_idempotency_key_moves_coins_once_and_replays_the_same_body(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account, room: dict[str, Any]
) -> None:
    await fund(server, viewer, 100)
    heart = await gift_id(client, viewer, "小心心")
    key = f"dup-{uuid.uuid4()}"
    replies = await burst(server.base_url, [gift_call(viewer, room["id"], heart, key) for _ in range(1000)])
    codes = Counter(r.status_code for r in replies)
    assert set(codes) <= {201, 409}, (codes, {r.content for r in replies if r.status_code >= 500})
    assert codes[201] >= 1
    assert {r.json()["code"] for r in replies if r.status_code == 409} <= {"idempotency_in_progress"}
    bodies = {r.content for r in replies if r.status_code == 201}
    assert len(bodies) == 1
    again = await send(client, viewer, room["id"], heart, key=key)
    assert again.status_code == 201
    assert again.content in bodies
    async with server.db.unit_of_work() as session:
        moved = await session.scalar(select(func.count()).select_from(Transfer).where(Transfer.key == key))
    assert moved == 1
    assert (await client.get("/api/v1/wallet", headers=viewer.headers)).json()["coins"] == 99
    other = await send(client, viewer, room["id"], heart, key=key, count=2)
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    missing = await client.post(
        f"/api/v1/rooms/{room['id']}/gifts", json={"gift_id": heart}, headers=viewer.headers
    )
    assert missing.status_code == 400
    assert missing.json()["code"] == "idempotency_key_invalid"
