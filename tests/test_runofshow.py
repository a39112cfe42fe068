"""Run-of-show: tools planned at an offset into the next live show fire by themselves; the
host fires a step early or skips it, and every step says what became of it."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Account, RunningServer, make_room
from tests.room_kit import go_live, sock, wait_for

POLL = {"title": "今晚先讲哪款？", "questions": [{"text": "款式", "options": ["A", "B"]}], "duration_s": 60}
LOTTERY = {"title": "开场福袋", "prizes": [{"kind": "points", "name": "积分", "quantity": 1, "amount": 10}]}


async def steps(client: httpx.AsyncClient, host: Account, room_id: int) -> list[dict[str, Any]]:
    reply = await client.get(f"/api/v1/rooms/{room_id}/steps", headers=host.headers)
    assert reply.status_code == 200, reply.text
    return list(reply.json())


async def test_planned_tools_launch_at_their_offset_into_the_show(
    server: RunningServer, client: httpx.AsyncClient, host: Account, viewer: Account
) -> None:
    room = await make_room(client, host, title="有脚本的直播")
    url = f"/api/v1/rooms/{room['id']}"
    poll = (await client.post(f"{url}/polls", json=POLL | {"offset_s": 1}, headers=host.headers)).json()
    early = (
        await client.post(f"{url}/lotteries", json=LOTTERY | {"offset_s": 3600}, headers=host.headers)
    ).json()
    skipped = (
        await client.post(f"{url}/lotteries", json=LOTTERY | {"offset_s": 1800}, headers=host.headers)
    ).json()
    assert [(s["tool"], s["status"]) for s in await steps(client, host, room["id"])] == [
        ("poll", "pending"),
        ("lottery", "pending"),
        ("lottery", "pending"),
    ]
    assert (await client.get(f"{url}/steps", headers=viewer.headers)).status_code == 403

    async with sock(server, room["id"]) as ws:
        show_id = await go_live(client, host, room["id"])
        opened = (await wait_for(ws, lambda e: e["type"] == "poll", timeout=5))["poll"]
    assert (opened["id"], opened["status"], opened["show_id"]) == (poll["id"], "open", show_id)
    planned = {s["tool_id"]: s for s in await steps(client, host, room["id"]) if s["tool"] == "lottery"}
    assert planned[early["id"]]["status"] == "scheduled"

    fired = await client.post(f"{url}/steps/{planned[early['id']]['id']}/fire", headers=host.headers)
    assert fired.json()["status"] == "fired"
    lottery = (await client.get(f"/api/v1/lotteries/{early['id']}", headers=viewer.headers)).json()
    assert lottery["status"] == "open"
    assert lottery["seed_hash"]
    skip = await client.post(f"{url}/steps/{planned[skipped['id']]['id']}/skip", headers=host.headers)
    assert skip.json()["status"] == "skipped"
    again = await client.post(f"{url}/steps/{planned[skipped['id']]['id']}/fire", headers=host.headers)
    assert again.json()["status"] == "skipped"  # a skipped step stays skipped
    final = {(s["tool"], s["tool_id"]): s["status"] for s in await steps(client, host, room["id"])}
    assert final == {
        ("poll", poll["id"]): "fired",
        ("lottery", early["id"]): "fired",
        ("lottery", skipped["id"]): "skipped",
    }


async def test_a_step_whose_tool_was_launched_by_hand_records_why_it_did_not_fire(
    server: RunningServer, client: httpx.AsyncClient, host: Account
) -> None:
    room = await make_room(client, host)
    url = f"/api/v1/rooms/{room['id']}"
    await go_live(client, host, room["id"])
    poll = (await client.post(f"{url}/polls", json=POLL | {"offset_s": 3600}, headers=host.headers)).json()
    assert (await client.post(f"/api/v1/polls/{poll['id']}/open", headers=host.headers)).status_code == 200
    step = (await steps(client, host, room["id"]))[0]
    fired = (await client.post(f"{url}/steps/{step['id']}/fire", headers=host.headers)).json()
    assert fired["status"] == "failed"
    assert fired["note"].startswith("poll_already_opened")
