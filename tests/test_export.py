"""A member downloads a copy of their data (PIPL art. 45, GDPR art. 15, 20), on SQLite and
PostgreSQL: the durable job builds a zip (JSON + one CSV per table) within seconds, the signed
link works for the member only as long as it should (a forged link 404, an expired one 410, the
file deleted at expiry), requests are limited (429 + Retry-After), and requests and downloads
are audit entries. The member corrects their profile through the API and the page."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import httpx
from sqlalchemy import select, update

from livecircle.kit.clock import utcnow
from livecircle.kit.jobs import Job
from livecircle.privacy.audit import AuditEntry
from livecircle.privacy.export import expire_key, exports_dir
from livecircle.privacy.models import BUILDING, READY, ExportRequest
from tests.conftest import Account, RunningServer, make_account
from tests.privacy_kit import PASSWORD, Subject, eventually, read_archive, ready_export, register, seed_member


async def audit_actions(server: RunningServer, user_id: int) -> list[str]:
    async with server.db.sessionmaker() as session:
        rows = await session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.target == f"user:{user_id}", AuditEntry.action.like("privacy.%"))
            .order_by(AuditEntry.seq)
        )
        return list(rows)


async def test_a_member_downloads_their_data_as_json_and_csv(
    server: RunningServer, client: httpx.AsyncClient, other_viewer: Account
) -> None:
    subject: Subject = await seed_member(server, client, full=False)
    me = subject.account
    line = await client.post(
        f"/api/v1/rooms/{subject.room_id}/chat", json={"text": subject.chat_text}, headers=me.headers
    )
    assert line.status_code == 201, line.text
    ready = await ready_export(client, me)
    assert ready["url"].startswith(server.settings.http.base_url + "/exports/")
    assert ready["expires_at"] is not None

    # Only the member sees their export request; the link itself is the credential.
    theirs = await client.get(f"/api/v1/me/exports/{ready['id']}", headers=other_viewer.headers)
    assert theirs.status_code == 404
    path = "/exports/" + ready["url"].rsplit("/", 1)[1]
    downloaded = await client.get(path)
    assert downloaded.status_code == 200, downloaded.text
    assert downloaded.headers["content-type"] == "application/zip"
    assert downloaded.headers["cache-control"] == "no-store"
    document, tables = read_archive(downloaded.content)

    assert document["subject"]["user_id"] == me.user_id
    assert subject.device in document["subject"]["aliases"]  # the anonymous id merged at sign-up
    user = document["tables"]["identity_user"]
    assert tables["identity_user"][0]["email"] == me.email
    assert (user["rows"][0]["email"], user["rows"][0]["display_name"]) == (me.email, subject.name)
    assert user["secrets"] == {"password_hash": "present, not exported"}
    assert "argon2" not in downloaded.content.decode("latin-1")
    chat = document["tables"]["interaction_chat_message"]["rows"]
    assert [row["text"] for row in chat] == [subject.chat_text]
    assert tables["interaction_chat_message"][0]["text"] == subject.chat_text
    anonymous = [
        r for r in document["tables"]["analytics_event"]["rows"] if r.get("anon_id") == subject.device
    ]
    assert anonymous, "the likes from before sign-up are the member's too"
    for category in ("identity", "profile", "credentials", "content", "device", "activity"):
        assert category in document["categories"], category
    assert "token_hash" not in json.dumps(document["tables"]["identity_api_token"]["rows"])
    assert await audit_actions(server, me.user_id) == ["privacy.export.request", "privacy.export.download"]


async def test_forged_and_expired_links_and_the_file_going_at_expiry(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    subject = await seed_member(server, client, full=False)
    ready = await ready_export(client, subject.account)
    token = ready["url"].rsplit("/", 1)[1]
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert (await client.get(f"/exports/{forged}")).status_code == 404
    assert (await client.get(f"/exports/not-a-token-{uuid.uuid4().hex}")).status_code == 404
    async with server.db.sessionmaker() as session:
        row = await session.get(ExportRequest, ready["id"])
        assert row is not None
        assert row.file_name is not None
        file = exports_dir(server.settings) / row.file_name
    assert file.exists()

    # The link's time is up: the expiry job runs (brought forward), deletes the file, and the
    # link answers 410 Gone.
    async with server.db.unit_of_work() as session:
        past = utcnow() - timedelta(seconds=1)
        await session.execute(
            update(ExportRequest).where(ExportRequest.id == ready["id"]).values(expires_at=past)
        )
        moved = await session.execute(update(Job).where(Job.key == expire_key(row)).values(run_at=past))
        assert getattr(moved, "rowcount", 0) == 1

    async def gone() -> bool | None:
        return True if not file.exists() else None

    await eventually(gone)
    expired = await client.get(f"/exports/{token}")
    assert (expired.status_code, expired.json()["code"]) == (410, "export_expired")
    listed = (await client.get(f"/api/v1/me/exports/{ready['id']}", headers=subject.account.headers)).json()
    assert (listed["status"], listed["url"]) == ("expired", None)


async def test_export_requests_are_limited_with_retry_after(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    member = await make_account(server, name="导出限额")
    async with server.db.unit_of_work() as session:
        session.add(ExportRequest(user_id=member.user_id, tenant_id=1, status=BUILDING, nonce="x" * 32))
    busy = await client.post("/api/v1/me/exports", headers=member.headers)
    assert (busy.status_code, busy.json()["code"]) == (429, "export_in_progress")
    assert int(busy.headers["retry-after"]) > 0

    # Three requests in the last 24 hours use up the day; the next one may come when the
    # oldest is a day old.
    async with server.db.unit_of_work() as session:
        await session.execute(
            update(ExportRequest).where(ExportRequest.user_id == member.user_id).values(status=READY)
        )
        for hours in (5, 3):
            session.add(
                ExportRequest(
                    user_id=member.user_id,
                    tenant_id=1,
                    status=READY,
                    nonce="y" * 32,
                    created_at=utcnow() - timedelta(hours=hours),
                )
            )
    limited = await client.post("/api/v1/me/exports", headers=member.headers)
    assert (limited.status_code, limited.json()["code"]) == (429, "export_limit")
    retry_after = int(limited.headers["retry-after"])
    assert 19 * 3600 - 60 < retry_after <= 19 * 3600 + 1


async def test_a_member_corrects_their_name_and_email(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    subject = await seed_member(server, client, full=False)
    me = subject.account
    renamed = await client.patch("/api/v1/me", json={"display_name": "新名字"}, headers=me.headers)
    assert renamed.status_code == 200, renamed.text
    assert (await client.get("/api/v1/me", headers=me.headers)).json()["display_name"] == "新名字"
    new_email = f"n{uuid.uuid4().hex[:10]}@example.com"
    no_password = await client.patch("/api/v1/me", json={"email": new_email}, headers=me.headers)
    assert (no_password.status_code, no_password.json()["code"]) == (403, "wrong_password")
    other = await register(client, me.tenant, "他人", device=f"other-{uuid.uuid4().hex[:10]}")
    taken = await client.patch(
        "/api/v1/me", json={"email": other.email, "password": PASSWORD}, headers=me.headers
    )
    assert (taken.status_code, taken.json()["code"]) == (409, "email_taken")
    bad = await client.patch("/api/v1/me", json={"email": "not-an-address"}, headers=me.headers)
    assert bad.status_code == 422
    changed = await client.patch(
        "/api/v1/me", json={"email": new_email, "password": PASSWORD}, headers=me.headers
    )
    assert changed.json()["email"] == new_email
    signed = await client.post("/api/v1/auth/token", json={"email": new_email, "password": PASSWORD})
    assert signed.status_code == 200, signed.text

    # The page's form does the same (CSRF-checked).
    await client.get("/login")
    page = await client.post(
        "/me/privacy/profile",
        data={"display_name": "页面改名", "email": new_email, "csrf_token": client.cookies["lc_csrf"]},
        headers=me.headers,
    )
    assert (page.status_code, page.headers["location"]) == (303, "/me/privacy?done=profile")
    shown = await client.get("/me/privacy", headers=me.headers)
    assert "页面改名" in shown.text
    assert 'id="delete-account"' in shown.text
    assert "下载我的数据" in shown.text
    assert "Download my data" in (await client.get("/me/privacy?lang=en", headers=me.headers)).text
    refused = await client.post("/me/privacy/profile", data={"display_name": "x"}, headers=me.headers)
    assert refused.status_code == 403
