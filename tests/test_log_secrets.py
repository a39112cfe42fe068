"""No secrets in the logs (ASVS v5.0.0-14.2.1; V16 logging).

A short journey with every log line captured, uvicorn's access and WebSocket lines included
(the server logs at INFO here): sign-up and sign-in (API and page, one wrong password), API calls
with the bearer token, a stream key fetched and used by the RTMP publish hook, a WebSocket
ticket and the room socket, a password change, an unsubscribe link; plus a careless client
that puts its token, ticket and key in the query. No session id, bearer token, ticket, stream
key, password or signed link token may appear in any line.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import websockets
from websockets.typing import Subprotocol

from livecircle.growth.notify import service as notify_service
from livecircle.identity.deps import unsign_session
from livecircle.identity.schemas import Role
from livecircle.kit.logging import JsonFormatter
from tests.conftest import RunningServer, make_account, make_settings, run_server

CLIENT_LOGGERS = ("httpx", "httpcore", "websockets.client")


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(CLIENT_LOGGERS):  # the test's own clients, not the server
            self.lines.append(self.format(record))


@pytest.fixture(scope="module")
async def talkative(
    server: RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningServer]:
    """A node logging at INFO (access lines included), on the suite's database."""
    var: Path = tmp_path_factory.mktemp("logs")
    settings = make_settings(server.settings.db_url, var, adapter="none").model_copy(
        update={"log_level": "INFO"}
    )
    try:
        async with run_server(settings) as running:
            yield running
    finally:
        logging.getLogger().setLevel(logging.WARNING)  # the suite's level again


@contextlib.contextmanager
def captured() -> Iterator[Captured]:
    handler = Captured()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


async def test_a_journey_leaves_no_secret_in_the_logs(talkative: RunningServer) -> None:
    node = talkative
    password, new_password = f"pw-{uuid.uuid4().hex}", f"pw2-{uuid.uuid4().hex}"
    email = f"logs{uuid.uuid4().hex[:8]}@example.com"
    host = await make_account(node, role=Role.HOST, name="日志主播")
    secrets: dict[str, str] = {"password": password, "new password": new_password, "host token": host.token}
    with captured() as log:
        async with httpx.AsyncClient(base_url=node.base_url) as api:
            signed_up = await api.post(
                "/api/v1/auth/register", json={"email": email, "password": password, "display_name": "日志"}
            )
            assert signed_up.status_code == 201
            token = signed_up.json()["access_token"]
            bearer = {"Authorization": f"Bearer {token}"}
            secrets["bearer token"] = token
            again = await api.post("/api/v1/auth/token", json={"email": email, "password": password})
            secrets["second bearer token"] = again.json()["access_token"]
            wrong = f"wrong-{uuid.uuid4().hex}"
            secrets["wrong password"] = wrong
            assert (
                await api.post("/api/v1/auth/token", json={"email": email, "password": wrong})
            ).status_code == 401
            assert (await api.get("/api/v1/me", headers=bearer)).status_code == 200

            room = (await api.post("/api/v1/rooms", json={"title": "日志房间"}, headers=host.headers)).json()
            key = (await api.get(f"/api/v1/rooms/{room['id']}/stream-key", headers=host.headers)).json()
            secrets["stream key"] = key["stream_key"]
            publish = {"app": "ingest", "call": "publish", "addr": "127.0.0.1", "name": key["stream_key"]}
            assert (await api.post("/hooks/rtmp/publish", data=publish)).status_code == 302
            await api.get(f"/hls/{room['id']}/index.m3u8")

            ticket = (await api.post("/api/v1/ws-tickets", headers=bearer)).json()["ticket"]
            secrets["ticket"] = ticket
            offer = [Subprotocol("livecircle"), Subprotocol(f"ticket.{ticket}")]
            async with websockets.connect(f"{node.ws_url}/ws/rooms/{room['id']}", subprotocols=offer) as ws:
                hello = orjson.loads(await ws.recv())["events"][0]
                assert hello["me"]["name"] == "日志"

            careless = f"?token={token}&ticket={ticket}&key={key['stream_key']}"
            async with websockets.connect(f"{node.ws_url}/ws/rooms/{room['id']}{careless}") as ws:
                await ws.recv()
            await api.get(f"/api/v1/rooms/{room['id']}/state{careless}")

            user_id = signed_up.json()["user"]["id"]
            link = notify_service.unsubscribe_token(node.settings.secret_key, user_id=user_id, kind="system")
            secrets["unsubscribe link token"] = link
            await api.get(f"/unsubscribe/{link}")

        async with httpx.AsyncClient(base_url=node.base_url) as browser:
            await browser.get("/login")
            csrf = browser.cookies["lc_csrf"]
            form = {"email": email, "password": password, "csrf_token": csrf}
            assert (await browser.post("/login", data=form)).status_code == 303
            cookie = browser.cookies["lc_session"]
            raw = unsign_session(node.settings.secret_key, cookie)
            assert raw is not None
            secrets |= {"session cookie": cookie, "session id": raw, "csrf token": csrf}
            change = {"current_password": password, "new_password": new_password, "csrf_token": csrf}
            assert (await browser.post("/account/security/password", data=change)).status_code == 303
            assert (await browser.get("/account/security")).status_code == 200
    lines = log.lines
    access = [line for line in lines if '"logger":"uvicorn.access"' in line]
    assert any("POST /api/v1/auth/token" in line for line in access)  # access lines were captured
    assert any("WebSocket /ws/rooms/" in line for line in lines)
    assert any("/unsubscribe/[redacted]" in line for line in access)
    leaks = [f"{name} in: {line[:200]}" for name, value in secrets.items() for line in lines if value in line]
    assert leaks == []
