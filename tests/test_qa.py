"""Live Q&A over the real API, on SQLite and PostgreSQL: ask in the live show, one upvote per
account (also under concurrency), the host's and moderators' answer / pin / hide, the
ordering, the word filter and the pace limits, the list kept with the replay, and the room
events ``qa_question`` / ``qa_update``."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from livecircle.interaction.qa import service as qa_service
from livecircle.interaction.qa.models import Question, QuestionVote
from livecircle.interaction.qa.tasks import VOTES_EVERY
from tests.conftest import Account, RunningServer, make_account, make_room
from tests.test_chat_engine import events_for, go_live, sock, wait_for

Json = dict[str, Any]


@pytest.fixture
async def live(client: httpx.AsyncClient, host: Account) -> Json:
    """A room of ``host`` with a live show."""
    room = await make_room(client, host, title="问答直播间")
    return {**room, "show_id": await go_live(client, host, room["id"])}


async def ask(client: httpx.AsyncClient, who: Account, room_id: int, text: str) -> httpx.Response:
    return await client.post(f"/api/v1/rooms/{room_id}/questions", json={"text": text}, headers=who.headers)


async def asked(client: httpx.AsyncClient, who: Account, room_id: int, text: str) -> Json:
    answer = await ask(client, who, room_id, text)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def vote(client: httpx.AsyncClient, who: Account, question_id: int) -> httpx.Response:
    return await client.put(f"/api/v1/questions/{question_id}/vote", headers=who.headers)


async def change(client: httpx.AsyncClient, who: Account, question_id: int, **fields: Any) -> httpx.Response:
    return await client.patch(f"/api/v1/questions/{question_id}", json=fields, headers=who.headers)


async def board(client: httpx.AsyncClient, room_id: int, who: Account | None = None) -> Json:
    answer = await client.get(f"/api/v1/rooms/{room_id}/questions", headers=who.headers if who else None)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def people(server: RunningServer, count: int) -> list[Account]:
    return list(await asyncio.gather(*(make_account(server, name=f"观众{n}") for n in range(count))))


def problem(answer: httpx.Response, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == code


async def test_viewers_ask_and_upvote_and_the_host_answers_pins_and_hides(
    client: httpx.AsyncClient, live: Json, host: Account, viewer: Account, other_viewer: Account
) -> None:
    question = await asked(client, viewer, live["id"], "  这款茶   可以冷泡吗？ ")
    assert question["text"] == "这款茶 可以冷泡吗？"  # whitespace collapsed as in chat
    assert (question["show_id"], question["user_id"], question["display_name"]) == (
        live["show_id"],
        viewer.user_id,
        "观众甲",
    )
    assert (question["votes"], question["status"], question["pinned"], question["voted"]) == (
        0,
        "open",
        False,
        False,
    )
    qid = question["id"]

    problem(await vote(client, viewer, qid), 409, "own_question")
    first = await vote(client, other_viewer, qid)
    assert first.status_code == 200, first.text
    assert (first.json()["votes"], first.json()["voted"]) == (1, True)
    again = await vote(client, other_viewer, qid)  # idempotent: still one vote
    assert (again.status_code, again.json()["votes"]) == (200, 1)
    mine = await board(client, live["id"], other_viewer)
    assert (mine["show_id"], mine["live"]) == (live["show_id"], True)
    assert [(q["id"], q["votes"], q["voted"]) for q in mine["questions"]] == [(qid, 1, True)]
    assert (await board(client, live["id"]))["questions"][0]["voted"] is False  # anonymous
    back = await client.delete(f"/api/v1/questions/{qid}/vote", headers=other_viewer.headers)
    assert (back.status_code, back.json()["votes"], back.json()["voted"]) == (200, 0, False)
    assert (await vote(client, other_viewer, qid)).json()["votes"] == 1

    problem(await change(client, other_viewer, qid, status="answered"), 403, "not_moderator")
    problem(await change(client, other_viewer, qid, pinned=True), 403, "not_moderator")
    problem(await change(client, host, qid), 422, "validation_error")
    pinned = await change(client, host, qid, pinned=True)
    assert pinned.status_code == 200, pinned.text
    assert pinned.json()["pinned"] is True
    answered = await change(client, host, qid, status="answered")
    assert (answered.json()["status"], answered.json()["pinned"]) == ("answered", True)
    assert answered.json()["answered_at"] is not None
    problem(await vote(client, host, qid), 409, "question_closed")  # answered: voting is over

    hidden = await change(client, host, qid, status="hidden")
    assert (hidden.json()["status"], hidden.json()["pinned"]) == ("hidden", False)  # hiding unpins
    assert (await board(client, live["id"], viewer))["questions"] == []
    assert [q["status"] for q in (await board(client, live["id"], host))["questions"]] == ["hidden"]
    problem(await vote(client, other_viewer, qid), 404, "question_not_found")
    problem(await change(client, host, qid, pinned=True), 409, "question_closed")
    reopened = await change(client, host, qid, status="open")
    assert (reopened.json()["status"], reopened.json()["answered_at"]) == ("open", None)
    problem(await vote(client, viewer, 2**31 - 1), 404, "question_not_found")
    assert (await client.put(f"/api/v1/questions/{qid}/vote")).status_code == 401


async def test_pinned_first_then_most_votes_then_oldest_and_one_pin_per_show(
    server: RunningServer, client: httpx.AsyncClient, live: Json, host: Account
) -> None:
    askers = await people(server, 4)
    voters = await people(server, 3)
    q = [(await asked(client, asker, live["id"], f"问题{n}"))["id"] for n, asker in enumerate(askers)]
    for voter in voters:  # q2: 3 votes, q1 and q3: 1 vote each, q0: none
        assert (await vote(client, voter, q[2])).status_code == 200
    assert (await vote(client, voters[0], q[1])).status_code == 200
    assert (await vote(client, voters[0], q[3])).status_code == 200

    async def order() -> list[int]:
        listed = [x["id"] for x in (await board(client, live["id"]))["questions"]]
        kept = await client.get(f"/api/v1/shows/{live['show_id']}/questions")
        assert [x["id"] for x in kept.json()] == listed
        return listed

    assert await order() == [q[2], q[1], q[3], q[0]]  # votes, then the older of a tie first
    assert (await change(client, host, q[0], pinned=True)).status_code == 200
    assert await order() == [q[0], q[2], q[1], q[3]]
    assert (await change(client, host, q[3], pinned=True)).status_code == 200  # unpins q0
    assert await order() == [q[3], q[2], q[1], q[0]]
    pins = [x["id"] for x in (await board(client, live["id"]))["questions"] if x["pinned"]]
    assert pins == [q[3]]
    # Two moderators pinning two questions at the same moment still leave exactly one pinned.
    both = await asyncio.gather(
        change(client, host, q[1], pinned=True), change(client, host, q[2], pinned=True)
    )
    assert [a.status_code for a in both] == [200, 200]
    pins = [x["id"] for x in (await board(client, live["id"]))["questions"] if x["pinned"]]
    assert len(pins) == 1
    assert pins[0] in (q[1], q[2])
    assert (await change(client, host, pins[0], pinned=False)).json()["pinned"] is False
    assert not [x for x in (await board(client, live["id"]))["questions"] if x["pinned"]]


async def test_one_upvote_per_account_even_when_sent_at_once(
    server: RunningServer, client: httpx.AsyncClient, live: Json, viewer: Account, other_viewer: Account
) -> None:
    question = await asked(client, viewer, live["id"], "一个账号只能投一票吗？")
    same = await asyncio.gather(*(vote(client, other_viewer, question["id"]) for _ in range(20)))
    assert {a.status_code for a in same} == {200}
    crowd = await people(server, 30)
    many = await asyncio.gather(*(vote(client, who, question["id"]) for who in crowd))
    assert {a.status_code for a in many} == {200}
    async with server.db.unit_of_work() as session:
        stored = await session.get(Question, question["id"])
        rows = await session.scalar(
            select(func.count()).select_from(QuestionVote).where(QuestionVote.question_id == question["id"])
        )
        mine = await session.scalar(
            select(func.count())
            .select_from(QuestionVote)
            .where(QuestionVote.question_id == question["id"], QuestionVote.user_id == other_viewer.user_id)
        )
    assert stored is not None
    assert (stored.votes, rows, mine) == (31, 31, 1)
    gone = await asyncio.gather(
        *(client.delete(f"/api/v1/questions/{question['id']}/vote", headers=w.headers) for w in crowd)
    )
    assert {a.status_code for a in gone} == {200}
    assert (await board(client, live["id"]))["questions"][0]["votes"] == 1


async def test_asking_needs_a_live_show_a_clean_text_and_a_gentle_pace(
    server: RunningServer,
    client: httpx.AsyncClient,
    live: Json,
    host: Account,
    viewer: Account,
    other_viewer: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    offline = await make_room(client, host, title="没开播")
    problem(await ask(client, viewer, offline["id"], "在吗？"), 409, "show_not_live")
    assert (
        await client.post(f"/api/v1/rooms/{live['id']}/questions", json={"text": "匿名"})
    ).status_code == 401
    problem(await ask(client, viewer, live["id"], "  "), 422, "question_text_invalid")
    problem(await ask(client, viewer, live["id"], "问" * 301), 422, "question_text_invalid")
    assert (await ask(client, viewer, live["id"], "问" * 300)).status_code == 201

    problem(await ask(client, other_viewer, live["id"], "可以私聊转账吗"), 422, "blocked")
    masked = await asked(client, other_viewer, live["id"], "这个傻逼问题有人答吗")
    assert masked["text"] == "这个**问题有人答吗"
    drainer = await make_account(server, name="引流")
    held = await ask(client, drainer, live["id"], "加微信聊吗")
    assert (held.status_code, held.json()["status"]) == (202, "hidden")
    assert held.json()["id"] not in [q["id"] for q in (await board(client, live["id"], drainer))["questions"]]
    queue = (await board(client, live["id"], host))["questions"]
    assert [q["text"] for q in queue if q["status"] == "hidden"] == ["加微信聊吗"]
    log = (await client.get(f"/api/v1/rooms/{live['id']}/moderation/log", headers=host.headers)).json()
    assert {"auto_block", "auto_hold"} <= {entry["action"] for entry in log}

    cooldown = await ask(client, viewer, live["id"], "再问一个")
    problem(cooldown, 429, "question_cooldown")
    assert 0 < cooldown.json()["retry_after"] <= qa_service.COOLDOWN_SECONDS
    monkeypatch.setattr(qa_service, "COOLDOWN_SECONDS", 0.0)  # the server runs in this process
    for n in range(qa_service.MAX_OPEN_PER_USER - 1):
        await asked(client, viewer, live["id"], f"追问{n}")
    problem(await ask(client, viewer, live["id"], "还有一个"), 409, "too_many_questions")
    for n in range(qa_service.MAX_OPEN_PER_USER + 1):  # the host is not limited
        await asked(client, host, live["id"], f"主播自问{n}")

    muted = await client.post(
        f"/api/v1/rooms/{live['id']}/moderation/sanctions",
        json={"user_id": other_viewer.user_id, "kind": "mute", "minutes": 5},
        headers=host.headers,
    )
    assert muted.status_code == 201, muted.text
    problem(await ask(client, other_viewer, live["id"], "我被禁言了吗"), 403, "muted")


async def test_questions_stay_with_the_show_after_it_ends(
    client: httpx.AsyncClient, live: Json, host: Account, viewer: Account, other_viewer: Account
) -> None:
    first = await asked(client, viewer, live["id"], "回放里还能看到吗？")
    second = await asked(client, other_viewer, live["id"], "下次什么时候开播？")
    assert (await vote(client, viewer, second["id"])).status_code == 200
    assert (await change(client, host, first["id"], status="answered")).status_code == 200
    ended = await client.post(f"/api/v1/shows/{live['show_id']}/end", headers=host.headers)
    assert ended.status_code == 200, ended.text

    kept = (await client.get(f"/api/v1/shows/{live['show_id']}/questions", headers=viewer.headers)).json()
    assert [(q["id"], q["status"], q["votes"], q["voted"]) for q in kept] == [
        (second["id"], "open", 1, True),
        (first["id"], "answered", 0, False),
    ]
    after = await board(client, live["id"])
    assert (after["show_id"], after["live"]) == (live["show_id"], False)
    assert [q["id"] for q in after["questions"]] == [second["id"], first["id"]]
    problem(await ask(client, viewer, live["id"], "还在吗？"), 409, "show_not_live")
    problem(await vote(client, host, second["id"]), 409, "show_not_live")
    problem(await client.get("/api/v1/shows/2147483647/questions"), 404, "show_not_found")


async def test_the_room_hears_new_questions_changes_and_throttled_vote_counts(
    server: RunningServer, client: httpx.AsyncClient, live: Json, host: Account, viewer: Account
) -> None:
    crowd = await people(server, 12)
    async with sock(server, live["id"]) as room:
        question = await asked(client, viewer, live["id"], "直播间能听到吗？")
        new = await wait_for(room, lambda e: e["type"] == "qa_question")
        assert new["question"] == {k: v for k, v in question.items() if k != "voted"}

        started = time.monotonic()
        await asyncio.gather(*(vote(client, who, question["id"]) for who in crowd))
        counts = [await wait_for(room, lambda e: e["type"] == "qa_update")]
        while counts[-1]["questions"] != [{"id": question["id"], "votes": 12}]:
            counts.append(await wait_for(room, lambda e: e["type"] == "qa_update"))
        took = time.monotonic() - started
        # Gathered per show: at most one count every VOTES_EVERY seconds, not one per vote.
        assert len(counts) <= took / VOTES_EVERY + 1, (len(counts), took)
        assert {e["show_id"] for e in counts} == {live["show_id"]}
        assert not [e for e in await events_for(room, 0.7) if e["type"] == "qa_update"]  # nothing left over

        assert (await change(client, host, question["id"], status="answered", pinned=True)).status_code == 200
        update = await wait_for(room, lambda e: e["type"] == "qa_update")
        [changed] = update["questions"]
        assert (changed["id"], changed["status"], changed["pinned"], changed["votes"]) == (
            question["id"],
            "answered",
            True,
            12,
        )
        assert (await change(client, host, question["id"], status="hidden")).status_code == 200
        update = await wait_for(room, lambda e: e["type"] == "qa_update")
        assert update["questions"] == [
            {"id": question["id"], "status": "hidden", "pinned": False, "votes": 12}
        ]

        assert (
            await client.post(f"/api/v1/shows/{live['show_id']}/end", headers=host.headers)
        ).status_code == 200
        over = await wait_for(room, lambda e: e["type"] == "qa_update" and "live" in e)
        assert (over["show_id"], over["live"], over["questions"]) == (live["show_id"], False, [])
