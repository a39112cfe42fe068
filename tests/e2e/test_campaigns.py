"""Campaigns in a real browser: an operator reaches the campaigns from the console, enables
the churn-recall template in one click and sees the campaign in the list and its report."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser

from livecircle.demo import DEMO_PASSWORD
from tests.conftest import RunningServer
from tests.e2e.journey import signed_in_context

pytestmark = pytest.mark.e2e
OPERATOR_EMAIL = "operator@demo.livecircle.local"


async def test_an_operator_enables_churn_recall_and_reads_its_report(
    browser: Browser, room_server: RunningServer
) -> None:
    context = await signed_in_context(browser, room_server.base_url, OPERATOR_EMAIL, DEMO_PASSWORD)
    try:
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto("/console")
        await page.click("#console-campaigns-link")
        await page.wait_for_url("**/console/campaigns")
        assert await page.inner_text("h1") == "营销活动"
        await page.click("#churn-recall-enable")
        await page.wait_for_url("**/console/campaigns/*/report")
        assert "流失召回" in await page.inner_text("h1")
        assert await page.inner_text("#report-status") == "进行中"
        steps = await page.locator("#report-steps tbody tr").count()
        assert steps == 4  # message, wait, branch, reminder (no coupon chosen)
        await page.click("p.row a[href='/console/campaigns']")
        await page.wait_for_url("**/console/campaigns")
        row = page.locator("#campaign-table tbody tr").first
        assert "流失召回" in await row.inner_text()
        assert await row.locator(".campaign-status").inner_text() == "进行中"
        assert errors == []
    finally:
        await context.close()
