"""The room socket: the handshake's Origin is checked (ASVS v5.0.0-4.4.2), and API clients get
on with a one-time ticket or a header, never a token in the URL (4.4.3, 14.2.1).

Real websockets clients against the real server: a foreign Origin is refused with 403 before
the socket opens, even carrying a valid session cookie (cross-site WebSocket hijacking); the
site's own Origin and no Origin (non-browser clients) are let in. A ticket opens one socket
within its 30 s; a replayed, forged or expired one is refused; ``?token=`` no longer signs in.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson
import pytest
import websockets
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin, Subprotocol

from livecircle.identity import tickets
from livecircle.kit.security_headers import SecurityHeaders
from tests.conftest import Account, RunningServer, make_room
from tests.security_kit import page_cookie

FOREIGN = ["https://evil.example.com", "http://127.0.0.1.evil.example.com", "null", "http://localhost:1"]


async def first_events(ws: ClientConnection) -> list[dict[str, Any]]:
    frame = orjson.loads(await ws.recv(decode=True))
    events: list[dict[str, Any]] = frame["events"]
    return events


@pytest.fixture
async def room(client: httpx.AsyncClient, host: Account) -> int:
    return int((await make_room(client, host))["id"])


async def test_a_foreign_origin_is_refused_at_the_handshake(
    server: RunningServer, room: int, viewer: Account
) -> None:
    cookies = await page_cookie(server, viewer)
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    for origin in FOREIGN:
        with pytest.raises(InvalidStatus) as refused:
            async with websockets.connect(
                f"{server.ws_url}/ws/rooms/{room}",
                origin=Origin(origin),
                additional_headers={"Cookie": cookie},  # the victim's cookie rides along
            ):
                pass
        assert refused.value.response.status_code == 403, origin
    with pytest.raises(InvalidStatus) as elsewhere:
        async with websockets.connect(f"{server.ws_url}/ws/anything", origin=Origin(FOREIGN[0])):
            pass
    assert elsewhere.value.response.status_code == 403  # every socket path, not only rooms


async def test_the_sites_own_origin_and_no_origin_are_let_in(
    server: RunningServer, room: int, viewer: Account
) -> None:
    cookies = await page_cookie(server, viewer)
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    own = Origin(server.base_url)
    async with websockets.connect(
        f"{server.ws_url}/ws/rooms/{room}", origin=own, additional_headers={"Cookie": cookie}
    ) as browser:
        hello = (await first_events(browser))[0]
        assert hello["type"] == "hello"
        assert hello["me"]["id"] == viewer.user_id  # the page's session cookie signs it in
    async with websockets.connect(f"{server.ws_url}/ws/rooms/{room}") as tool:  # no Origin at all
        assert (await first_events(tool))[0]["me"] is None


def test_the_allow_list_and_same_host_rule() -> None:
    """The configured public URL and extra origins, or the request's own host; nothing else."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("not called")

    guard = SecurityHeaders(
        app,
        base_url="https://live.example.com",
        hsts_seconds=0,
        allowed_origins=["https://m.example.com:8443"],
    )

    def allowed(origin: str | None, host: str = "internal:8000") -> bool:
        headers = [(b"host", host.encode())] + ([(b"origin", origin.encode())] if origin else [])
        return guard.origin_allowed({"type": "websocket", "headers": headers})

    assert allowed(None)
    assert allowed("https://live.example.com")
    assert allowed("HTTPS://LIVE.example.com")
    assert allowed("https://m.example.com:8443")
    assert allowed("http://internal:8000")  # same host as the request
    assert not allowed("https://m.example.com")  # another port is another origin
    assert not allowed("https://live.example.com.evil.com")
    assert not allowed("null")
    assert not allowed("garbage")


async def ticket_for(client: httpx.AsyncClient, account: Account) -> str:
    reply = await client.post("/api/v1/ws-tickets", headers=account.headers)
    assert reply.status_code == 201, reply.text
    assert reply.json()["expires_in"] == 30
    ticket: str = reply.json()["ticket"]
    return ticket


def offering(ticket: str) -> list[Subprotocol]:
    return [Subprotocol("livecircle"), Subprotocol(f"ticket.{ticket}")]


async def test_a_ticket_opens_one_socket(
    server: RunningServer, client: httpx.AsyncClient, room: int, viewer: Account
) -> None:
    ticket = await ticket_for(client, viewer)
    url = f"{server.ws_url}/ws/rooms/{room}"
    async with websockets.connect(url, subprotocols=offering(ticket)) as ws:
        assert ws.subprotocol == "livecircle"
        hello = (await first_events(ws))[0]
        assert hello["me"]["id"] == viewer.user_id
    async with websockets.connect(url, subprotocols=offering(ticket)) as replay:
        [error] = await first_events(replay)
        assert error["code"] == "unauthenticated"
        await replay.wait_closed()
        assert replay.close_code == 4401


async def test_forged_and_expired_tickets_are_refused(
    server: RunningServer, client: httpx.AsyncClient, room: int, viewer: Account
) -> None:
    class Yesterday(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 86_400

    secret = server.settings.secret_key
    expired = URLSafeTimedSerializer(secret, salt=tickets._SALT, signer=Yesterday).dumps(
        [viewer.user_id, 1, "n"]
    )
    forged = URLSafeTimedSerializer("not-the-secret", salt=tickets._SALT).dumps([viewer.user_id, 1, "n2"])
    real = await ticket_for(client, viewer)
    tampered = real[:-2] + ("AA" if not real.endswith("AA") else "BB")
    for bad in (expired, forged, tampered):
        async with websockets.connect(f"{server.ws_url}/ws/rooms/{room}", subprotocols=offering(bad)) as ws:
            [error] = await first_events(ws)
            assert error["code"] == "unauthenticated", bad


async def test_a_token_in_the_url_signs_nobody_in(server: RunningServer, room: int, viewer: Account) -> None:
    async with websockets.connect(f"{server.ws_url}/ws/rooms/{room}?token={viewer.token}") as ws:
        assert (await first_events(ws))[0]["me"] is None


async def test_tickets_need_a_signed_in_caller(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/ws-tickets")).status_code == 401
