"""The operator's audit log page in a real browser: reached from the console, it lists a staff
action done through the API, filters, and checks the hash chain on request."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser

from livecircle.demo import DEMO_PASSWORD
from tests.conftest import RunningServer
from tests.e2e.journey import signed_in_context

pytestmark = pytest.mark.e2e
OPERATOR_EMAIL = "operator@demo.livecircle.local"


async def test_an_operator_reads_filters_and_verifies_the_log(
    browser: Browser, room_server: RunningServer
) -> None:
    context = await signed_in_context(browser, room_server.base_url, OPERATOR_EMAIL, DEMO_PASSWORD)
    try:
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        # A staff action through the API, with the page's own session (cookie + CSRF header).
        await page.goto("/console")
        csrf = await page.get_attribute("meta[name=csrf-token]", "content")
        body = {"name": "浏览器审计商品", "skus": [{"name": "默认", "price_cents": 100, "stock": 1}]}
        created = await page.request.post("/api/v1/products", data=body, headers={"X-CSRF-Token": csrf or ""})
        assert created.status == 201, await created.text()

        await page.click("#console-audit-link")
        await page.wait_for_url("**/console/audit")
        assert await page.inner_text("h1") == "审计日志"
        row = page.locator("#audit-table tr[data-action='create_product']").first
        assert "/api/v1/products" in await row.inner_text()
        assert "运营阿青" in await row.inner_text()

        await page.fill("input[name=action]", "create_")
        await page.click("#audit-filters [type=submit]")
        await page.wait_for_url("**/console/audit?*action=create_*")
        actions = await page.locator("#audit-table tbody tr").evaluate_all(
            "rows => rows.map(row => row.dataset.action)"
        )
        assert actions
        assert set(actions) == {"create_product"}

        await page.click("#audit-verify-button")
        verdict = page.locator("#audit-verdict")
        await verdict.wait_for()
        assert await verdict.get_attribute("data-ok") == "true"
        assert "哈希链完整" in await verdict.inner_text()
        assert errors == []
    finally:
        await context.close()
