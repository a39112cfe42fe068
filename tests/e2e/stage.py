"""A fresh room on a server without media, and the browser pages opened on it.

Shared by the room-page browser tests; the fixtures (``room_server``, ``stage``) are in conftest.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from playwright.async_api import Browser, BrowserContext, Page

from livecircle.demo import DEMO_PASSWORD
from tests.conftest import Account, RunningServer, make_account
from tests.e2e.journey import new_context, signed_in_context, wait_until

HOST_EMAIL = "host@demo.livecircle.local"


@dataclass
class Stage:
    """A fresh room owned by the demo host, and the browser contexts opened on it."""

    server: RunningServer
    browser: Browser
    http: httpx.AsyncClient
    room_id: int
    host_token: str
    contexts: list[BrowserContext] = field(default_factory=list)

    async def member(self, prefix: str) -> Account:
        return await make_account(self.server, name=f"{prefix}{uuid.uuid4().hex[:4]}")

    async def open(
        self, email: str | None = None, on_page: Callable[[Page], None] | None = None, *, guide: bool = False
    ) -> Page:
        """The room page, signed in as ``email`` (or anonymous), once its socket said hello;
        ``guide``: as a first-time visitor, whose room page opens the first-visit guide."""
        if email:
            context = await signed_in_context(
                self.browser, self.server.base_url, email, DEMO_PASSWORD, guide=guide
            )
        else:
            context = await new_context(
                self.browser,
                guide=guide,
                base_url=self.server.base_url,
                locale="zh-CN",
                viewport={"width": 1280, "height": 800},
            )
        self.contexts.append(context)
        page = await context.new_page()
        if on_page:
            on_page(page)
        await page.goto(f"/rooms/{self.room_id}")
        await wait_until(page, "window.lcRoom && window.lcRoom.connected", timeout_ms=10_000)
        return page

    async def go_live(self) -> None:
        """Start a show without media: the publish hook as nginx-rtmp would call it."""
        headers = {"Authorization": f"Bearer {self.host_token}"}
        key = (await self.http.get(f"/api/v1/rooms/{self.room_id}/stream-key", headers=headers)).json()
        form = {"app": "ingest", "call": "publish", "addr": "127.0.0.1", "name": key["stream_key"]}
        assert (await self.http.post("/hooks/rtmp/publish", data=form)).status_code == 302


def ops_in(payload: str | bytes, op: str) -> list[dict[str, Any]]:
    """The client op ``op`` in one sent WebSocket frame (for ``ws.on("framesent", ...)``)."""
    with contextlib.suppress(ValueError):
        message = json.loads(payload)
        if isinstance(message, dict) and message.get("op") == op:
            return [message]
    return []
