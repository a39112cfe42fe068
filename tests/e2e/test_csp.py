"""Every page works under the site's CSP (ASVS v5.0.0-3.4.3): no inline script or style is left.

Chromium opens every HTML page of the app (generated from ``app.routes``, parameters filled from
seeded objects) as an operator and as a member, with the CSP enforced, and listens for
``securitypolicyviolation`` events and the console's CSP complaints: there must be none, and no
page may throw an uncaught error (a page module that fails to load its data would).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Error, Page

from livecircle.demo import DEMO_PASSWORD
from tests.authz_kit import Seeded, seed
from tests.conftest import Account, RunningServer
from tests.security_kit import crawl_paths

pytestmark = pytest.mark.e2e

NOT_PAGES = ("/api/", "/hls/", "/replay/", "/static/", "/healthz", "/readyz", "/metrics")
WATCH = """
window.__csp = [];
window.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push([e.violatedDirective, e.blockedURI, e.sourceFile, e.lineNumber].join(" "));
});
"""
AT_ONCE = 6


@pytest.fixture(scope="module")
async def seeded(room_server: RunningServer) -> Seeded:
    async with httpx.AsyncClient(base_url=room_server.base_url, timeout=30) as http:
        return await seed(room_server, http)


@contextlib.asynccontextmanager
async def signed_in(
    browser: Browser, server: RunningServer, account: Account
) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(base_url=server.base_url, locale="zh-CN")
    await context.add_init_script('localStorage.setItem("lc_guide_seen:all", "1");' + WATCH)
    page = await context.new_page()
    await page.goto("/login")
    await page.fill("input[name=email]", account.email)
    await page.fill("input[name=password]", DEMO_PASSWORD)
    await page.click("form[action='/login'] [type=submit]")
    await page.wait_for_url(lambda url: "/login" not in url)
    await page.close()
    try:
        yield context
    finally:
        await context.close()


async def visit(context: BrowserContext, path: str) -> list[str]:
    """What went wrong on one page: CSP violations, CSP console errors, uncaught errors."""
    page: Page = await context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    try:
        await page.goto(path, wait_until="load")
        with contextlib.suppress(Error):  # let its modules load their data (a polling page never idles)
            await page.wait_for_load_state("networkidle", timeout=2_000)
        violations: list[Any] = await page.evaluate("window.__csp || []")
        problems += [f"violation: {v}" for v in violations]
    finally:
        await page.close()
    return [f"{path}: {p}" for p in problems]


def pages_of(app: Any, seeded: Seeded) -> list[str]:
    paths = crawl_paths(app, seeded)
    pages = [p for p in paths if not p.startswith(NOT_PAGES) and not p.endswith((".csv", ".pdf", ".m3u8"))]
    return [*pages, "/api/docs"]  # the one HTML page under /api/ (Swagger UI, shipped)


async def test_every_page_runs_clean_under_the_csp(
    browser: Browser, room_server: RunningServer, seeded: Seeded
) -> None:
    pages = pages_of(room_server.app, seeded)
    assert len(pages) > 40
    problems: list[str] = []
    # The operator sees every page; the member the member pages (the console only refuses them).
    member_pages = [p for p in pages if not p.startswith("/console")] + ["/console/gifts"]
    for account, visited in ((seeded.owner, pages), (seeded.buyer, member_pages)):
        async with signed_in(browser, room_server, account) as context:
            for start in range(0, len(visited), AT_ONCE):
                batch = visited[start : start + AT_ONCE]
                for found in await asyncio.gather(*(visit(context, path) for path in batch)):
                    problems += found
    assert problems == []


async def test_the_api_docs_render_offline_with_the_shipped_swagger_ui(
    browser: Browser, room_server: RunningServer
) -> None:
    """Swagger UI draws the API from /api/openapi.json with no request leaving the server."""
    context = await browser.new_context(base_url=room_server.base_url)
    elsewhere: list[str] = []
    context.on(
        "request", lambda r: None if r.url.startswith(room_server.base_url) else elsewhere.append(r.url)
    )
    try:
        page = await context.new_page()
        await page.goto("/api/docs", wait_until="load")
        title = page.locator(".swagger-ui .info .title")
        await title.wait_for(state="visible", timeout=15_000)
        assert "livecircle" in (await title.inner_text()).lower()
        # It draws the groups as they scroll into view: the first ones, with their operations.
        await page.locator(".swagger-ui .opblock-tag").first.wait_for(state="visible", timeout=15_000)
        assert await page.locator(".swagger-ui .opblock-summary-path").count() > 3
    finally:
        await context.close()
    assert elsewhere == []
