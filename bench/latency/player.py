"""The viewer: one page (hls.js, default config) in headless Chromium, served from loopback.

The page server also reverse-proxies ``/up/<setup>/...`` to the setup's HTTP server, so every
setup is played same-origin (no CORS headers needed, none added) through the same code path.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import uvicorn
from playwright.async_api import Browser, async_playwright
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from bench.latency.procs import LOOPBACK, free_port

ROOT = Path(__file__).resolve().parents[2]
HLS_JS = ROOT / "src/livecircle/web/static/vendor/hls.js/hls.min.js"
PAGE = Path(__file__).with_name("page.html")
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
PASSED_HEADERS = ("content-type", "cache-control")


class PlaybackFailed(RuntimeError):
    """The page never played (the message carries the player's state and hls.js errors)."""


class PageServer:
    """The page, hls.js, and a pass-through proxy to each setup's HTTP server."""

    def __init__(self) -> None:
        self.port = free_port()
        self.upstreams: dict[str, str] = {}
        self.client = httpx.AsyncClient(timeout=15)
        self.app = Starlette(
            routes=[
                Route("/", lambda _: HTMLResponse(PAGE.read_text())),
                Route("/hls.min.js", lambda _: FileResponse(HLS_JS, media_type="text/javascript")),
                Route("/up/{setup}/{path:path}", self.proxy),
            ]
        )

    async def proxy(self, request: Request) -> Response:
        base = self.upstreams[request.path_params["setup"]]
        query = f"?{request.url.query}" if request.url.query else ""
        upstream = await self.client.get(f"{base}/{request.path_params['path']}{query}")
        headers = {name: upstream.headers[name] for name in PASSED_HEADERS if name in upstream.headers}
        return Response(upstream.content, status_code=upstream.status_code, headers=headers)

    def page_url(self, setup: str, playlist_path: str) -> str:
        return f"http://{LOOPBACK}:{self.port}/?src={quote(f'/up/{setup}{playlist_path}', safe='')}"


class _Server(uvicorn.Server):
    """Leaves SIGINT/SIGTERM to the bench, which must stop its children before exiting."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def page_server() -> AsyncIterator[PageServer]:
    pages = PageServer()
    config = uvicorn.Config(pages.app, host=LOOPBACK, port=pages.port, log_level="warning", lifespan="off")
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        yield pages
    finally:
        server.should_exit = True
        await task
        await pages.client.aclose()


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


async def watch(browser: Browser, url: str, *, seconds: float, warmup_timeout: float = 90) -> dict[str, Any]:
    """Open the page, wait until playback advances with a readable clock, sample every 0.5 s."""
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = await context.new_page()
        await page.goto(url)
        try:
            await page.wait_for_function(
                "window.bench && window.bench.ready()", timeout=warmup_timeout * 1000, polling=200
            )
        except Exception as error:
            status = await page.evaluate("window.bench && window.bench.status()")
            raise PlaybackFailed(f"playback did not start: {status}") from error
        await page.evaluate("window.bench.start(500)")
        await asyncio.sleep(seconds)
        result: dict[str, Any] = await page.evaluate("window.bench.stop()")
        return result
    finally:
        await context.close()
