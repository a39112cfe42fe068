"""Browser fixtures: headless Debian Chromium driven by Playwright."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, async_playwright

from livecircle.demo import DEMO_PASSWORD, seed_demo
from tests import services
from tests.conftest import RunningServer, make_settings, migrate, run_server
from tests.e2e.stage import HOST_EMAIL, Stage

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-dev-shm-usage",
]
# Ordinary chat lines per second before a room folds them into summaries: low, so that the
# burst test in test_room_interaction.py passes it. Gifts and priority lines are never folded.
OVERLOAD_PER_SECOND = 20


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    services.require("chromium", services.have_chromium(), f"{CHROMIUM} is not installed")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture(scope="module")
async def room_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningServer]:
    """A server without media (adapter "none") on SQLite, with the demo accounts; one per module."""
    var: Path = tmp_path_factory.mktemp("e2e-room")
    url = f"sqlite+aiosqlite:///{var / 'e2e.db'}"
    await asyncio.to_thread(migrate, url)
    settings = make_settings(url, var, adapter="none")
    settings.realtime.overload_chat_per_second = OVERLOAD_PER_SECOND
    async with run_server(settings) as server:
        await seed_demo(server.db, server.settings)
        yield server


@pytest.fixture
async def stage(browser: Browser, room_server: RunningServer) -> AsyncIterator[Stage]:
    async with httpx.AsyncClient(base_url=room_server.base_url, timeout=20) as http:
        signed = await http.post("/api/v1/auth/token", json={"email": HOST_EMAIL, "password": DEMO_PASSWORD})
        token = signed.json()["access_token"]
        created = await http.post(
            "/api/v1/rooms", json={"title": "互动测试直播间"}, headers={"Authorization": f"Bearer {token}"}
        )
        assert created.status_code == 201, created.text
        the_stage = Stage(room_server, browser, http, created.json()["id"], token)
        try:
            yield the_stage
        finally:
            for context in the_stage.contexts:
                await context.close()
