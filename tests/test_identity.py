"""Accounts, sign-in, sessions, CSRF and API tokens, through HTTP."""

from __future__ import annotations

import uuid

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select

from livecircle.config import PasswordHashSettings, Settings
from livecircle.identity import service as identity_service
from livecircle.identity.models import User
from tests.conftest import RunningServer

PROBLEM = "application/problem+json"


def new_email() -> str:
    return f"r{uuid.uuid4().hex[:10]}@example.com"


async def register(client: httpx.AsyncClient, email: str, password: str = "correct horse") -> httpx.Response:
    return await client.post(
        "/api/v1/auth/register", json={"email": email, "password": password, "display_name": "小明"}
    )


async def test_register_then_token_then_me(client: httpx.AsyncClient, demo: dict[str, object]) -> None:
    email = new_email()
    created = await register(client, email)
    assert created.status_code == 201, created.text
    token = (
        await client.post("/api/v1/auth/token", json={"email": email, "password": "correct horse"})
    ).json()
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.json()["authenticated"] is True
    assert me.json()["display_name"] == "小明"
    assert me.json()["role"] == "member"


async def test_password_is_stored_as_argon2(
    client: httpx.AsyncClient, server: RunningServer, demo: dict[str, object]
) -> None:
    email = new_email()
    await register(client, email)
    async with server.db.unit_of_work() as session:
        user = await session.scalar(select(User).where(User.email == email))
    assert user is not None
    assert user.password_hash.startswith("$argon2id$")
    assert "correct horse" not in user.password_hash


async def test_duplicate_email_is_a_conflict(client: httpx.AsyncClient, demo: dict[str, object]) -> None:
    email = new_email()
    await register(client, email)
    again = await register(client, email.upper())
    assert again.status_code == 409
    assert again.headers["content-type"] == PROBLEM
    assert again.json()["code"] == "email_taken"


async def test_bad_registrations_are_422_problems(client: httpx.AsyncClient) -> None:
    for body in (
        {"email": "not-an-email", "password": "long enough", "display_name": "x"},
        {"email": new_email(), "password": "short", "display_name": "x"},
        {"email": new_email(), "password": "long enough"},
        {"email": new_email(), "password": "long enough", "display_name": "x", "is_admin": True},
    ):
        response = await client.post("/api/v1/auth/register", json=body)
        assert response.status_code == 422, body
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["code"] == "validation_error"


async def test_wrong_password_and_unknown_email_look_the_same(
    client: httpx.AsyncClient, demo: dict[str, object]
) -> None:
    email = new_email()
    await register(client, email)
    wrong = await client.post("/api/v1/auth/token", json={"email": email, "password": "wrong password"})
    unknown = await client.post(
        "/api/v1/auth/token", json={"email": new_email(), "password": "wrong password"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["code"] == unknown.json()["code"] == "invalid_credentials"


async def test_invalid_bearer_token_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/me", headers={"Authorization": "Bearer lct_forged"})
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


async def test_anonymous_me(client: httpx.AsyncClient) -> None:
    me = (await client.get("/api/v1/me")).json()
    assert me == {"id": None, "display_name": "", "tenant_id": None, "role": None, "authenticated": False}


async def sign_in_with_form(client: httpx.AsyncClient, email: str, password: str) -> None:
    await client.get("/login")
    csrf = client.cookies["lc_csrf"]
    response = await client.post("/login", data={"email": email, "password": password, "csrf_token": csrf})
    assert response.status_code == 303, response.text
    assert "lc_session" in client.cookies


async def test_page_sign_in_needs_csrf_and_sets_session(
    server: RunningServer, demo: dict[str, object]
) -> None:
    email = new_email()
    async with httpx.AsyncClient(base_url=server.base_url) as browser:
        await register(browser, email)
        await browser.get("/login")
        refused = await browser.post("/login", data={"email": email, "password": "correct horse"})
        assert refused.status_code == 403
        assert "lc_session" not in browser.cookies
        await sign_in_with_form(browser, email, "correct horse")
        assert (await browser.get("/api/v1/me")).json()["authenticated"] is True


async def test_cookie_authenticated_api_writes_need_csrf_header(
    server: RunningServer, demo: dict[str, object]
) -> None:
    email = new_email()
    async with httpx.AsyncClient(base_url=server.base_url) as browser:
        await register(browser, email)
        await sign_in_with_form(browser, email, "correct horse")
        body = {"text": "你好"}
        refused = await browser.post(f"/api/v1/rooms/{demo['room_id']}/chat", json=body)
        assert refused.status_code == 403
        assert refused.json()["code"] == "csrf_failed"
        allowed = await browser.post(
            f"/api/v1/rooms/{demo['room_id']}/chat",
            json=body,
            headers={"X-CSRF-Token": browser.cookies["lc_csrf"]},
        )
        assert allowed.status_code == 201, allowed.text


async def test_sign_out_ends_the_server_side_session(server: RunningServer, demo: dict[str, object]) -> None:
    email = new_email()
    async with httpx.AsyncClient(base_url=server.base_url) as browser:
        await register(browser, email)
        await sign_in_with_form(browser, email, "correct horse")
        stolen = browser.cookies["lc_session"]
        out = await browser.post("/logout", data={"csrf_token": browser.cookies["lc_csrf"]})
        assert out.status_code == 303
    async with httpx.AsyncClient(base_url=server.base_url, cookies={"lc_session": stolen}) as attacker:
        assert (await attacker.get("/api/v1/me")).json()["authenticated"] is False


async def test_forged_session_cookie_is_anonymous(client: httpx.AsyncClient) -> None:
    client.cookies.set("lc_session", "forged.value")
    assert (await client.get("/api/v1/me")).json()["authenticated"] is False


async def test_register_page_flow(server: RunningServer, demo: dict[str, object]) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as browser:
        await browser.get("/register")
        csrf = browser.cookies["lc_csrf"]
        short = await browser.post(
            "/register",
            data={"email": new_email(), "password": "short", "display_name": "小红", "csrf_token": csrf},
        )
        assert short.status_code == 422
        ok = await browser.post(
            "/register",
            data={
                "email": new_email(),
                "password": "long enough",
                "display_name": "小红",
                "csrf_token": csrf,
            },
        )
        assert ok.status_code == 303
        assert (await browser.get("/api/v1/me")).json()["display_name"] == "小红"


async def test_passwords_are_hashed_at_the_configured_argon2_cost(server: RunningServer) -> None:
    """The app hashes with its settings' cost (the suite's: the cheapest), and production
    refuses a cost under OWASP's argon2id minimum."""
    cost = server.settings.password_hash
    hashed = await identity_service.hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert f"m={cost.memory_cost_kib},t={cost.time_cost},p={cost.parallelism}" in hashed
    with pytest.raises(ValidationError, match="OWASP"):
        Settings(env="production", secret_key="s" * 32, password_hash=PasswordHashSettings(time_cost=1))
    assert Settings(env="production", secret_key="s" * 32).password_hash.memory_cost_kib == 65_536
