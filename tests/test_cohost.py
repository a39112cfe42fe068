"""The co-host (连麦) queue over the real API and room socket, on SQLite and PostgreSQL: apply,
accept, reject, invite, remove, cancel and who may do what; the order by tier with ageing; the
cooldown; concurrent applies; applicants who leave the room or whose show ends drop out."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
import websockets
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from websockets.asyncio.client import ClientConnection

from livecircle.economy import tiers
from livecircle.identity.schemas import Role
from livecircle.interaction.cohost import rules
from livecircle.interaction.cohost.models import CohostRequest
from livecircle.kit.clock import utcnow
from tests.conftest import Account, RunningServer, make_account, make_room


@dataclass
class Live:
    room_id: int
    show_id: int
    tenant_id: int


async def go_live(client: httpx.AsyncClient, host: Account) -> Live:
    """A room of ``host`` with a live show: the publish hook as nginx-rtmp would call it."""
    room = await make_room(client, host, title="连麦测试")
    key = (await client.get(f"/api/v1/rooms/{room['id']}/stream-key", headers=host.headers)).json()
    form = {"app": "ingest", "call": "publish", "addr": "127.0.0.1", "name": key["stream_key"]}
    assert (await client.post("/hooks/rtmp/publish", data=form)).status_code == 302
    state = (await client.get(f"/api/v1/rooms/{room['id']}/state")).json()
    assert state["mode"] == "live"
    return Live(room["id"], state["show"]["id"], room["tenant_id"])


@pytest.fixture
async def live(client: httpx.AsyncClient, host: Account) -> Live:
    return await go_live(client, host)


def base(live: Live) -> str:
    return f"/api/v1/rooms/{live.room_id}/cohost"


async def apply(client: httpx.AsyncClient, account: Account, live: Live) -> httpx.Response:
    return await client.post(f"{base(live)}/apply", headers=account.headers)


async def mine(client: httpx.AsyncClient, account: Account, live: Live) -> dict[str, Any]:
    answer = await client.get(f"{base(live)}/me", headers=account.headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def board(client: httpx.AsyncClient, account: Account, live: Live) -> dict[str, Any]:
    answer = await client.get(f"{base(live)}/queue", headers=account.headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def decide(
    client: httpx.AsyncClient, account: Account, live: Live, request_id: int, decision: str
) -> httpx.Response:
    return await client.post(f"{base(live)}/requests/{request_id}/{decision}", headers=account.headers)


async def request_id_of(client: httpx.AsyncClient, account: Account, live: Live) -> int:
    found = (await mine(client, account, live))["request_id"]
    assert isinstance(found, int)
    return found


def problem(answer: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = answer.json()
    return body


async def backdate(server: RunningServer, live: Live, account: Account, seconds: float) -> None:
    """Pretend ``account`` applied ``seconds`` ago (instead of sleeping)."""
    async with server.db.unit_of_work() as session:
        await session.execute(
            update(CohostRequest)
            .where(CohostRequest.show_id == live.show_id, CohostRequest.user_id == account.user_id)
            .values(applied_at=utcnow() - timedelta(seconds=seconds))
        )


async def end_cooldown(server: RunningServer, live: Live, account: Account) -> None:
    async with server.db.unit_of_work() as session:
        await session.execute(
            update(CohostRequest)
            .where(CohostRequest.room_id == live.room_id, CohostRequest.user_id == account.user_id)
            .values(cooldown_until=utcnow() - timedelta(seconds=1))
        )


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def room_socket(
    server: RunningServer, live: Live, account: Account | None = None
) -> AsyncIterator[Socket]:
    headers = account.headers if account else None  # a header, never a token in the URL
    url = f"{server.ws_url}/ws/rooms/{live.room_id}"
    async with websockets.connect(url, additional_headers=headers) as ws:
        socket = Socket(ws)
        await socket.next("hello")
        yield socket


class Socket:
    """A room socket that reads frames and keeps every event it has seen."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []

    async def next(
        self, kind: str, where: Callable[[dict[str, Any]], bool] = lambda e: True
    ) -> dict[str, Any]:
        """The first event of ``kind`` (already seen or arriving within 5 s) that ``where`` accepts."""
        deadline = time.monotonic() + 5
        cursor = 0
        while True:
            for event in self.seen[cursor:]:
                if event["type"] == kind and where(event):
                    self.seen.remove(event)
                    return event
            cursor = len(self.seen)
            frame = orjson.loads(await asyncio.wait_for(self.ws.recv(), deadline - time.monotonic()))
            self.seen.extend(frame["events"])


# ---- the order: pure ----


@dataclass
class Applicant:
    id: int
    tier_rank: int
    applied_at: datetime


def test_the_order_is_tier_weight_plus_waiting_then_first_come() -> None:
    now = utcnow()
    weight = rules.TIER_WEIGHT_S

    def ago(seconds: float) -> datetime:
        return now - timedelta(seconds=seconds)

    early_follower = Applicant(1, 0, ago(2 * weight + 10))  # score 2W + 10
    premium = Applicant(2, 2, ago(0))  # score 2W
    participant = Applicant(3, 1, ago(weight - 20))  # score 2W − 20
    late_follower = Applicant(4, 0, ago(weight))  # score W
    tie_later = Applicant(6, 0, ago(weight))  # same score and time: the lower id first
    ordered = rules.in_order([tie_later, late_follower, participant, premium, early_follower])
    assert [a.id for a in ordered] == [1, 2, 3, 4, 6]
    scores = [rules.score(a.tier_rank, a.applied_at, now) for a in ordered]
    assert scores == sorted(scores, reverse=True)
    # Time passing changes nobody's place: everyone's score grows alike.
    later = now + timedelta(hours=1)
    assert [a.id for a in sorted(ordered, key=lambda a: -rules.score(a.tier_rank, a.applied_at, later))] == [
        1,
        2,
        3,
        4,
        6,
    ]
    assert [rules.tier_rank(t) for t in ("follower", "participant", "premium", "unknown")] == [0, 1, 2, 0]


# ---- flows ----


async def test_a_viewer_applies_sees_the_position_and_the_host_accepts_then_removes(
    client: httpx.AsyncClient, host: Account, viewer: Account, live: Live
) -> None:
    assert (await mine(client, viewer, live))["status"] == "none"
    applied = await apply(client, viewer, live)
    assert applied.status_code == 201, applied.text
    me = applied.json()
    assert (me["status"], me["source"], me["position"], me["queue_length"], me["show_id"]) == (
        "applied",
        "apply",
        1,
        1,
        live.show_id,
    )
    problem(await apply(client, viewer, live), 409, "cohost_already_active")

    queue = await board(client, host, live)
    assert queue["show_id"] == live.show_id
    [entry] = queue["queue"]
    assert (entry["user_id"], entry["display_name"], entry["tier"], entry["position"]) == (
        viewer.user_id,
        "观众甲",
        "follower",
        1,
    )
    snapshot = (await client.get(base(live))).json()  # anyone in the room, even signed out
    assert snapshot["queue"] == [
        {"position": 1, "user_id": viewer.user_id, "display_name": "观众甲", "tier": "follower"}
    ]

    accepted = await decide(client, host, live, entry["id"], "accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    assert ((await mine(client, viewer, live))["status"], (await mine(client, viewer, live))["position"]) == (
        "accepted",
        None,
    )
    problem(await decide(client, host, live, entry["id"], "accept"), 409, "cohost_wrong_state")
    on_stage = await board(client, host, live)
    assert ([c["user_id"] for c in on_stage["cohosts"]], on_stage["queue"]) == ([viewer.user_id], [])

    removed = await decide(client, host, live, entry["id"], "remove")
    assert removed.json()["status"] == "removed"
    cooling = problem(await apply(client, viewer, live), 429, "cohost_cooldown")
    assert rules.COOLDOWN_S - 5 <= cooling["retry_after"] <= rules.COOLDOWN_S
    assert 0 < (await mine(client, viewer, live))["retry_after"] <= rules.COOLDOWN_S


async def test_rejecting_and_cancelling_start_a_cooldown_that_ends(
    server: RunningServer, client: httpx.AsyncClient, host: Account, viewer: Account, live: Live
) -> None:
    assert (await apply(client, viewer, live)).status_code == 201
    rejected = await decide(client, host, live, await request_id_of(client, viewer, live), "reject")
    assert rejected.json()["status"] == "rejected"
    assert (await mine(client, viewer, live))["status"] == "rejected"
    problem(await apply(client, viewer, live), 429, "cohost_cooldown")

    await end_cooldown(server, live, viewer)
    assert (await apply(client, viewer, live)).status_code == 201
    cancelled = await client.post(f"{base(live)}/cancel", headers=viewer.headers)
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    problem(
        await client.post(f"{base(live)}/cancel", headers=viewer.headers), 404, "cohost_request_not_found"
    )
    problem(await apply(client, viewer, live), 429, "cohost_cooldown")

    await end_cooldown(server, live, viewer)
    assert (await apply(client, viewer, live)).status_code == 201


async def test_the_host_invites_and_the_viewer_accepts_or_declines(
    server: RunningServer,
    client: httpx.AsyncClient,
    host: Account,
    viewer: Account,
    other_viewer: Account,
    live: Live,
) -> None:
    invite = f"{base(live)}/invite"
    invited = await client.post(invite, json={"user_id": viewer.user_id}, headers=host.headers)
    assert invited.status_code == 201, invited.text
    assert (invited.json()["status"], invited.json()["source"]) == ("invited", "invite")
    assert (await mine(client, viewer, live))["status"] == "invited"
    problem(
        await client.post(invite, json={"user_id": viewer.user_id}, headers=host.headers),
        409,
        "cohost_already_active",
    )
    problem(await apply(client, viewer, live), 409, "cohost_already_active")
    problem(
        await client.post(invite, json={"user_id": 2**31 - 1}, headers=host.headers),
        404,
        "cohost_user_not_found",
    )
    problem(
        await client.post(invite, json={"user_id": host.user_id}, headers=host.headers),
        409,
        "cohost_own_room",
    )
    assert (await client.get(base(live))).json()["invited"] == [viewer.user_id]

    accepted = await client.post(f"{base(live)}/invitation/accept", headers=viewer.headers)
    assert (accepted.status_code, accepted.json()["status"]) == (200, "accepted")
    problem(
        await client.post(f"{base(live)}/invitation/accept", headers=viewer.headers),
        404,
        "cohost_request_not_found",
    )

    await client.post(invite, json={"user_id": other_viewer.user_id}, headers=host.headers)
    declined = await client.post(f"{base(live)}/invitation/decline", headers=other_viewer.headers)
    assert declined.json()["status"] == "declined"
    assert (await apply(client, other_viewer, live)).status_code == 201  # declining costs no cooldown

    # Withdrawing an invitation costs the invitee nothing either; a co-host may step down.
    third = await make_account(server, name="观众丙")
    withdrawn = await client.post(invite, json={"user_id": third.user_id}, headers=host.headers)
    assert (await decide(client, host, live, withdrawn.json()["id"], "remove")).json()[
        "status"
    ] == "cancelled"
    assert (await apply(client, third, live)).status_code == 201
    stepped_down = await client.post(f"{base(live)}/cancel", headers=viewer.headers)
    assert stepped_down.json()["status"] == "left"
    assert (await board(client, host, live))["cohosts"] == []


async def test_who_may_do_what(
    server: RunningServer, client: httpx.AsyncClient, host: Account, viewer: Account, other_viewer: Account
) -> None:
    room = await make_room(client, host, title="还没开播")
    offline = Live(room["id"], 0, room["tenant_id"])
    problem(await apply(client, viewer, offline), 409, "cohost_not_live")
    assert (await mine(client, viewer, offline))["status"] == "none"
    assert (await client.get(base(offline))).json()["show_id"] is None

    live = await go_live(client, host)
    problem(await client.post(f"{base(live)}/apply"), 401, "unauthenticated")
    problem(await apply(client, host, live), 409, "cohost_own_room")
    assert (await apply(client, viewer, live)).status_code == 201
    request_id = await request_id_of(client, viewer, live)
    problem(await client.get(f"{base(live)}/queue", headers=viewer.headers), 403, "not_moderator")
    problem(await decide(client, other_viewer, live, request_id, "accept"), 403, "not_moderator")
    problem(
        await client.post(
            f"{base(live)}/invite", json={"user_id": other_viewer.user_id}, headers=viewer.headers
        ),
        403,
        "not_moderator",
    )
    other_host = await make_account(server, role=Role.HOST, name="别的主播")
    elsewhere = await go_live(client, other_host)
    problem(
        await decide(client, other_host, elsewhere, request_id, "accept"), 404, "cohost_request_not_found"
    )

    moderator = await make_account(server, role=Role.MODERATOR, name="房管")
    assert (await board(client, moderator, live))["queue"][0]["user_id"] == viewer.user_id
    assert (await decide(client, moderator, live, request_id, "accept")).json()["status"] == "accepted"

    ban = {"user_id": other_viewer.user_id, "kind": "ban"}
    assert (
        await client.post(
            f"/api/v1/rooms/{live.room_id}/moderation/sanctions", json=ban, headers=host.headers
        )
    ).status_code == 201
    problem(await apply(client, other_viewer, live), 403, "banned")


async def test_seats_on_stage_are_limited(
    server: RunningServer,
    client: httpx.AsyncClient,
    host: Account,
    live: Live,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rules, "MAX_COHOSTS", 2)
    people = [await make_account(server, name=f"嘉宾{n}") for n in range(3)]
    for person in people:
        assert (await apply(client, person, live)).status_code == 201
    ids = [await request_id_of(client, person, live) for person in people]
    for request_id in ids[:2]:
        assert (await decide(client, host, live, request_id, "accept")).status_code == 200
    full = problem(await decide(client, host, live, ids[2], "accept"), 409, "cohost_full")
    assert full["max_cohosts"] == 2
    invite = {"user_id": (await make_account(server, name="受邀")).user_id}
    problem(await client.post(f"{base(live)}/invite", json=invite, headers=host.headers), 409, "cohost_full")
    assert (await decide(client, host, live, ids[0], "remove")).status_code == 200
    assert (await decide(client, host, live, ids[2], "accept")).json()["status"] == "accepted"


# ---- order, cooldown and concurrency ----


async def test_the_queue_puts_higher_tiers_first_but_long_waits_win(
    server: RunningServer, client: httpx.AsyncClient, host: Account, live: Live
) -> None:
    weight = rules.TIER_WEIGHT_S
    early = await make_account(server, name="早到的新粉")
    member = await make_account(server, name="参与者")
    premium = await make_account(server, name="高级会员")
    late = await make_account(server, name="晚到的新粉")
    async with server.db.unit_of_work() as session:  # XP makes the tiers (levels 3 and 6)
        await tiers.do_add_xp(session, tenant_id=live.tenant_id, user_id=member.user_id, points=20)
        await tiers.do_add_xp(session, tenant_id=live.tenant_id, user_id=premium.user_id, points=515)
    for account, waited in ((early, 2 * weight + 10), (member, weight - 20), (premium, 0), (late, weight)):
        assert (await apply(client, account, live)).status_code == 201
        await backdate(server, live, account, waited)

    queue = (await board(client, host, live))["queue"]
    assert [(e["display_name"], e["tier"], e["tier_rank"]) for e in queue] == [
        ("早到的新粉", "follower", 0),
        ("高级会员", "premium", 2),
        ("参与者", "participant", 1),
        ("晚到的新粉", "follower", 0),
    ]
    assert [round(e["score"]) for e in queue] == [
        round(2 * weight + 10),
        round(2 * weight),
        round(2 * weight - 20),
        round(weight),
    ]
    assert [e["position"] for e in queue] == [1, 2, 3, 4]
    assert [(await mine(client, a, live))["position"] for a in (early, premium, member, late)] == [1, 2, 3, 4]
    snapshot = (await client.get(base(live))).json()["queue"]
    assert [s["user_id"] for s in snapshot] == [early.user_id, premium.user_id, member.user_id, late.user_id]

    # A premium member arriving now (score 2W) passes those below 2W, not the premium member
    # with the same tier who came first.
    newcomer = await make_account(server, name="新会员")
    async with server.db.unit_of_work() as session:
        await tiers.do_add_xp(session, tenant_id=live.tenant_id, user_id=newcomer.user_id, points=515)
    assert (await apply(client, newcomer, live)).json()["position"] == 3
    assert [(await mine(client, a, live))["position"] for a in (premium, member, late)] == [2, 4, 5]


async def test_concurrent_duplicate_applies_make_one_request(
    server: RunningServer, client: httpx.AsyncClient, host: Account, viewer: Account, live: Live
) -> None:
    answers = await asyncio.gather(*(apply(client, viewer, live) for _ in range(8)))
    assert sorted(a.status_code for a in answers) == [201] + [409] * 7
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"cohost_already_active"}
    # An invitation racing an application: still one active request.
    other = await make_account(server, name="抢答")
    raced = await asyncio.gather(
        apply(client, other, live),
        client.post(f"{base(live)}/invite", json={"user_id": other.user_id}, headers=host.headers),
    )
    assert sorted(a.status_code for a in raced) == [201, 409]
    async with server.db.unit_of_work() as session:
        counts = (
            await session.execute(
                select(CohostRequest.user_id, func.count())
                .where(CohostRequest.show_id == live.show_id)
                .group_by(CohostRequest.user_id)
            )
        ).all()
    assert sorted(n for _, n in counts) == [1, 1]


async def test_the_database_itself_keeps_one_active_request_per_user_and_show(
    server: RunningServer, viewer: Account, live: Live
) -> None:
    def row(status: str) -> CohostRequest:
        return CohostRequest(
            tenant_id=live.tenant_id,
            room_id=live.room_id,
            show_id=live.show_id,
            user_id=viewer.user_id,
            display_name="观众甲",
            tier="follower",
            status=status,
            source="apply",
        )

    async with server.db.unit_of_work() as session:
        session.add_all([row("rejected"), row("left"), row("applied")])  # closed ones do not count
        await session.flush()
    with pytest.raises(IntegrityError):
        async with server.db.unit_of_work() as session:
            session.add(row("invited"))


# ---- events, leaving, the end of the show ----


async def test_the_room_hears_updates_and_the_ordered_queue(
    server: RunningServer, client: httpx.AsyncClient, host: Account, viewer: Account, live: Live
) -> None:
    async with room_socket(server, live) as watcher:
        assert (await apply(client, viewer, live)).status_code == 201
        update_event = await watcher.next("cohost_update")
        assert (
            update_event["user_id"],
            update_event["status"],
            update_event["previous"],
            update_event["source"],
        ) == (
            viewer.user_id,
            "applied",
            None,
            "apply",
        )
        queue_event = await watcher.next("cohost_queue", lambda e: bool(e["queue"]))
        assert queue_event["show_id"] == live.show_id
        assert queue_event["queue"] == [
            {"position": 1, "user_id": viewer.user_id, "display_name": "观众甲", "tier": "follower"}
        ]
        assert queue_event["max_cohosts"] == rules.MAX_COHOSTS

        await decide(client, host, live, await request_id_of(client, viewer, live), "accept")
        accepted = await watcher.next("cohost_update", lambda e: e["status"] == "accepted")
        assert accepted["previous"] == "applied"
        stage = await watcher.next("cohost_queue", lambda e: bool(e["cohosts"]))
        assert (stage["queue"], [c["user_id"] for c in stage["cohosts"]]) == ([], [viewer.user_id])


async def test_an_applicant_who_leaves_the_room_drops_out_after_the_grace(
    server: RunningServer,
    client: httpx.AsyncClient,
    host: Account,
    viewer: Account,
    other_viewer: Account,
    live: Live,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rules, "LEAVE_GRACE_S", 0.3)
    async with room_socket(server, live, host) as console:
        async with room_socket(server, live, viewer), room_socket(server, live, viewer) as second_tab:
            assert (await apply(client, viewer, live)).status_code == 201
            await console.next("cohost_queue", lambda e: bool(e["queue"]))
            await second_tab.ws.close()  # one tab of two closes: still in line
            await asyncio.sleep(0.8)
            assert (await mine(client, viewer, live))["status"] == "applied"
        # The last tab closed.
        dropped = await console.next("cohost_update", lambda e: e["status"] == "left")
        assert (dropped["user_id"], dropped["previous"]) == (viewer.user_id, "applied")
        assert (await mine(client, viewer, live))["status"] == "left"
        assert (await apply(client, viewer, live)).status_code == 201  # leaving costs no cooldown

        # A reload (gone and back within the grace) keeps the place.
        monkeypatch.setattr(rules, "LEAVE_GRACE_S", 1.0)
        async with room_socket(server, live, other_viewer):
            assert (await apply(client, other_viewer, live)).status_code == 201
        async with room_socket(server, live, other_viewer):
            await asyncio.sleep(1.5)
            assert (await mine(client, other_viewer, live))["status"] == "applied"


async def test_leaving_an_empty_room_drops_out_too(
    server: RunningServer,
    client: httpx.AsyncClient,
    viewer: Account,
    live: Live,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nobody else in the room on this node: no snapshot to go by, the database decides."""
    monkeypatch.setattr(rules, "LEAVE_GRACE_S", 0.2)
    async with room_socket(server, live, viewer):
        assert (await apply(client, viewer, live)).status_code == 201

    async def left() -> bool:
        return (await mine(client, viewer, live))["status"] == "left"

    await eventually(left)


async def test_the_end_of_the_show_ends_every_request(
    server: RunningServer,
    client: httpx.AsyncClient,
    host: Account,
    viewer: Account,
    other_viewer: Account,
    live: Live,
) -> None:
    third = await make_account(server, name="观众丙")
    assert (await apply(client, viewer, live)).status_code == 201
    assert (await apply(client, other_viewer, live)).status_code == 201
    await decide(client, host, live, await request_id_of(client, other_viewer, live), "accept")
    await client.post(f"{base(live)}/invite", json={"user_id": third.user_id}, headers=host.headers)
    async with room_socket(server, live) as watcher:
        assert (
            await client.post(f"/api/v1/shows/{live.show_id}/end", headers=host.headers)
        ).status_code == 200
        ended = [await watcher.next("cohost_update", lambda e: e["status"] == "ended") for _ in range(3)]
        assert {e["user_id"] for e in ended} == {viewer.user_id, other_viewer.user_id, third.user_id}
        # A snapshot read just before the end may still go out after the updates (the queue's
        # publisher coalesces and reads fresh each run): the room must then get an empty one.
        empty = await watcher.next("cohost_queue", lambda e: not (e["queue"] or e["cohosts"] or e["invited"]))
        assert (empty["queue"], empty["cohosts"], empty["invited"]) == ([], [], [])
    async with server.db.unit_of_work() as session:
        statuses = list(
            await session.scalars(select(CohostRequest.status).where(CohostRequest.show_id == live.show_id))
        )
    assert statuses == ["ended"] * 3
    problem(await apply(client, viewer, live), 409, "cohost_not_live")
