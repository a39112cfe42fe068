"""Minors on SQLite and PostgreSQL (PIPL art. 31): the birth year at sign-up, the minor flag
under 18, and under 14 an account that waits for its guardian: it may not chat, pay or be
profiled until the guardian confirms through the link mailed to them (a real SMTP server)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from livecircle.identity import service as identity_service
from livecircle.kit.clock import utcnow
from livecircle.privacy import consent
from livecircle.privacy.audit import AuditEntry
from livecircle.privacy.consent_models import ConsentRecord, MinorRecord
from tests.conftest import Account, RunningServer, make_room
from tests.room_kit import go_live
from tests.smtp_kit import Mailbox, smtp_server

LINK = re.compile(r"/guardian/([A-Za-z0-9_.\-]+)")


@pytest.fixture
async def mailbox(server: RunningServer) -> AsyncIterator[Mailbox]:
    """A real SMTP server; the app's settings point at it meanwhile (read at send time)."""
    smtp = server.settings.growth.smtp
    before = smtp.model_copy()
    async with smtp_server() as box:
        smtp.host, smtp.port = box.host, box.port
        try:
            yield box
        finally:
            smtp.host, smtp.port = before.host, before.port


def sign_up(age: int | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "email": f"k{uuid.uuid4().hex[:10]}@example.com",
        "password": "secret-pass-1",
        "display_name": "小明",
        **extra,
    }
    if age is not None:
        body["birth_year"] = utcnow().year - age
    return body


async def register(client: httpx.AsyncClient, body: dict[str, Any]) -> Account:
    answer = await client.post("/api/v1/auth/register", json=body)
    assert answer.status_code == 201, answer.text
    return Account(
        answer.json()["user"]["id"], body["email"], body["password"], answer.json()["access_token"], "demo"
    )


async def chat(client: httpx.AsyncClient, room_id: int, account: Account) -> httpx.Response:
    return await client.post(
        f"/api/v1/rooms/{room_id}/chat", json={"text": "大家好"}, headers=account.headers
    )


async def publish_everywhere(
    client: httpx.AsyncClient, host: Account, child: Account, room_id: int
) -> list[httpx.Response]:
    """The child posts in a community it joined, comments on the host's post and asks a
    question in the room's live show."""
    made = await client.post("/api/v1/communities", json={"name": "少年团"}, headers=host.headers)
    community = made.json()["id"]
    joined = await client.post(f"/api/v1/communities/{community}/join", headers=child.headers)
    assert joined.status_code == 200, joined.text
    hosts = await client.post(
        f"/api/v1/communities/{community}/posts", json={"body": "欢迎"}, headers=host.headers
    )
    assert hosts.status_code == 201, hosts.text
    await go_live(client, host, room_id)
    return [
        await client.post(
            f"/api/v1/communities/{community}/posts", json={"body": "你好"}, headers=child.headers
        ),
        await client.post(
            f"/api/v1/posts/{hosts.json()['id']}/comments", json={"body": "好"}, headers=child.headers
        ),
        await client.post(
            f"/api/v1/rooms/{room_id}/questions", json={"text": "几点开始?"}, headers=child.headers
        ),
    ]


async def test_a_child_waits_for_the_guardian_who_confirms_through_the_mailed_link(
    server: RunningServer, client: httpx.AsyncClient, mailbox: Mailbox, host: Account
) -> None:
    parent = f"parent{uuid.uuid4().hex[:8]}@example.com"
    child = await register(client, sign_up(10, guardian_email=parent))
    mine = (await client.get("/api/v1/me/consents", headers=child.headers)).json()
    assert mine["awaiting_guardian"] is True
    async with server.db.unit_of_work() as session:
        user = await identity_service.get_user(session, child.user_id)
        assert user is not None
        assert user.is_minor is True
        record = await session.get(MinorRecord, child.user_id)
        assert record is not None
        assert (record.needs_guardian, record.guardian_email) == (True, parent)
        assert not await consent.allows(session, child.user_id, consent.Purpose.PROFILING)

    room = await make_room(client, host)
    refused = await chat(client, room["id"], child)
    assert (refused.status_code, refused.json()["code"]) == (403, "guardian_consent_pending")
    for published in await publish_everywhere(client, host, child, room["id"]):
        assert (published.status_code, published.json()["code"]) == (403, "guardian_consent_pending")
    payment = await client.put("/api/v1/me/consents/payment", json={"granted": True}, headers=child.headers)
    assert (payment.status_code, payment.json()["code"]) == (403, "guardian_consent_pending")
    watching = await client.get(f"/api/v1/rooms/{room['id']}", headers=child.headers)
    assert watching.status_code == 200  # watching needs nothing

    await mailbox.wait_for(lambda box: bool(box.to(parent)))
    mail = mailbox.to(parent)[0].message
    assert "小明" in str(mail["Subject"])
    text = mail.get_body(preferencelist=("plain",))
    assert text is not None
    token = LINK.search(text.get_content())
    assert token is not None
    page = await client.get(f"/guardian/{token.group(1)}")
    assert page.status_code == 200
    assert 'id="guardian-agree"' in page.text
    assert "小明" in page.text
    async with server.db.unit_of_work() as session:
        assert await consent.awaiting_guardian(session, child.user_id)  # opening the page changed nothing
    forged = await client.get(f"/guardian/{token.group(1)[:-2]}xx")
    assert (forged.status_code, forged.json()["code"]) == (404, "guardian_link_invalid")

    await client.get("/login")
    agreed = await client.post(f"/guardian/{token.group(1)}", data={"csrf_token": client.cookies["lc_csrf"]})
    assert agreed.status_code == 200, agreed.text
    assert 'id="guardian-agreed"' in agreed.text
    async with server.db.unit_of_work() as session:
        assert not await consent.awaiting_guardian(session, child.user_id)
        assert await consent.allows(session, child.user_id, consent.Purpose.PROFILING)
        given = (
            await session.scalars(
                select(ConsentRecord).where(
                    ConsentRecord.user_id == child.user_id, ConsentRecord.purpose == "guardian"
                )
            )
        ).one()
        assert (given.granted, given.channel, given.guardian_email) == (True, "email", parent)
        assert given.guardian_confirmed_at is not None
        role = await session.scalar(
            select(AuditEntry.actor_role)
            .where(AuditEntry.target == f"user:{child.user_id}", AuditEntry.action == "consent.grant")
            .order_by(AuditEntry.seq.desc())
        )
        assert role == "guardian"
    assert (await chat(client, room["id"], child)).status_code == 201
    asked = await client.post(
        f"/api/v1/rooms/{room['id']}/questions", json={"text": "能回放吗?"}, headers=child.headers
    )
    assert asked.status_code == 201, asked.text
    payment = await client.put("/api/v1/me/consents/payment", json={"granted": True}, headers=child.headers)
    assert payment.status_code == 200
    topup = await client.post(
        "/api/v1/wallet/topups", json={"coins": 10}, headers={**child.headers, "Idempotency-Key": "kid"}
    )
    assert (topup.status_code, topup.json()["code"]) == (403, "minor_cannot_pay")  # a minor all the same


async def test_age_rules_at_sign_up(server: RunningServer, client: httpx.AsyncClient) -> None:
    no_guardian = sign_up(12)
    refused = await client.post("/api/v1/auth/register", json=no_guardian)
    assert (refused.status_code, refused.json()["code"]) == (422, "guardian_email_required")
    future = await client.post("/api/v1/auth/register", json=sign_up(-1))
    assert (future.status_code, future.json()["code"]) == (422, "birth_year_invalid")
    teen = await register(client, sign_up(16))
    adult = await register(client, sign_up(30))
    unsaid = await register(client, sign_up())
    async with server.db.unit_of_work() as session:
        assert await identity_service.get_user_by_email(session, no_guardian["email"]) is None  # nothing made
        flags = {}
        for account in (teen, adult, unsaid):
            user = await identity_service.get_user(session, account.user_id)
            assert user is not None
            flags[account.user_id] = (
                user.is_minor,
                await session.get(MinorRecord, account.user_id) is not None,
            )
            assert not await consent.awaiting_guardian(session, account.user_id)
    # A teen is a minor (no top-ups or tips) without a guardian step; an adult's year is not kept.
    assert flags == {
        teen.user_id: (True, True),
        adult.user_id: (False, False),
        unsaid.user_id: (False, False),
    }


async def test_a_child_signing_up_on_the_page_lands_on_the_waiting_notice(
    server: RunningServer, client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    await client.get("/register")
    parent = f"parent{uuid.uuid4().hex[:8]}@example.com"
    form = {**sign_up(9), "guardian_email": parent, "csrf_token": client.cookies["lc_csrf"]}
    missing = await client.post("/register", data={**form, "guardian_email": ""})
    assert missing.status_code == 422
    assert 'id="error-guardian-email"' in missing.text
    signed_up = await client.post("/register", data={k: str(v) for k, v in form.items()})
    assert signed_up.status_code == 303
    assert signed_up.headers["location"] == "/me/consent?guardian=pending"
    page = await client.get("/me/consent?guardian=pending")
    assert 'id="guardian-pending"' in page.text
    await mailbox.wait_for(lambda box: len(box.to(parent)) == 1)

    # Another mail only after a while; then one click sends it again.
    async with server.db.unit_of_work() as session:
        user = await identity_service.get_user_by_email(session, form["email"])
        assert user is not None
        await session.execute(
            update(MinorRecord)
            .where(MinorRecord.user_id == user.id)
            .values(requested_at=utcnow() - timedelta(hours=1))
        )
    resent = await client.post("/me/guardian/resend", data={"csrf_token": client.cookies["lc_csrf"]})
    assert resent.status_code == 303
    await mailbox.wait_for(lambda box: len(box.to(parent)) == 2)
