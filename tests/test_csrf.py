"""CSRF on every state-changing route (ASVS v5.0.0-3.5.1, 3.5.3), generated from ``app.routes``.

Every POST/PUT/PATCH/DELETE route that accepts the session cookie (it depends on the principal
or on the form check) refuses a request carrying a valid session cookie but no CSRF token, or
a wrong one: 403 problem ``csrf_failed``; with the right token it gets past the check (whatever
the handler then answers). A route that takes no cookie must be listed in ``EXEMPT`` with the
reason. GET routes are never named like a state change (no state change on GET).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts

from livecircle.identity.deps import check_csrf, get_principal
from tests.conftest import Account, RunningServer, make_account
from tests.security_kit import CSRF, page_cookie

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
EXEMPT = {
    "POST /api/v1/auth/register": "takes no cookie: JSON only (a cross-site form cannot send JSON)",
    "POST /api/v1/auth/token": "takes no cookie: JSON only, answers a bearer token to the caller",
    "POST /api/v1/payments/sandbox/callback": "payment provider callback, authenticated by its own HMAC",
    "POST /api/v1/orders/payments/sandbox/callback": "payment provider callback, authenticated by its HMAC",
    "POST /hooks/rtmp/publish": "nginx-rtmp callback, authorised by the secret stream key",
    "POST /hooks/rtmp/update": "nginx-rtmp callback, authorised by the secret stream key",
    "POST /hooks/rtmp/publish_done": "nginx-rtmp callback, authorised by the secret stream key",
    "POST /hooks/rtmp/record_done": "nginx-rtmp callback, authorised by the secret stream key",
}
# Verbs a GET route must not be named with, in its path or its handler's name.
STATE_VERBS = {
    "add", "accept", "approve", "ban", "cancel", "change", "claim", "close", "confirm", "create",
    "decline", "delete", "draw", "edit", "end", "erase", "follow", "grant", "issue", "join",
    "launch", "leave", "logout", "mute", "pay", "publish", "purge", "redeem", "refund", "reject",
    "remove", "reset", "revoke", "rotate", "send", "set", "subscribe", "toggle", "unfollow",
    "unsubscribe", "update", "vote", "withdraw",
}  # fmt: skip
GET_NAMED_LIKE_A_CHANGE = {
    "/lang/{locale}": "sets only the visitor's language cookie; no server state",
    "/unsubscribe/{token}": "shows a confirmation form; unsubscribing is that form's POST",
    "/me/privacy/delete": "asks for confirmation; the deletion request is that form's POST",
    "/go/{token}": "a link in a campaign message: counts the click (tracking, once per send), then redirects",
}


def _walk(dependant: Any) -> Any:
    yield dependant
    for sub in dependant.dependencies:
        yield from _walk(sub)


def unsafe_routes(app: Any) -> list[tuple[str, str, bool]]:
    """(method, path, takes the session cookie) for every state-changing route."""
    found = []
    for context in iter_route_contexts(app.routes):
        if not context.methods or getattr(context, "dependant", None) is None:
            continue
        calls = {d.call for d in _walk(context.dependant)}
        cookie = get_principal in calls or check_csrf in calls
        found += [(method, context.path, cookie) for method in sorted(context.methods & UNSAFE)]
    return found


def fill(path: str) -> str:
    """Any value will do: the CSRF check runs before the handler looks anything up."""
    return re.sub(r"{\w+(?::\w+)?}", "1", path)


@pytest.fixture
async def member(server: RunningServer) -> Account:
    return await make_account(server, name="跨站受害者")


async def attempt(http: httpx.AsyncClient, method: str, path: str, token: str | None) -> httpx.Response:
    headers = {"Accept": "application/json", "Idempotency-Key": uuid.uuid4().hex}
    if token is not None:
        headers["X-CSRF-Token"] = token
    body: dict[str, Any] = {"json": {}} if path.startswith("/api/") else {"data": {"x": "1"}}
    return await http.request(method, fill(path), headers=headers, **body)


def ends_the_session(path: str) -> bool:
    """Routes that may sign the caller out go last (one session serves the whole run)."""
    return path == "/logout" or any(word in path for word in ("password", "deletion", "delete"))


def refused(response: httpx.Response) -> bool:
    is_problem = response.headers.get("content-type", "").startswith("application/problem+json")
    return response.status_code == 403 and is_problem and response.json().get("code") == "csrf_failed"


async def test_every_cookie_route_needs_the_csrf_token(server: RunningServer, member: Account) -> None:
    routes = unsafe_routes(server.app)
    assert len(routes) > 100
    undecided = [f"{m} {p}" for m, p, cookie in routes if not cookie and f"{m} {p}" not in EXEMPT]
    assert undecided == [], "routes that take no session cookie: list them in EXEMPT with the reason"
    assert [name for name in EXEMPT if name not in {f"{m} {p}" for m, p, _ in routes}] == []
    checked = sorted((r for r in routes if r[2]), key=lambda r: ends_the_session(r[1]))
    problems = []
    # A refused request changes nothing: one session serves all of them.
    async with httpx.AsyncClient(base_url=server.base_url, cookies=await page_cookie(server, member)) as http:
        for method, path, _ in checked:
            for token in (None, "forged-" + CSRF):
                response = await attempt(http, method, path, token)
                if not refused(response):
                    problems.append(f"{method} {path} ({token}): {response.status_code} {response.text[:99]}")
    async with httpx.AsyncClient(base_url=server.base_url, cookies=await page_cookie(server, member)) as http:
        for method, path, _ in checked:
            if refused(await attempt(http, method, path, CSRF)):
                problems.append(f"{method} {path}: refused even with the right token")
    assert problems == []


async def test_a_page_form_needs_the_token_in_its_field(server: RunningServer, host: Account) -> None:
    """Forms send the token as the ``csrf_token`` field: a wrong one is refused, the right one passes."""
    cookies = await page_cookie(server, host)
    async with httpx.AsyncClient(base_url=server.base_url, cookies=cookies) as browser:
        forged = await browser.post("/console/rooms", data={"title": "跨站伪造", "csrf_token": "forged"})
        assert forged.status_code == 403
        rooms = (await browser.get("/api/v1/rooms")).json()
        assert "跨站伪造" not in {room["title"] for room in rooms}
        real = await browser.post("/console/rooms", data={"title": "自己的", "csrf_token": CSRF})
        assert real.status_code == 303, real.text
        rooms = (await browser.get("/api/v1/rooms")).json()
        assert "自己的" in {room["title"] for room in rooms}


async def test_a_bearer_token_needs_no_csrf_token(server: RunningServer, member: Account) -> None:
    """A browser never attaches a bearer token by itself: API clients are not asked for one."""
    async with httpx.AsyncClient(base_url=server.base_url) as api:
        response = await api.put(
            "/api/v1/me/password",
            json={"current_password": "wrong-password", "new_password": "another-password"},
            headers=member.headers,
        )
    assert response.status_code == 403
    assert response.json()["code"] == "wrong_password"  # got past CSRF to the password check


def test_no_get_route_is_named_like_a_state_change(server: RunningServer) -> None:
    offenders = []
    for context in iter_route_contexts(server.app.routes):
        if not context.methods or "GET" not in context.methods or context.path in GET_NAMED_LIKE_A_CHANGE:
            continue
        words = set(re.split(r"[/_\-.{}]+", context.path.lower()))
        words |= set(getattr(context.endpoint, "__name__", "").lower().split("_"))
        if words & STATE_VERBS:
            offenders.append(f"GET {context.path} ({sorted(words & STATE_VERBS)})")
    assert offenders == []


async def test_session_cookie_flags(
    server: RunningServer, client: httpx.AsyncClient, member: Account
) -> None:
    """HttpOnly, SameSite=Lax, Path=/ (Secure and __Host- with cookie_secure: test_sessions.py)."""
    await client.get("/login")
    signed = await client.post(
        "/login",
        data={"email": member.email, "password": member.password, "csrf_token": client.cookies["lc_csrf"]},
    )
    assert signed.status_code == 303
    cookie = next(v for k, v in signed.headers.multi_items() if k == "set-cookie" and "lc_session=" in v)
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "samesite=lax", "path=/"} <= flags
    assert not any(flag.startswith("domain=") for flag in flags)
