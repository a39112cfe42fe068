"""The run-of-show in a real browser (zh-CN): the host adds a step on the script page, sees it
wait for the show, then on the live dashboard sees it armed with its countdown, fires one
step early and skips another; the API agrees with what the panel shows."""

from __future__ import annotations

import re

import pytest

from livecircle.demo import DEMO_PASSWORD
from tests.e2e.journey import signed_in_context
from tests.e2e.stage import HOST_EMAIL, Stage

pytestmark = pytest.mark.e2e


async def test_the_host_adds_fires_and_skips_steps_from_the_console(stage: Stage) -> None:
    headers = {"Authorization": f"Bearer {stage.host_token}"}
    created = await stage.http.post(
        f"/api/v1/rooms/{stage.room_id}/shows", json={"title": "脚本演示"}, headers=headers
    )
    show_id = created.json()["id"]
    host = await signed_in_context(stage.browser, stage.server.base_url, HOST_EMAIL, DEMO_PASSWORD)
    stage.contexts.append(host)
    page = await host.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    await page.goto(f"/console/shows/{show_id}/script")
    assert "直播脚本" in await page.locator("h1").inner_text()

    await page.select_option("#step-action", "cue")
    await page.fill("#step-cue", "感谢新关注的朋友")
    await page.fill("#step-offset", "30")
    await page.click("#step-add")
    await page.locator("#step-form-message", has_text="已添加步骤").wait_for(timeout=5_000)
    await page.locator("#step-label").fill("开场提醒")
    await page.fill("#step-cue", "介绍今天的新品")
    await page.click("#step-add")
    rows = page.locator("#script-steps tbody tr")
    await rows.nth(1).wait_for(timeout=5_000)
    assert "等待开播" in await rows.first.inner_text()

    await stage.go_live()
    await page.goto(f"/console/shows/{show_id}/dashboard")
    armed = page.locator("#script-steps tbody tr[data-status='scheduled']")
    await armed.nth(1).wait_for(timeout=8_000)
    assert re.search(r"\d+:\d{2} 后", await armed.first.inner_text())  # the countdown
    script = (await stage.http.get(f"/api/v1/shows/{show_id}/script", headers=headers)).json()
    fire_id, skip_id = (s["id"] for s in script["steps"])
    await page.locator(f"tr[data-step-id='{fire_id}'] .step-fire").click()
    await page.locator(f"tr[data-step-id='{fire_id}'][data-status='fired']").wait_for(timeout=8_000)
    assert "主播手动" in await page.locator(f"tr[data-step-id='{fire_id}']").inner_text()
    await page.locator(f"tr[data-step-id='{skip_id}'] .step-skip").click()
    await page.locator(f"tr[data-step-id='{skip_id}'][data-status='skipped']").wait_for(timeout=8_000)
    settled = (await stage.http.get(f"/api/v1/shows/{show_id}/script", headers=headers)).json()
    assert {s["id"]: (s["status"], s["fired_by"]) for s in settled["steps"]} == {
        fire_id: ("fired", "host"),
        skip_id: ("skipped", "host"),
    }
    assert not [e for e in errors if "Content Security Policy" in e], errors
