"""The retention purge on SQLite and PostgreSQL, with rows back-dated in the database: past
their class's window rows are deleted (expired sessions, revoked tokens, old notifications,
expired exports and their files) or pseudonymised (raw analytics events, in the database and
in this node's DuckDB replica); rows inside the window are untouched; a second run changes
nothing; the purge is a durable daily job."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import httpx
from sqlalchemy import select, update

from livecircle.analytics.models import AnonIdentity
from livecircle.growth.notify import service as notify_service
from livecircle.growth.notify.models import Notification
from livecircle.growth.notify.schemas import Kind
from livecircle.identity import service as identity_service
from livecircle.identity.models import ApiToken, PageSession
from livecircle.kit import jobs
from livecircle.kit.clock import utcnow
from livecircle.kit.tracking import AnalyticsEvent, event_row, insert_rows
from livecircle.privacy.audit import AuditEntry
from livecircle.privacy.models import ExportRequest
from livecircle.privacy.pseudonym import pseudonym_key, pseudonyms
from livecircle.privacy.purge import PURGE_JOB, Purger, next_run, plan
from livecircle.privacy.retention import Retention, windows
from tests.conftest import RunningServer, make_account


def test_windows_come_from_settings_and_never_go_below_the_law() -> None:
    days = windows(SimpleNamespace(retention=SimpleNamespace(commerce=30, activity=10, content=None)))
    assert days[Retention.COMMERCE] == 1095  # orders: at least 3 years (电子商务法 art. 31)
    assert days[Retention.AUDIT] == 1095
    assert days[Retention.ACTIVITY] == 10
    assert days[Retention.CONTENT] is None
    assert windows()[Retention.ANALYTICS_RAW] == 180


def test_the_walk_leaves_sessions_keys_and_unique_columns_alone() -> None:
    steps = {step.table.name: step for step in plan(windows())}
    # Sessions and tokens go by their expiry (a hook), never by their creation time.
    assert "identity_session" not in steps
    assert "identity_api_token" not in steps
    for step in steps.values():
        for column, _ in step.blanks:
            assert not column.primary_key, (step.table.name, column.name)
            assert column.nullable or not column.unique, (step.table.name, column.name)


async def seed(server: RunningServer, tenant: str) -> dict[str, Any]:
    """Rows of one member inside and past their windows."""
    member = await make_account(server, tenant=tenant, consents=())
    inviter = await make_account(server, tenant=tenant, consents=())
    now = utcnow()
    anon_linked, anon_free = f"dev-{uuid.uuid4().hex[:12]}", f"dev-{uuid.uuid4().hex[:12]}"
    file_name = f"{uuid.uuid4().hex}.zip"
    exports = server.settings.var_dir / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    (exports / file_name).write_bytes(b"PK")
    async with server.db.unit_of_work() as session:
        tenant_id = (await identity_service.get_tenant_by_slug(session, tenant)).id
        user = await identity_service.get_user(session, member.user_id)
        assert user is not None
        for _ in range(2):
            await identity_service.do_open_session(session, user=user, tenant_id=tenant_id, max_age_days=30)
        token = await identity_service.do_issue_api_token(session, user=user, tenant_id=tenant_id, name="old")
        sessions = list(await session.scalars(select(PageSession.id).where(PageSession.user_id == user.id)))
        await session.execute(
            update(PageSession)
            .where(PageSession.id == sessions[0])
            .values(expires_at=now - timedelta(hours=1))
        )
        await session.execute(
            update(ApiToken)
            .where(ApiToken.token_hash == identity_service.token_digest(token))
            .values(revoked_at=now - timedelta(days=1))
        )
        for days in (800, 700):
            await notify_service.do_notify(
                session,
                tenant_id=tenant_id,
                user_ids=[user.id],
                kind=Kind.SYSTEM,
                title=f"通知{days}",
                dedupe_key=f"retention:{uuid.uuid4().hex}:{days}",
                email=False,
            )
        await session.execute(
            update(Notification)
            .where(Notification.user_id == user.id, Notification.title == "通知800")
            .values(created_at=now - timedelta(days=800))
        )
        await session.execute(
            update(Notification)
            .where(Notification.user_id == user.id, Notification.title == "通知700")
            .values(created_at=now - timedelta(days=700))
        )
        session.add(AnonIdentity(anon_id=anon_linked, user_id=user.id, merged_at=now - timedelta(days=300)))
        session.add(
            ExportRequest(
                user_id=user.id,
                tenant_id=tenant_id,
                status="ready",
                nonce=uuid.uuid4().hex,
                file_name=file_name,
                expires_at=now - timedelta(days=1),
            )
        )
        ids = {name: f"ret-{uuid.uuid4().hex}" for name in ("old", "new", "linked", "free")}
        old = now - timedelta(days=200)
        props = {"device": anon_linked, "ip": "203.0.113.9", "inviter_id": inviter.user_id, "room": 7}
        await insert_rows(
            session,
            [
                event_row(
                    "view_start",
                    event_id=ids["old"],
                    tenant_id=tenant_id,
                    user_id=user.id,
                    ts=old,
                    props=props,
                ),
                event_row(
                    "view_start", event_id=ids["new"], tenant_id=tenant_id, user_id=user.id, props=props
                ),
                event_row(
                    "view_start", event_id=ids["linked"], tenant_id=tenant_id, anon_id=anon_linked, ts=old
                ),
                event_row("view_start", event_id=ids["free"], tenant_id=tenant_id, anon_id=anon_free, ts=old),
            ],
        )
    return {
        "member": member,
        "inviter": inviter,
        "sessions": sessions,
        "token": token,
        "ids": ids,
        "anon_free": anon_free,
        "file": exports / file_name,
    }


async def events(
    server: RunningServer, ids: dict[str, str]
) -> dict[str, tuple[int | None, str | None, dict[str, Any]]]:
    async with server.db.unit_of_work() as session:
        rows = await session.execute(
            select(
                AnalyticsEvent.event_id, AnalyticsEvent.user_id, AnalyticsEvent.anon_id, AnalyticsEvent.props
            ).where(AnalyticsEvent.event_id.in_(list(ids.values())))
        )
        found = {event_id: (user, anon, dict(props or {})) for event_id, user, anon, props in rows.all()}
    return {name: found[event_id] for name, event_id in ids.items()}


async def test_the_purge_deletes_or_pseudonymises_past_the_window_and_only_there(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    world = await seed(server, f"ret{uuid.uuid4().hex[:6]}")
    member, ids = world["member"], world["ids"]
    store = server.app.state.analytics
    await store.sync()  # the replica holds the raw rows before the purge
    purger: Purger = server.app.state.retention

    report = await purger.run()
    assert not report.failed, report.failed
    assert report.changed["identity.sessions"] >= 2
    assert report.changed["analytics.pseudonymise"] >= 3

    async with server.db.unit_of_work() as session:
        left = set(await session.scalars(select(PageSession.id).where(PageSession.user_id == member.user_id)))
        assert left == {world["sessions"][1]}  # the expired one went, the live one stays
        tokens = set(await session.scalars(select(ApiToken.name).where(ApiToken.user_id == member.user_id)))
        assert tokens == {"api"}  # the revoked token went, the one in use stays
        titles = set(
            await session.scalars(select(Notification.title).where(Notification.user_id == member.user_id))
        )
        assert titles == {"通知700"}  # 800 days old is past "activity" (730 days); 700 is not
        assert (
            await session.scalars(select(ExportRequest).where(ExportRequest.user_id == member.user_id))
        ).all() == []
        names = await pseudonyms(
            session, pseudonym_key(server.settings.secret_key), [member.user_id, world["inviter"].user_id]
        )
    assert not world["file"].exists()
    # The API token still works; the expired session's row is gone.
    assert (await client.get("/api/v1/me", headers=member.headers)).json()["id"] == member.user_id

    found = await events(server, ids)
    pseudonym, inviter = names[member.user_id], names[world["inviter"].user_id]
    assert pseudonym < 0
    assert found["old"] == (pseudonym, None, {"inviter_id": inviter, "room": 7})  # device and IP dropped
    assert found["linked"] == (
        pseudonym,
        None,
        {},
    )  # the anonymous id that became the account: same pseudonym
    free_user, free_anon, _ = found["free"]
    assert free_user is None
    assert free_anon is not None
    assert free_anon.startswith("p:")
    assert world["anon_free"] not in free_anon
    assert found["new"][0] == member.user_id  # inside the window: untouched
    assert found["new"][2]["ip"] == "203.0.113.9"

    def replica(con: Any) -> dict[str, tuple[Any, ...]]:
        rows = con.execute(
            "SELECT event_id, user_id, anon_id, props FROM events WHERE event_id IN (?, ?, ?, ?)",
            list(ids.values()),
        ).fetchall()
        return {row[0]: row[1:] for row in rows}

    copied = await store.run(replica)
    assert copied[ids["old"]][0] == pseudonym
    assert "203.0.113.9" not in copied[ids["old"]][2]
    assert copied[ids["linked"]][:2] == (pseudonym, None)
    assert copied[ids["new"]][0] == member.user_id

    again = await purger.run()
    assert again.changed == {}
    assert not again.failed
    assert await events(server, ids) == found


async def test_the_purge_is_a_durable_daily_job(server: RunningServer) -> None:
    tenant = f"ret{uuid.uuid4().hex[:6]}"
    member = await make_account(server, tenant=tenant, consents=())
    now = utcnow()
    async with server.db.unit_of_work() as session:
        # Scheduled at start-up, for the next 03:30 UTC: a restart finds it in the job table.
        upcoming = await jobs.get(session, f"{PURGE_JOB}:{next_run(now):%Y%m%d}")
        assert upcoming is not None
        assert upcoming.state == "pending"
        user = await identity_service.get_user(session, member.user_id)
        assert user is not None
        tenant_id = (await identity_service.get_tenant_by_slug(session, tenant)).id
        await identity_service.do_open_session(session, user=user, tenant_id=tenant_id, max_age_days=30)
        await session.execute(
            update(PageSession)
            .where(PageSession.user_id == user.id)
            .values(expires_at=now - timedelta(days=2))
        )
        key = f"{PURGE_JOB}:test-{uuid.uuid4().hex}"
        await jobs.schedule(session, PURGE_JOB, key=key, run_at=now, payload={})

    deadline = time.monotonic() + 20
    while True:  # the app's own job runner takes it
        async with server.db.unit_of_work() as session:
            job = await jobs.get(session, key)
            assert job is not None
            if job.state == "done":
                break
        assert time.monotonic() < deadline, job.last_error
        await asyncio.sleep(0.05)
    async with server.db.unit_of_work() as session:
        assert (
            await session.scalars(select(PageSession).where(PageSession.user_id == member.user_id))
        ).all() == []
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "retention.purge").order_by(AuditEntry.seq.desc())
        )
        assert entry is not None
        assert entry.actor_role == "system"
        assert entry.detail["changed"]["identity.sessions"] >= 1
        assert await jobs.get(session, f"{PURGE_JOB}:{next_run(utcnow()):%Y%m%d}") is not None
