"""The co-host (连麦) queue in a real browser: a viewer applies from the room page and sees
their place in line, the host accepts them in the console, and the viewer's page shows them
on stage. No media (adapter "none"), SQLite."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from livecircle.demo import DEMO_PASSWORD
from tests.e2e.journey import signed_in_context
from tests.e2e.stage import HOST_EMAIL, Stage

pytestmark = pytest.mark.e2e


async def test_a_viewer_applies_and_the_host_accepts_in_the_console(stage: Stage) -> None:
    await stage.go_live()
    viewer = await stage.member("连麦观众")
    room = await stage.open(viewer.email)
    panel = room.locator("#cohost-panel")
    await expect(room.locator("#cohost-apply")).to_have_text("申请连麦")

    await room.click("#cohost-apply")
    await expect(panel).to_have_attribute("data-status", "applied")
    await expect(room.locator("#cohost-status")).to_have_text("你在连麦队列中排第 1 位。")
    await expect(room.locator("#cohost-queue .cohost-seat.mine")).to_have_count(1)
    await expect(room.locator("#cohost-cancel")).to_have_text("退出排队")

    host_context = await signed_in_context(stage.browser, stage.server.base_url, HOST_EMAIL, DEMO_PASSWORD)
    stage.contexts.append(host_context)
    console = await host_context.new_page()
    await console.goto(f"/console/rooms/{stage.room_id}")
    entry = console.locator(f"#cohost-queue-table tr.cohost-entry[data-user-id='{viewer.user_id}']")
    await expect(entry.locator(".cohost-position")).to_have_text("1")
    await entry.locator(".cohost-accept").click()
    await expect(console.locator(f"#cohost-stage-table tr[data-user-id='{viewer.user_id}']")).to_have_count(1)
    await expect(console.locator("#cohost-queue-empty")).to_be_visible()

    await expect(panel).to_have_attribute("data-status", "accepted")
    await expect(room.locator("#cohost-status")).to_have_text("你正在连麦中。")
    await expect(room.locator("#cohost-cancel")).to_have_text("结束连麦")
