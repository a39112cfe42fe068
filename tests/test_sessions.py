"""Sessions end on a password change; session cookies carry the right flags.

A password change (the account security page, or PUT /api/v1/me/password) keeps the caller's
own session or token and revokes every other page session and API token of the account at
once, on this node too although the principal cache had just seen the token; it is audited.
With ``cookie_secure`` the cookies are ``__Host-`` prefixed and Secure (ASVS v5.0.0-3.3.1,
3.3.3, 3.3.4; V7 session termination).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from livecircle.privacy.audit import AuditEntry
from tests.conftest import Account, RunningServer, make_account, make_settings, run_server

NEW_PASSWORD = "a-brand-new-password"


@contextlib.asynccontextmanager
async def browser_signed_in(server: RunningServer, account: Account) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url) as browser:
        await browser.get("/login")
        form = {
            "email": account.email,
            "password": account.password,
            "csrf_token": browser.cookies["lc_csrf"],
        }
        assert (await browser.post("/login", data=form)).status_code == 303
        yield browser


async def signed_in(http: httpx.AsyncClient, headers: dict[str, str] | None = None) -> bool:
    """The caller is someone (401 on a members-only call when not)."""
    reply = await http.get("/api/v1/me/invite", headers=headers or {})
    assert reply.status_code in (200, 401), reply.text
    return reply.status_code == 200


async def new_token(client: httpx.AsyncClient, account: Account, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/token", json={"email": account.email, "password": password})


async def password_changes(server: RunningServer, user_id: int) -> list[AuditEntry]:
    async with server.db.unit_of_work() as session:
        rows = await session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "account.password_change", AuditEntry.target == f"user:{user_id}"
            )
        )
        return list(rows)


async def test_changing_the_password_on_the_page_signs_out_everywhere_else(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account
) -> None:
    token = viewer.headers
    assert await signed_in(client, token)  # the node's principal cache now holds the token
    async with browser_signed_in(server, viewer) as mine, browser_signed_in(server, viewer) as other:
        assert await signed_in(other)
        page = await mine.get("/account/security")
        assert page.status_code == 200
        assert 'action="/account/security/password"' in page.text
        form = {
            "current_password": viewer.password,
            "new_password": NEW_PASSWORD,
            "csrf_token": mine.cookies["lc_csrf"],
        }
        changed = await mine.post("/account/security/password", data=form)
        assert changed.status_code == 303
        assert changed.headers["location"] == "/account/security?changed=1"
        assert 'id="password-changed"' in (await mine.get(changed.headers["location"])).text
        assert await signed_in(mine)  # this browser stays signed in
        assert not await signed_in(other)  # the other browser is out at once
        assert (await other.get("/account/security")).headers["location"].startswith("/login")
    assert not await signed_in(client, token)  # so is the API token, without waiting for the cache
    assert (await new_token(client, viewer, viewer.password)).status_code == 401
    assert (await new_token(client, viewer, NEW_PASSWORD)).status_code == 200
    [entry] = await password_changes(server, viewer.user_id)
    assert entry.actor_id == viewer.user_id
    assert entry.detail == {"sessions_closed": 1, "tokens_revoked": 1}


async def test_changing_the_password_through_the_api_keeps_only_the_calling_token(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    account = await make_account(server, name="改密码的人")
    second = (await new_token(client, account, account.password)).json()["access_token"]
    other = {"Authorization": f"Bearer {second}"}
    async with browser_signed_in(server, account) as browser:
        assert await signed_in(client, other)
        change = {"current_password": account.password, "new_password": NEW_PASSWORD}
        reply = await client.put("/api/v1/me/password", json=change, headers=account.headers)
        assert reply.status_code == 204, reply.text
        assert await signed_in(client, account.headers)
        assert not await signed_in(client, other)
        assert not await signed_in(browser)
    [entry] = await password_changes(server, account.user_id)
    assert entry.detail == {"sessions_closed": 1, "tokens_revoked": 1}


async def test_a_wrong_current_password_changes_nothing(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    account = await make_account(server, name="输错密码")
    second = (await new_token(client, account, account.password)).json()["access_token"]
    async with browser_signed_in(server, account) as browser:
        form = {
            "current_password": "wrong",
            "new_password": NEW_PASSWORD,
            "csrf_token": browser.cookies["lc_csrf"],
        }
        page = await browser.post("/account/security/password", data=form)
        assert page.status_code == 403
        assert 'id="password-error"' in page.text
        short = form | {"current_password": account.password, "new_password": "short"}
        assert (await browser.post("/account/security/password", data=short)).status_code == 422
        assert await signed_in(browser)
    assert await signed_in(client, {"Authorization": f"Bearer {second}"})
    assert (await new_token(client, account, account.password)).status_code == 200
    assert await password_changes(server, account.user_id) == []


async def test_the_security_page_needs_a_signed_in_user(client: httpx.AsyncClient) -> None:
    reply = await client.get("/account/security")
    assert reply.status_code == 303
    assert reply.headers["location"] == "/login?next=/account/security"


@pytest.fixture(scope="module")
async def secure_server(
    server: RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningServer]:
    """A node behind HTTPS (``cookie_secure``), on the suite's database."""
    var: Path = tmp_path_factory.mktemp("secure")
    settings = make_settings(server.settings.db_url, var, adapter="none").model_copy(
        update={"cookie_secure": True}
    )
    async with run_server(settings) as running:
        yield running


async def test_secure_cookies_are_host_prefixed(secure_server: RunningServer) -> None:
    account = await make_account(secure_server, name="加密连接")
    async with httpx.AsyncClient(base_url=secure_server.base_url) as http:
        login = await http.get("/login")
        csrf = cookie_named(login, "__Host-lc_csrf")
        assert {"secure", "path=/", "samesite=lax"} <= flags(csrf)
        token = csrf.split(";")[0].split("=", 1)[1]
        signed = await http.post(
            "/login",
            data={"email": account.email, "password": account.password, "csrf_token": token},
            headers={"Cookie": f"__Host-lc_csrf={token}"},
        )
        assert signed.status_code == 303, signed.text
        session = cookie_named(signed, "__Host-lc_session")
        assert {"secure", "httponly", "path=/", "samesite=lax"} <= flags(session)
        assert not any(flag.startswith("domain=") for flag in flags(session))
        value = session.split(";")[0].split("=", 1)[1]
        me = await http.get("/api/v1/me/invite", headers={"Cookie": f"__Host-lc_session={value}"})
        assert me.status_code == 200
        # The unprefixed name means nothing on a secure node (it could be planted by a sibling site).
        plain = await http.get("/api/v1/me/invite", headers={"Cookie": f"lc_session={value}"})
        assert plain.status_code == 401


def cookie_named(response: httpx.Response, name: str) -> str:
    found = [v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith(name + "=")]
    assert found, f"no {name} cookie set"
    return found[0]


def flags(cookie: str) -> set[str]:
    return {part.strip().lower() for part in cookie.split(";")[1:]}
