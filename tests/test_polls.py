"""Polls and questionnaires through the HTTP API and the room socket, on both databases."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import datetime
from typing import Any

import httpx
import pytest

from livecircle.identity.schemas import Role
from livecircle.interaction.polls.models import Poll
from tests.conftest import Account, RunningServer, make_account, make_room
from tests.room_kit import bring_forward, go_live, sock, wait_for

COLOURS = ["红", "黄", "蓝"]


async def live_room(client: httpx.AsyncClient, host: Account) -> tuple[int, int]:
    room = await make_room(client, host, title="投票直播间")
    return room["id"], await go_live(client, host, room["id"])


async def create_poll(
    client: httpx.AsyncClient, host: Account, room_id: int, **fields: Any
) -> httpx.Response:
    body: dict[str, Any] = {
        "title": "下一款上什么颜色？",
        "questions": [{"text": "颜色", "options": COLOURS}],
        "duration_s": 60,
        "launch": True,
    }
    return await client.post(f"/api/v1/rooms/{room_id}/polls", json=body | fields, headers=host.headers)


def ballot(poll: dict[str, Any], *indexes: int) -> dict[str, Any]:
    question = poll["questions"][0]
    return {
        "answers": [
            {"question_id": question["id"], "option_ids": [question["options"][i]["id"] for i in indexes]}
        ]
    }


async def test_a_poll_opens_in_the_show_and_every_viewer_sees_the_results(
    server: RunningServer, client: httpx.AsyncClient, host: Account, viewer: Account, other_viewer: Account
) -> None:
    room_id, show_id = await live_room(client, host)
    async with sock(server, room_id) as anonymous:
        created = await create_poll(client, host, room_id)
        assert created.status_code == 201, created.text
        poll = created.json()
        assert (poll["status"], poll["show_id"], poll["ballots"]) == ("open", show_id, 0)
        opened = (await wait_for(anonymous, lambda e: e["type"] == "poll"))["poll"]
        assert opened["id"] == poll["id"]
        closes = datetime.fromisoformat(opened["closes_at"]) - datetime.fromisoformat(opened["server_now"])
        assert 55 < closes.total_seconds() <= 60

        voted = await client.post(
            f"/api/v1/polls/{poll['id']}/ballot", json=ballot(poll, 1), headers=viewer.headers
        )
        assert voted.status_code == 201, voted.text
        assert voted.json()["my_ballot"] == {
            str(poll["questions"][0]["id"]): [poll["questions"][0]["options"][1]["id"]]
        }
        await client.post(
            f"/api/v1/polls/{poll['id']}/ballot", json=ballot(poll, 1), headers=other_viewer.headers
        )
        live = (
            await wait_for(anonymous, lambda e: e["type"] == "poll_results" and e["poll"]["ballots"] == 2)
        )["poll"]
        votes = [o["votes"] for o in live["questions"][0]["options"]]
        assert votes == [0, 2, 0]
        assert live["questions"][0]["options"][1]["percent"] == 100.0

        again = await client.post(
            f"/api/v1/polls/{poll['id']}/ballot", json=ballot(poll, 0), headers=viewer.headers
        )
        assert (again.status_code, again.json()["code"]) == (409, "already_voted")
        closed = await client.post(f"/api/v1/polls/{poll['id']}/close", headers=host.headers)
        assert closed.json()["status"] == "closed"
        final = (
            await wait_for(anonymous, lambda e: e["type"] == "poll" and e["poll"]["status"] == "closed")
        )["poll"]
        assert [o["votes"] for o in final["questions"][0]["options"]] == [0, 2, 0]
    late = await make_account(server, name="迟到的观众")
    refused = await client.post(
        f"/api/v1/polls/{poll['id']}/ballot", json=ballot(poll, 0), headers=late.headers
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "poll_not_open")


async def test_one_ballot_per_account_under_concurrency(
    server: RunningServer, client: httpx.AsyncClient, host: Account
) -> None:
    room_id, _ = await live_room(client, host)
    poll = (await create_poll(client, host, room_id)).json()
    voters = [await make_account(server, name=f"观众{i}") for i in range(12)]
    url = f"/api/v1/polls/{poll['id']}/ballot"
    # Each voter sends 5 ballots at once (different choices): exactly one of each counts.
    replies = await asyncio.gather(
        *(client.post(url, json=ballot(poll, i % 3), headers=v.headers) for v in voters for i in range(5))
    )
    codes = sorted(r.status_code for r in replies)
    assert codes.count(201) == len(voters), [r.text for r in replies if r.status_code not in (201, 409)]
    assert codes.count(409) == 4 * len(voters)
    result = (await client.get(f"/api/v1/polls/{poll['id']}", headers=host.headers)).json()
    assert result["ballots"] == len(voters)
    assert sum(o["votes"] for o in result["questions"][0]["options"]) == len(voters)


async def test_a_poll_closes_on_time_by_itself(
    server: RunningServer, client: httpx.AsyncClient, host: Account, viewer: Account
) -> None:
    room_id, _ = await live_room(client, host)
    async with sock(server, room_id) as ws:
        poll = (await create_poll(client, host, room_id, duration_s=15)).json()
        # 15 s is the shortest poll; the test moves its close (row and job) to 1 s from now.
        closes_at = await bring_forward(
            server, job_key=f"poll-close:{poll['id']}", column=Poll.closes_at, row_id=poll["id"], seconds=1.0
        )
        event = await wait_for(
            ws, lambda e: e["type"] == "poll" and e["poll"]["status"] == "closed", timeout=6
        )
        closed_at = datetime.fromisoformat(event["poll"]["closed_at"])
        assert closes_at <= closed_at
        assert (closed_at - closes_at).total_seconds() < 2.0  # the job runner looks every 0.5 s
    refused = await client.post(
        f"/api/v1/polls/{poll['id']}/ballot", json=ballot(poll, 0), headers=viewer.headers
    )
    assert refused.json()["code"] == "poll_not_open"


async def test_multiple_choice_and_bad_ballots(
    server: RunningServer, client: httpx.AsyncClient, host: Account, viewer: Account, other_viewer: Account
) -> None:
    room_id, _ = await live_room(client, host)
    multi = {
        "questions": [
            {"text": "喜欢哪些口味？（多选）", "kind": "multiple", "options": ["甜", "咸", "辣", "酸"]}
        ]
    }
    poll = (await create_poll(client, host, room_id, **multi)).json()
    url = f"/api/v1/polls/{poll['id']}/ballot"
    question = poll["questions"][0]
    for bad in (
        ballot(poll),  # nothing chosen
        ballot(poll, 0, 0),  # the same option twice
        {"answers": [{"question_id": question["id"], "option_ids": [10**9]}]},  # not an option
        {"answers": [{"question_id": 10**9, "option_ids": [question["options"][0]["id"]]}]},
    ):
        reply = await client.post(url, json=bad, headers=viewer.headers)
        assert reply.status_code == 422, reply.text
    assert (await client.post(url, json=ballot(poll, 0, 2), headers=viewer.headers)).status_code == 201
    counted = (await client.post(url, json=ballot(poll, 2), headers=other_viewer.headers)).json()
    options = counted["questions"][0]["options"]
    assert [o["votes"] for o in options] == [1, 0, 2, 0]
    assert [o["percent"] for o in options] == [50.0, 0.0, 100.0, 0.0]  # of the 2 ballots

    anonymous = await client.post(url, json=ballot(poll, 1))
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "vote_needs_account")


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"questions": [{"text": "二选一", "options": ["是"]}]}, "one option"),
        ({"questions": [{"text": "六个", "options": list("ABCDEF")}]}, "six options"),
        ({"duration_s": 10}, "shorter than 15 s"),
        ({"duration_s": 1801}, "longer than 30 min"),
        ({"questions": [{"text": "重复", "options": ["甲", "甲"]}]}, "duplicate options"),
        ({"questions": [{"text": "文字", "kind": "text"}]}, "a text question is not a poll"),
    ],
)
async def test_the_shape_of_a_poll_is_checked(
    server: RunningServer, client: httpx.AsyncClient, host: Account, fields: dict[str, Any], why: str
) -> None:
    room = await make_room(client, host)
    reply = await create_poll(client, host, room["id"], launch=False, **fields)
    assert reply.status_code == 422, why
    assert reply.headers["content-type"].startswith("application/problem+json")


async def test_only_the_host_and_moderators_run_polls(
    server: RunningServer, client: httpx.AsyncClient, host: Account, viewer: Account
) -> None:
    room = await make_room(client, host)
    assert (await create_poll(client, viewer, room["id"])).status_code == 403
    draft = await create_poll(client, host, room["id"], launch=False)
    assert draft.json()["status"] == "draft"
    hidden = await client.get(f"/api/v1/polls/{draft.json()['id']}", headers=viewer.headers)
    assert hidden.status_code == 404  # viewers do not see drafts
    not_live = await client.post(f"/api/v1/polls/{draft.json()['id']}/open", headers=host.headers)
    assert (not_live.status_code, not_live.json()["code"]) == (409, "show_not_live")
    moderator = await make_account(server, role=Role.MODERATOR, name="场控")
    await go_live(client, host, room["id"])
    opened = await client.post(f"/api/v1/polls/{draft.json()['id']}/open", headers=moderator.headers)
    assert opened.json()["status"] == "open", opened.text
    twice = await client.post(f"/api/v1/polls/{draft.json()['id']}/open", headers=host.headers)
    assert twice.json()["code"] == "poll_already_opened"
    listed = (await client.get(f"/api/v1/rooms/{room['id']}/polls", headers=viewer.headers)).json()
    assert [p["id"] for p in listed] == [draft.json()["id"]]


async def test_a_questionnaire_collects_answers_and_exports_csv(
    server: RunningServer, client: httpx.AsyncClient, host: Account, viewer: Account, other_viewer: Account
) -> None:
    room_id, _ = await live_room(client, host)
    survey = {
        "kind": "survey",
        "title": "直播满意度问卷",
        "duration_s": None,
        "questions": [
            {"text": "您从哪里知道本场直播？", "options": ["朋友推荐", "社群", "广告"]},
            {"text": "想看哪些内容？", "kind": "multiple", "options": ["新品", "教程", "抽奖"]},
            {"text": "还有什么建议？", "kind": "text"},
        ],
    }
    poll = (await create_poll(client, host, room_id, **survey)).json()
    assert poll["closes_at"] is None  # open until the host closes it
    q1, q2, q3 = poll["questions"]
    first = {
        "answers": [
            {"question_id": q1["id"], "option_ids": [q1["options"][1]["id"]]},
            {"question_id": q2["id"], "option_ids": [q2["options"][0]["id"], q2["options"][2]["id"]]},
            {"question_id": q3["id"], "text": "希望多讲讲冲泡方法，谢谢！"},
        ]
    }
    second = {"answers": [{"question_id": q1["id"], "option_ids": [q1["options"][1]["id"]]}]}  # may skip some
    url = f"/api/v1/polls/{poll['id']}/ballot"
    assert (await client.post(url, json=first, headers=viewer.headers)).status_code == 201
    result = (await client.post(url, json=second, headers=other_viewer.headers)).json()
    assert [q["answered"] for q in result["questions"]] == [2, 1, 1]

    assert (
        await client.get(f"/api/v1/polls/{poll['id']}/results.csv", headers=viewer.headers)
    ).status_code == 403
    exported = await client.get(f"/api/v1/polls/{poll['id']}/results.csv", headers=host.headers)
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "ballot",
        "user_id",
        "submitted_at",
        "您从哪里知道本场直播？",
        "想看哪些内容？",
        "还有什么建议？",
    ]
    by_user = {int(r[1]): r[3:] for r in rows[1:]}
    assert by_user[viewer.user_id] == ["社群", "新品；抽奖", "希望多讲讲冲泡方法，谢谢！"]
    assert by_user[other_viewer.user_id] == ["社群", "", ""]
