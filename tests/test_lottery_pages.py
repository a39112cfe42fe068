"""The lottery audit page (开奖公示) as HTML, on both databases: a drawn lottery shows its seed,
list hash, frozen list and winners; an unknown lottery is a 404 problem page."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest
from markupsafe import escape

from livecircle.web.lottery_pages import VERIFY_SCRIPT
from tests.conftest import Account, RunningServer, make_room
from tests.room_kit import go_live

pytestmark = pytest.mark.asyncio(loop_scope="session")

HTML = {"Accept": "text/html", "Accept-Language": "zh-CN"}


async def drawn_lottery(client: httpx.AsyncClient, host: Account, *viewers: Account) -> dict[str, Any]:
    """A live room's lottery without rules, joined by ``viewers`` and drawn by the host."""
    room = await make_room(client, host, title="抽奖直播间")
    await go_live(client, host, room["id"])
    body = {
        "title": "新品试用装",
        "prizes": [{"kind": "physical", "name": "试用装", "quantity": 1}],
        "duration_s": None,
        "launch": True,
    }
    created = await client.post(f"/api/v1/rooms/{room['id']}/lotteries", json=body, headers=host.headers)
    assert created.status_code == 201, created.text
    lottery_id = created.json()["id"]
    for viewer in viewers:
        joined = await client.post(f"/api/v1/lotteries/{lottery_id}/entry", headers=viewer.headers)
        assert joined.json() == {"joined": True, "missing": []}, joined.text
    drawn = await client.post(f"/api/v1/lotteries/{lottery_id}/draw", headers=host.headers)
    assert drawn.status_code == 200, drawn.text
    lottery: dict[str, Any] = drawn.json()
    return lottery


async def test_the_audit_page_shows_the_seed_the_list_and_the_winner(
    server: RunningServer, client: httpx.AsyncClient, host: Account, viewer: Account, other_viewer: Account
) -> None:
    lottery = await drawn_lottery(client, host, viewer, other_viewer)
    audit = (await client.get(f"/api/v1/lotteries/{lottery['id']}/audit")).json()
    assert audit["seed"]
    assert hashlib.sha256(bytes.fromhex(audit["seed"])).hexdigest() == audit["seed_hash"]

    page = await client.get(f"/lotteries/{lottery['id']}/audit", headers=HTML)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    text = page.text
    assert "开奖公示" in text
    for value in (audit["seed_hash"], audit["seed"], audit["list_hash"], lottery["list_hash"]):
        assert value in text
    assert sorted(audit["tickets"]) == sorted([f"u{viewer.user_id}", f"u{other_viewer.user_id}"])
    winner = audit["winners"][0]
    assert f'<code class="audit-code">{winner["code"]}</code>' in text
    assert "试用装" in text
    # The exact command, with this page's audit JSON URL, and the script itself.
    assert f"python lottery_verify.py {server.base_url}/api/v1/lotteries/{lottery['id']}/audit" in text
    assert 'href="/static/lottery_verify.py"' in text
    assert str(escape(VERIFY_SCRIPT.read_text(encoding="utf-8"))) in text


async def test_an_open_lottery_keeps_its_seed_secret(
    client: httpx.AsyncClient, host: Account, viewer: Account
) -> None:
    room = await make_room(client, host)
    await go_live(client, host, room["id"])
    body = {"title": "关注抽奖", "prizes": [{"kind": "points", "name": "积分", "quantity": 1, "amount": 100}]}
    created = (
        await client.post(
            f"/api/v1/rooms/{room['id']}/lotteries", json=body | {"launch": True}, headers=host.headers
        )
    ).json()
    page = await client.get(f"/lotteries/{created['id']}/audit", headers=HTML)
    assert page.status_code == 200
    assert created["seed_hash"] in page.text
    assert 'id="audit-not-drawn"' in page.text
    assert 'id="audit-tickets"' not in page.text


async def test_an_unknown_or_draft_lottery_is_a_404_problem_page(
    client: httpx.AsyncClient, host: Account, viewer: Account
) -> None:
    page = await client.get("/lotteries/999999999/audit", headers=HTML)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "404" in page.text
    problem = await client.get("/lotteries/999999999/audit")
    assert problem.status_code == 404
    assert problem.headers["content-type"] == "application/problem+json"
    assert problem.json()["code"] == "lottery_not_found"

    room = await make_room(client, host)
    body = {"title": "草稿", "prizes": [{"kind": "physical", "name": "杯子", "quantity": 1}]}
    draft = await client.post(f"/api/v1/rooms/{room['id']}/lotteries", json=body, headers=host.headers)
    hidden = await client.get(f"/lotteries/{draft.json()['id']}/audit", headers=HTML | viewer.headers)
    assert hidden.status_code == 404
    shown = await client.get(f"/lotteries/{draft.json()['id']}/audit", headers=HTML | host.headers)
    assert shown.status_code == 200
