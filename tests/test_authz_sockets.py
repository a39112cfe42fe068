"""Room socket ops that carry ids (docs/realtime.md), sent by callers who may not act on those
ids: another member of tenant A and an admin of tenant B in tenant A's public room, the tenant
B admin in a live room of their own (where they are staff) naming tenant A's ids, and an
anonymous viewer. Each op gets an error frame with the reason it was refused, no frame carries
a line of the private room or a secret of tenant A, and no row of the database changes.
A private room does not admit them at all."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from tests.authz_kit import Seeded, changes, outsider_stage, seed, snapshot, warm_up
from tests.conftest import Account, RunningServer

Op = dict[str, Any]


@pytest.fixture(scope="module")
async def seeded(server: RunningServer) -> Seeded:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        seeded = await seed(server, client)
        await outsider_stage(client, seeded)
        await warm_up(client, seeded)
        return seeded


@contextlib.asynccontextmanager
async def joined(
    server: RunningServer, room_id: Any, account: Account | None
) -> AsyncIterator[ClientConnection]:
    headers = {"Authorization": f"Bearer {account.token}"} if account else {}
    async with websockets.connect(f"{server.ws_url}/ws/rooms/{room_id}", additional_headers=headers) as ws:
        yield ws


class Frames:
    """Everything one connection receives, to look for answers and leaks in."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seen: list[str] = []

    async def event(self, match: Any, timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            text = await asyncio.wait_for(self.ws.recv(), deadline - time.monotonic())
            assert isinstance(text, str)
            self.seen.append(text)
            for event in orjson.loads(text)["events"]:
                if match(event):
                    return dict(event)

    async def refused(self, op: Op) -> str:
        """Send ``op``; the answer to it (by ``ref``) must be an error: its code."""
        ref = uuid.uuid4().hex
        await self.ws.send(orjson.dumps({**op, "ref": ref}).decode())
        answer = await self.event(lambda e: e.get("ref") == ref)
        assert answer["type"] == "error", f"{op} was not refused: {answer}"
        return str(answer["code"])


def moderation_ops(message_id: Any, user_id: int) -> list[Op]:
    return [
        {"op": "delete", "message_id": message_id},
        {"op": "pin", "message_id": message_id},
        *({"op": op, "user_id": user_id, "minutes": 60} for op in ("mute", "unmute", "ban", "unban")),
    ]


def cases(seeded: Seeded) -> list[tuple[str, Any, Account | None, Op, set[str]]]:
    """(who, room, as, op, the codes that refuse it for the right reason)."""
    public, private, shared = seeded.public, seeded.private, seeded.shared
    buyer, member, outsider = seeded.buyer.user_id, seeded.member, seeded.outsider
    gift = {"op": "gift", "gift_id": shared["gift"], "count": 1, "key": uuid.uuid4().hex}
    foreign_reply = {"op": "chat", "text": "回复", "reply_to": private["message"]}
    found: list[tuple[str, Any, Account | None, Op, set[str]]] = []
    for op in moderation_ops(public["message"], buyer):
        found.append(("member", public["room"], member, op, {"not_moderator"}))
        found.append(("outsider", public["room"], outsider, op, {"not_moderator"}))
        found.append(("anonymous", public["room"], None, op, {"not_moderator", "unauthenticated"}))
    for who, account in (("member", member), ("outsider", outsider)):
        found.append((who, public["room"], account, foreign_reply, {"message_not_found"}))
        found.append(
            (
                who,
                public["room"],
                account,
                {"op": "report", "message_id": private["message"]},
                {"message_not_found"},
            )
        )
    found.append(("outsider", public["room"], outsider, gift, {"forbidden"}))
    found.append(("anonymous", public["room"], None, gift, {"unauthenticated"}))
    found.append(
        (
            "anonymous",
            public["room"],
            None,
            {"op": "report", "message_id": public["message"]},
            {"bad_request"},
        )
    )
    own = shared["outsider_room"]  # tenant B's live room, where the outsider is staff
    for message_id in (public["message"], private["message"]):
        for op in ({"op": "delete", "message_id": message_id}, {"op": "pin", "message_id": message_id}):
            found.append(("outsider in own room", own, outsider, op, {"message_not_found"}))
        found.append(
            (
                "outsider in own room",
                own,
                outsider,
                {"op": "report", "message_id": message_id},
                {"message_not_found"},
            )
        )
        reply = {"op": "chat", "text": "回复", "reply_to": message_id}
        found.append(("outsider in own room", own, outsider, reply, {"message_not_found"}))
    found.append(
        ("outsider in own room", own, outsider, gift | {"key": uuid.uuid4().hex}, {"gift_not_found"})
    )
    return found


async def test_socket_ops_with_others_ids_are_refused_and_change_nothing(
    server: RunningServer, seeded: Seeded
) -> None:
    secrets = {**seeded.secrets, "the private room's chat line": seeded.lines["private"]}
    before = await snapshot(server)
    wrong: list[str] = []
    by_connection: dict[tuple[Any, str], tuple[Account | None, list[tuple[Op, set[str]]]]] = {}
    for who, room, account, op, codes in cases(seeded):
        by_connection.setdefault((room, who), (account, []))[1].append((op, codes))
    for (room, who), (account, ops) in by_connection.items():
        async with joined(server, room, account) as ws:
            frames = Frames(ws)
            await frames.event(lambda e: e["type"] == "hello")
            for op, codes in ops:
                code = await frames.refused(op)
                if code not in codes:
                    wrong.append(f"{who} in room {room}: {op['op']} refused with {code}, expected {codes}")
            leaked = [name for name, value in secrets.items() if any(value in f for f in frames.seen)]
            if leaked:
                wrong.append(f"{who} in room {room} received {leaked}")
    assert wrong == []
    assert changes(before, await snapshot(server)) == []


@pytest.mark.parametrize("who", ["outsider", "anonymous"])
async def test_a_private_room_admits_no_one_from_outside_its_tenant(
    server: RunningServer, seeded: Seeded, who: str
) -> None:
    account = seeded.outsider if who == "outsider" else None
    async with joined(server, seeded.private["room"], account) as ws:
        text = await asyncio.wait_for(ws.recv(), 5)
        assert isinstance(text, str)
        [event] = orjson.loads(text)["events"]
        assert event["type"] == "error"
        assert event["code"] == "room_not_found"
        assert seeded.lines["private"] not in text
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code == 4404
