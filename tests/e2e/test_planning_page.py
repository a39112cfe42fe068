"""The content planning page in a real browser: an operator reaches it from the console,
writes a topic, plans a show from it, and finds the show in that month's calendar, counted
against the month's targets."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser

from livecircle.demo import DEMO_PASSWORD
from tests.conftest import RunningServer
from tests.e2e.journey import signed_in_context

pytestmark = pytest.mark.e2e
OPERATOR_EMAIL = "operator@demo.livecircle.local"


async def test_an_operator_writes_a_topic_and_plans_a_show_from_it(
    browser: Browser, room_server: RunningServer
) -> None:
    context = await signed_in_context(browser, room_server.base_url, OPERATOR_EMAIL, DEMO_PASSWORD)
    try:
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto("/console")
        await page.click("#console-planning-link")
        await page.wait_for_url("**/console/planning")
        assert await page.inner_text("h1") == "🗓️ 内容规划"

        await page.fill("#topic-form input[name=title]", "浏览器里的选题：冬季护肤")
        await page.select_option("#topic-form select[name=scenario]", "user_service")
        await page.click("#topic-form [type=submit]")
        row = page.locator("#topic-table tr[data-topic-id]", has_text="浏览器里的选题：冬季护肤")
        await row.wait_for()
        assert await row.get_attribute("data-status") == "idea"

        await row.locator("input[name=scheduled_at]").fill("2031-05-12T20:00")
        await row.locator(".plan-form [type=submit]").click()
        await page.wait_for_url("**/console/planning?month=2031-05*")
        assert await page.inner_text("#calendar-month") == "2031-05"
        show = page.locator("#calendar-shows tr[data-show-id]", has_text="浏览器里的选题：冬季护肤")
        await show.wait_for()
        assert await show.get_attribute("data-scenario") == "user_service"
        service = page.locator("#calendar-targets tr[data-scope=user_service]")
        assert "≥ 6" in await service.inner_text()  # the seed target, 1 planned, none done yet
        assert await service.get_attribute("data-met") == "false"
        planned = page.locator("#topic-table tr[data-topic-id]", has_text="浏览器里的选题：冬季护肤")
        assert await planned.get_attribute("data-status") == "planned"
        assert errors == []
    finally:
        await context.close()
