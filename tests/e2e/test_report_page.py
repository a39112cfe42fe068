"""The post-show report page in a real browser: every chart is drawn by the vendored ECharts
(a canvas in each container), from the page's JSON block, with no request leaving the server."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from playwright.async_api import Request
from sqlalchemy import update

from livecircle.demo import DEMO_PASSWORD
from livecircle.kit.clock import utcnow
from livecircle.kit.tracking import event_row, insert_rows
from livecircle.live.models import Show
from tests.conftest import Account
from tests.e2e.journey import signed_in_context
from tests.e2e.stage import HOST_EMAIL, Stage
from tests.room_kit import go_live

pytestmark = pytest.mark.e2e
CHARTS = ("curve", "interaction", "funnel", "products", "segments")


async def test_the_report_page_draws_its_charts_offline(stage: Stage) -> None:
    http, headers = stage.http, {"Authorization": f"Bearer {stage.host_token}"}
    host = Account(user_id=0, email=HOST_EMAIL, password=DEMO_PASSWORD, token=stage.host_token, tenant="demo")
    created = await http.post(
        f"/api/v1/rooms/{stage.room_id}/shows", json={"title": "浏览器复盘测试"}, headers=headers
    )
    assert created.status_code == 201, created.text
    show_id = await go_live(http, host, stage.room_id)
    start = utcnow() - timedelta(minutes=10)
    viewer = await stage.member("观众")
    async with stage.server.db.unit_of_work() as session:
        await session.execute(update(Show).where(Show.id == show_id).values(started_at=start))
        show = await session.get(Show, show_id)
        assert show is not None
        ids = {"tenant_id": show.tenant_id, "room_id": stage.room_id, "show_id": show_id}
        rows = [
            event_row("view_start", user_id=viewer.user_id, ts=start + timedelta(minutes=1), **ids),
            event_row("online_sample", amount=3, ts=start + timedelta(minutes=1), **ids),
            event_row("chat", user_id=viewer.user_id, ts=start + timedelta(minutes=2), **ids),
            event_row(
                "product_click",
                user_id=viewer.user_id,
                ts=start + timedelta(minutes=3),
                props={"product_id": 1},
                **ids,
            ),
        ]
        await insert_rows(session, rows)
    assert (await http.post(f"/api/v1/shows/{show_id}/end", headers=headers)).status_code in (200, 204)
    deadline = time.monotonic() + 30
    while (await http.get(f"/api/v1/shows/{show_id}/report", headers=headers)).status_code != 200:
        assert time.monotonic() < deadline, "the report was not built"
        await asyncio.sleep(0.2)

    context = await signed_in_context(stage.browser, stage.server.base_url, HOST_EMAIL, DEMO_PASSWORD)
    stage.contexts.append(context)
    page = await context.new_page()
    outside: list[str] = []
    errors: list[str] = []

    def watch(request: Request) -> None:
        if not request.url.startswith(stage.server.base_url):
            outside.append(request.url)

    page.on("request", watch)
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"/shows/{show_id}/report")
    for chart in CHARTS:
        await page.wait_for_selector(f'[data-chart="{chart}"][data-drawn="true"] canvas', timeout=10_000)
    assert await page.locator("#report-title").inner_text() == "浏览器复盘测试"
    assert await page.locator("#funnel-table tr[data-step='click'] td").nth(1).inner_text() == "1"
    assert outside == []
    assert errors == []
