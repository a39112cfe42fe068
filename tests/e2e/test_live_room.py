"""Browser end to end on the embedded adapter (pyrtmp + ffmpeg), SQLite."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser

from livecircle.demo import seed_demo
from tests import services
from tests.conftest import RunningServer, make_settings, migrate, run_server
from tests.e2e.journey import new_context, run_journey

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
async def embedded_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningServer]:
    services.require("ffmpeg", services.have_ffmpeg(), "ffmpeg is not installed")
    var: Path = tmp_path_factory.mktemp("e2e-embedded")
    url = f"sqlite+aiosqlite:///{var / 'e2e.db'}"
    await asyncio.to_thread(migrate, url)
    async with run_server(make_settings(url, var, adapter="embedded")) as server:
        yield server


async def test_go_live_watch_chat_and_replay(browser: Browser, embedded_server: RunningServer) -> None:
    demo = await seed_demo(embedded_server.db, embedded_server.settings)
    figures = await run_journey(browser, embedded_server.base_url, demo)
    assert figures["chat_seconds"] < 1.0


async def test_anonymous_viewer_watches_but_cannot_chat(
    browser: Browser, embedded_server: RunningServer
) -> None:
    demo = await seed_demo(embedded_server.db, embedded_server.settings)
    context = await new_context(browser, base_url=embedded_server.base_url, locale="en")
    page = await context.new_page()
    await page.goto(f"/rooms/{demo['room_id']}")
    assert await page.locator("#chat-input").is_disabled()
    assert await page.locator("a[href^='/login']").count() > 0
    cookies = {c["name"] for c in await context.cookies()}
    assert "lc_session" not in cookies
    await context.close()
