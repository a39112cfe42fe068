"""Chatting earns points (the ``chat`` earning rule) on SQLite and PostgreSQL: each stored,
visible line of a member pays once, within the daily cap; held lines pay nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from livecircle.config import EarnRule
from livecircle.identity.schemas import Role
from tests.conftest import Account, RunningServer, make_account, make_room
from tests.room_kit import settle_chat
from tests.test_economy import rules
from tests.test_points import balance, economy


@pytest.fixture
async def room(client: httpx.AsyncClient, host: Account) -> dict[str, Any]:
    return await make_room(client, host, title="聊天积分")


async def chat(client: httpx.AsyncClient, account: Account, room_id: int, text: str) -> int:
    url = f"/api/v1/rooms/{room_id}/chat"
    response = await client.post(url, json={"text": text}, headers=account.headers)
    assert response.status_code in (201, 202), response.text
    return response.status_code


def chat_earned(summary: dict[str, Any]) -> int:
    return int({rule["rule"]: rule["earned"] for rule in summary["today"]}["chat"])


async def test_each_line_pays_once_within_the_daily_cap(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account, room: dict[str, Any]
) -> None:
    two_a_line = EarnRule(points=2, daily_cap=6)
    capped = economy(server, earn={**server.settings.economy.points.earn, "chat": two_a_line})
    with rules(server, points=capped.points):
        for n in range(2):
            await chat(client, viewer, room["id"], f"大家好 {n}")
        await settle_chat(server)
        assert await balance(client, viewer) == 4
        await settle_chat(server)  # nothing is paid twice
        assert await balance(client, viewer) == 4
        for n in range(3):
            await chat(client, viewer, room["id"], f"再来一条 {n}")
        await settle_chat(server)
        summary = (await client.get("/api/v1/points", headers=viewer.headers)).json()
    assert summary["balance"] == 6  # 5 lines × 2 points, capped at 6 for the day
    assert chat_earned(summary) == 6


async def test_held_lines_and_a_switched_off_rule_do_not_pay(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account, room: dict[str, Any]
) -> None:
    operator = await make_account(server, role=Role.OPERATOR, name="运营")
    word = {"word": "积分待审词", "action": "review", "category": "custom"}
    added = await client.post("/api/v1/moderation/words", json=[word], headers=operator.headers)
    assert added.status_code == 201, added.text
    assert await chat(client, viewer, room["id"], "普通的一句话") == 201
    assert await chat(client, viewer, room["id"], "这句有积分待审词") == 202  # held for review
    await settle_chat(server)
    assert await balance(client, viewer) == 1  # the default rule: 1 point a visible line
    no_chat = {name: rule for name, rule in server.settings.economy.points.earn.items() if name != "chat"}
    with rules(server, points=economy(server, earn=no_chat).points):
        assert await chat(client, viewer, room["id"], "规则关掉以后") == 201
        await settle_chat(server)
    assert await balance(client, viewer) == 1
