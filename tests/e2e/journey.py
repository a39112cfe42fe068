"""The first complete journey, driven in a real browser; shared by both media adapters."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page

from tests.media_tools import start_encoder, stop_encoder

# The room page opens its first-visit guide (a modal) by itself; the tests that are not about
# the guide start as a viewer who opted out of it ("don't open room guides again").
GUIDE_OPT_OUT = 'localStorage.setItem("lc_guide_seen:all", "1");'


async def wait_until(page: Page, expression: str, *, timeout_ms: float = 30_000) -> Any:
    """``page.wait_for_function`` for pages under the site's CSP: Playwright's version evaluates
    its string with ``eval`` inside the page, which a CSP without 'unsafe-eval' refuses. This
    polls ``page.evaluate`` (DevTools evaluation, which the page's CSP does not govern)."""
    deadline = time.monotonic() + timeout_ms / 1000
    while not (value := await page.evaluate(expression)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"still false after {timeout_ms} ms: {expression}")
        await asyncio.sleep(0.05)
    return value


async def new_context(browser: Browser, *, guide: bool = False, **options: Any) -> BrowserContext:
    """A browser context; without ``guide`` its room pages do not open the guide by themselves."""
    context = await browser.new_context(**options)
    if not guide:
        await context.add_init_script(GUIDE_OPT_OUT)
    return context


async def signed_in_context(
    browser: Browser, base_url: str, email: str, password: str, *, guide: bool = False
) -> BrowserContext:
    context = await new_context(
        browser, guide=guide, base_url=base_url, locale="zh-CN", viewport={"width": 1280, "height": 800}
    )
    page = await context.new_page()
    await page.goto("/login")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", password)
    await page.click("form[action='/login'] [type=submit]")
    await page.wait_for_url(lambda url: "/login" not in url)
    await page.close()
    return context


async def wait_for_playback(page: Page, *, seconds: float = 2.0, timeout_ms: float = 40_000) -> float:
    """Wait until the video has played ``seconds`` and is still advancing; returns currentTime."""
    played = "document.querySelector('#player').currentTime"
    await wait_until(page, f"{played} > {seconds}", timeout_ms=timeout_ms)
    before = await page.evaluate(played)
    await wait_until(page, f"{played} > {before} + 0.5", timeout_ms=10_000)
    errors = await page.evaluate("window.lcPlayer ? window.lcPlayer.errors : ['no player']")
    assert errors == [], errors
    current: float = await page.evaluate("document.querySelector('#player').currentTime")
    return current


async def chat_reaches_the_other_viewer(sender: Page, receiver: Page, text: str) -> float:
    await sender.fill("#chat-input", text)
    started = time.monotonic()
    await sender.click("#chat-send")
    await receiver.locator("#chat-list .chat-line .chat-text", has_text=text).wait_for(timeout=1_000)
    return time.monotonic() - started


async def run_journey(browser: Browser, base_url: str, demo: dict[str, Any]) -> dict[str, float]:
    """Push → both viewers play → chat crosses within 1 s → stop → show ended → replay plays."""
    accounts = demo["accounts"]
    viewer_a = await signed_in_context(browser, base_url, accounts[2]["email"], accounts[2]["password"])
    viewer_b = await signed_in_context(browser, base_url, accounts[3]["email"], accounts[3]["password"])
    room_path = f"/rooms/{demo['room_id']}"
    encoder = await start_encoder(demo["rtmp_url"])
    try:
        page_a, page_b = await viewer_a.new_page(), await viewer_b.new_page()
        await asyncio.gather(page_a.goto(room_path), page_b.goto(room_path))
        await page_a.locator("#show-status[data-mode=live]").wait_for(timeout=30_000)
        await asyncio.gather(wait_for_playback(page_a), wait_for_playback(page_b))
        width = await page_a.evaluate("document.querySelector('#player').videoWidth")
        assert width == 1280
        latency = await page_a.evaluate("window.lcLatency().latency")
        chat_seconds = await chat_reaches_the_other_viewer(page_a, page_b, "这款新品什么时候发货？")
        assert chat_seconds < 1.0
        await page_a.locator("#online-count", has_text="2").wait_for(timeout=5_000)
    finally:
        await stop_encoder(encoder)
    await page_b.locator("#show-status[data-mode=replay]").wait_for(timeout=40_000)
    await wait_for_playback(page_b, seconds=1.0)
    fresh = await viewer_a.new_page()
    await fresh.goto(room_path)
    await fresh.locator("#show-status[data-mode=replay]").wait_for(timeout=10_000)
    await wait_for_playback(fresh, seconds=1.0)
    # The show's chat replays in step with the recording: nothing yet at the start, the
    # line appears once the playhead passes the moment it was sent.
    line = fresh.locator("#chat-list .chat-line .chat-text", has_text="这款新品什么时候发货？")
    assert await line.count() == 0
    await fresh.evaluate("(v => { v.currentTime = v.duration - 0.5; })(document.querySelector('#player'))")
    await line.wait_for(timeout=10_000)
    await viewer_a.close()
    await viewer_b.close()
    return {"chat_seconds": chat_seconds, "player_latency": float(latency or 0)}
