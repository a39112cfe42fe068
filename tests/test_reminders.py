"""Show reminders (预约) on both databases: followers and sign-ups hear about a show once
each, in the inbox, by e-mail to a real SMTP server and by a signed webhook; one-click
unsubscribe is honoured; a show that went away sends nothing, a moved one is re-planned;
and the reminder job survives a restart of the app."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select, update

from livecircle.community.discussion import activities
from livecircle.growth.notify import reminders, service
from livecircle.growth.notify.models import Notification
from livecircle.identity.schemas import Role
from livecircle.kit import webhooks
from livecircle.kit.jobs import Job
from livecircle.live.models import Show
from tests import services
from tests.conftest import Account, RunningServer, make_account, make_room
from tests.smtp_kit import Mailbox, smtp_server
from tests.webhook_kit import webhook_receiver

PUBLIC_URL = "https://live.example.test"


@pytest.fixture(autouse=True)
async def quick_replanning(server: RunningServer) -> AsyncIterator[None]:
    """Re-plan every 0.1 s while these tests run (the default is a few seconds)."""
    growth = server.settings.growth
    before = growth.reminder_sync_seconds
    growth.reminder_sync_seconds = 0.1
    server.app.state.notify.wake()
    yield
    growth.reminder_sync_seconds = before


@pytest.fixture
async def mailbox(server: RunningServer) -> AsyncIterator[Mailbox]:
    """A real SMTP server; the app's settings point at it (and at an https public URL) meanwhile."""
    settings = server.settings
    smtp, public_url = settings.growth.smtp.model_copy(), settings.http.public_url
    async with smtp_server() as box:
        settings.growth.smtp.host, settings.growth.smtp.port = box.host, box.port
        settings.http.public_url = PUBLIC_URL
        try:
            yield box
        finally:
            settings.growth.smtp, settings.http.public_url = smtp, public_url


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


def soon(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


async def schedule_show(
    client: httpx.AsyncClient, host: Account, room_id: int, *, in_seconds: float, title: str = "新品发布会"
) -> dict[str, Any]:
    body = {"title": title, "scheduled_at": soon(in_seconds)}
    created = await client.post(f"/api/v1/rooms/{room_id}/shows", json=body, headers=host.headers)
    assert created.status_code == 201, created.text
    show: dict[str, Any] = created.json()
    return show


async def reminded(server: RunningServer, show_id: int) -> Counter[int]:
    """Inbox entries per user for reminders of ``show_id``."""
    async with server.db.unit_of_work() as session:
        rows = await session.scalars(
            select(Notification.user_id).where(Notification.dedupe_key.like(f"show_reminder:{show_id}:%"))
        )
        return Counter(rows)


async def job(server: RunningServer, key: str) -> Job | None:
    async with server.db.unit_of_work() as session:
        return await session.scalar(select(Job).where(Job.key == key))


async def jobs_like(server: RunningServer, pattern: str) -> list[Job]:
    async with server.db.unit_of_work() as session:
        return list(await session.scalars(select(Job).where(Job.key.like(pattern))))


async def follow(client: httpx.AsyncClient, account: Account, room_id: int) -> None:
    assert (await client.put(f"/api/v1/rooms/{room_id}/follow", headers=account.headers)).status_code == 204


async def sign_up(client: httpx.AsyncClient, account: Account, show_id: int) -> httpx.Response:
    return await client.post(f"/api/v1/shows/{show_id}/reminder", headers=account.headers)


async def test_remind_me_signs_up_once_and_refuses_what_cannot_be_reminded(
    client: httpx.AsyncClient, host: Account, viewer: Account, other_viewer: Account
) -> None:
    room = await make_room(client, host, title="预约直播间")
    show = await schedule_show(client, host, room["id"], in_seconds=3600)
    empty = (await client.get(f"/api/v1/rooms/{room['id']}/reminder", headers=viewer.headers)).json()
    assert empty["show"]["id"] == show["id"]
    assert (empty["signed_up"], empty["signups"]) == (False, 0)
    for _ in range(2):  # idempotent
        signed = await sign_up(client, viewer, show["id"])
        assert signed.status_code == 200, signed.text
    answer = signed.json()
    assert (answer["show_id"], answer["signed_up"], answer["signups"]) == (show["id"], True, 1)
    assert datetime.fromisoformat(answer["starts_at"]) == datetime.fromisoformat(show["scheduled_at"])
    mine = (await client.get(f"/api/v1/rooms/{room['id']}/reminder", headers=viewer.headers)).json()
    theirs = (await client.get(f"/api/v1/rooms/{room['id']}/reminder", headers=other_viewer.headers)).json()
    assert (mine["signed_up"], theirs["signed_up"], theirs["signups"]) == (True, False, 1)
    assert (
        await client.delete(f"/api/v1/shows/{show['id']}/reminder", headers=viewer.headers)
    ).status_code == 204
    state = (await client.get(f"/api/v1/shows/{show['id']}/reminder", headers=viewer.headers)).json()
    assert (state["signed_up"], state["signups"]) == (False, 0)

    unscheduled = await client.post(
        f"/api/v1/rooms/{room['id']}/shows", json={"title": "随时开播"}, headers=host.headers
    )
    refused = await sign_up(client, viewer, unscheduled.json()["id"])
    assert (refused.status_code, refused.json()["code"]) == (409, "show_not_remindable")
    assert refused.headers["content-type"] == "application/problem+json"
    await client.post(f"/api/v1/shows/{show['id']}/end", headers=host.headers)
    assert (await sign_up(client, viewer, show["id"])).json()["code"] == "show_not_remindable"
    assert (await client.post(f"/api/v1/shows/{show['id']}/reminder")).status_code == 401
    assert (await sign_up(client, viewer, 2**31 - 1)).json()["code"] == "show_not_found"
    assert (await client.post("/api/v1/shows/0/reminder", headers=viewer.headers)).status_code == 422
    page = await client.get(f"/rooms/{room['id']}", headers=viewer.headers)
    assert 'id="remind-box"' in page.text


async def test_followers_and_sign_ups_are_reminded_once_each_by_inbox_mail_and_webhook(
    server: RunningServer, client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    tenant = f"brand-{uuid.uuid4().hex[:8]}"
    host = await make_account(server, role=Role.HOST, tenant=tenant, name="小林主播")
    operator = await make_account(server, role=Role.OPERATOR, tenant=tenant)
    follower, signed, both = [await make_account(server, name=f"观众{n}") for n in range(3)]
    room = await make_room(client, host, title="品牌直播间")
    for account in (follower, both):
        await follow(client, account, room["id"])
    async with webhook_receiver() as receiver:
        hook = await client.post(
            "/api/v1/webhooks",
            json={"url": receiver.url, "kinds": ["show_reminder"]},
            headers=operator.headers,
        )
        receiver.secret = hook.json()["secret"]
        # Starts in 10 minutes, within the 15-minute lead: the reminder goes at once.
        show = await schedule_show(client, host, room["id"], in_seconds=600, title="秋季新品发布会")
        for account in (signed, both, host):
            assert (await sign_up(client, account, show["id"])).status_code == 200
        await mailbox.wait_for(lambda box: all(box.to(a.email) for a in (follower, signed, both)))
        await receiver.wait_for(lambda r: len(r.accepted()) == 1)
        await eventually(
            lambda: _all_done(server, f"{service.EMAIL_JOB}:show_reminder:{show['id']}:%", expected=3)
        )
    audience = {follower.user_id, signed.user_id, both.user_id}
    assert await reminded(server, show["id"]) == Counter(dict.fromkeys(audience, 1))
    addresses = {a.email for a in (follower, signed, both, host)}
    assert Counter(r for m in mailbox.received for r in m.rcpt_tos if r in addresses) == Counter(
        {a.email: 1 for a in (follower, signed, both)}
    )

    mail = mailbox.to(both.email)[0].message
    assert mail["To"] == both.email
    assert str(mail["Subject"]) == "即将开播：秋季新品发布会"
    assert "=?utf-8?" in mailbox.to(both.email)[0].raw.decode("ascii").lower()  # RFC 2047 on the wire
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None
    assert html is not None
    assert f"{PUBLIC_URL}/rooms/{room['id']}" in text.get_content()
    assert "小林主播" in text.get_content()
    assert "小林主播" in html.get_content()
    unsubscribe = str(mail["List-Unsubscribe"])
    assert unsubscribe.startswith(f"<{PUBLIC_URL}/unsubscribe/")
    assert unsubscribe.endswith(">")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe[1:-1] in text.get_content()

    delivery = receiver.accepted()[0]
    assert delivery.verified
    assert delivery.headers["x-livecircle-event"] == "show_reminder"
    data = delivery.event["data"]
    assert isinstance(data, dict)
    assert sorted(data["user_ids"]) == sorted(audience)
    assert data["show"]["id"] == show["id"]
    assert data["url"] == f"{PUBLIC_URL}/rooms/{room['id']}"
    assert b"@" not in delivery.body  # user ids only, never addresses
    stamp, signature = delivery.headers["x-livecircle-timestamp"], delivery.headers["x-livecircle-signature"]
    assert not webhooks.verify(receiver.secret, stamp, delivery.body.replace(b"show", b"shoe"), signature)


async def _all_done(server: RunningServer, pattern: str, *, expected: int) -> bool:
    found = await jobs_like(server, pattern)
    return len(found) >= expected and all(j.state == "done" for j in found)


async def test_one_click_unsubscribe_stops_mail_of_that_kind_but_not_the_inbox(
    server: RunningServer, client: httpx.AsyncClient, host: Account, mailbox: Mailbox
) -> None:
    quitter, stayer = await make_account(server, name="退订者"), await make_account(server, name="留下者")
    room = await make_room(client, host)
    for account in (quitter, stayer):
        await follow(client, account, room["id"])
    first = await schedule_show(client, host, room["id"], in_seconds=300)
    await mailbox.wait_for(lambda box: bool(box.to(quitter.email)))
    link = str(mailbox.to(quitter.email)[0].message["List-Unsubscribe"])[1:-1]
    path = urlsplit(link).path  # the public https URL names this server's path
    token = path.rsplit("/", 1)[1]

    confirm = await client.get(path, headers={"accept": "text/html"})
    assert confirm.status_code == 200
    assert 'id="unsubscribe-confirm"' in confirm.text
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    for method in ("GET", "POST"):
        refused = await client.request(method, tampered, headers={"accept": "text/html"})
        assert refused.status_code == 400, method
    forged = service.unsubscribe_token("another-secret", user_id=quitter.user_id, kind="show_reminder")
    assert (await client.post(f"/unsubscribe/{forged}")).json()["code"] == "unsubscribe_link_invalid"
    # What a mail client sends for RFC 8058 one-click unsubscribe:
    one_click = await client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200
    assert 'id="unsubscribe-done"' in one_click.text
    prefs = (await client.get("/api/v1/me/notification-preferences", headers=quitter.headers)).json()
    assert prefs["preferences"]["show_reminder"] == {"inbox": True, "email": False}
    assert prefs["preferences"]["mention"]["email"] is True
    assert service.read_unsubscribe_token(server.settings.secret_key, token)[0] == quitter.user_id

    second = await schedule_show(client, host, room["id"], in_seconds=400, title="第二场")
    await mailbox.wait_for(lambda box: len(box.to(stayer.email)) == 2)
    await eventually(lambda: _has_reminder(server, second["id"], quitter.user_id))
    assert len(mailbox.to(quitter.email)) == 1  # only the first show's
    assert not await jobs_like(
        server, f"{service.EMAIL_JOB}:show_reminder:{second['id']}:%:{quitter.user_id}"
    )
    assert (await reminded(server, first["id"]))[quitter.user_id] == 1


async def _has_reminder(server: RunningServer, show_id: int, user_id: int) -> bool:
    return (await reminded(server, show_id))[user_id] == 1


async def test_a_show_gone_before_its_reminder_sends_nothing_and_a_moved_one_is_replanned(
    server: RunningServer, client: httpx.AsyncClient, host: Account, viewer: Account
) -> None:
    room = await make_room(client, host)
    await follow(client, viewer, room["id"])
    lead = server.settings.growth.reminder_lead_minutes * 60
    ended = await schedule_show(client, host, room["id"], in_seconds=lead + 2, title="会被取消")
    ended_job = await _planned_job(server, ended["id"])
    assert ended_job.state == "pending"
    assert (await client.post(f"/api/v1/shows/{ended['id']}/end", headers=host.headers)).status_code == 200
    await eventually(lambda: _job_state(server, ended_job.key, "done"))
    assert await reminded(server, ended["id"]) == Counter()

    moved = await schedule_show(client, host, room["id"], in_seconds=lead + 3600, title="改期的直播")
    old = await _planned_job(server, moved["id"])
    new_start = datetime.now(UTC) + timedelta(seconds=lead + 1)
    async with server.db.unit_of_work() as session:  # as an edit of the start time would
        await session.execute(update(Show).where(Show.id == moved["id"]).values(scheduled_at=new_start))
    new_key = reminders.reminder_key(moved["id"], new_start)
    await eventually(lambda: _job_state(server, new_key, "done"))
    cancelled = await job(server, old.key)
    assert cancelled is not None
    assert (cancelled.state, cancelled.attempts) == ("done", 0)
    assert await reminded(server, moved["id"]) == Counter({viewer.user_id: 1})


async def _planned_job(server: RunningServer, show_id: int) -> Job:
    pattern = f"{reminders.REMIND_JOB}:{show_id}:%"
    await eventually(lambda: _exists(server, pattern))
    return (await jobs_like(server, pattern))[0]


async def _exists(server: RunningServer, pattern: str) -> bool:
    return bool(await jobs_like(server, pattern))


async def _job_state(server: RunningServer, key: str, state: str) -> bool:
    found = await job(server, key)
    return found is not None and found.state == state


async def test_the_reminder_survives_a_restart_and_fires_once(
    server: RunningServer,
    client: httpx.AsyncClient,
    host: Account,
    viewer: Account,
    mailbox: Mailbox,
    tmp_path: Path,
) -> None:
    runner, worker = server.app.state.jobs, server.app.state.notify
    await runner.stop()  # only the nodes below plan and run reminders here
    await worker.stop()
    try:
        env = {
            "LIVECIRCLE_GROWTH__REMINDER_LEAD_MINUTES": "1",
            "LIVECIRCLE_GROWTH__REMINDER_SYNC_SECONDS": "0.2",
            "LIVECIRCLE_GROWTH__SMTP__HOST": mailbox.host,
            "LIVECIRCLE_GROWTH__SMTP__PORT": str(mailbox.port),
        }
        for name in "abc":
            (tmp_path / name).mkdir()
        database = server.settings.database_url
        room = await make_room(client, host)
        await follow(client, viewer, room["id"])
        with services.livecircle_node(database, tmp_path / "a", **env):
            # Due 4 s from now (start in 64 s, lead 1 min): node a plans it, then goes away.
            show = await schedule_show(client, host, room["id"], in_seconds=64)
            planned = await _planned_job(server, show["id"])
        assert await _job_state(server, planned.key, "pending")  # not due yet when node a stopped
        assert await reminded(server, show["id"]) == Counter()

        with (
            services.livecircle_node(database, tmp_path / "b", **env),
            services.livecircle_node(database, tmp_path / "c", **env),
        ):  # two restarted nodes race for the job
            await mailbox.wait_for(lambda box: bool(box.to(viewer.email)), timeout=30)
            await eventually(
                lambda: _all_done(server, f"{service.EMAIL_JOB}:show_reminder:{show['id']}:%", expected=1)
            )
            await asyncio.sleep(1)  # both nodes have had further passes
        fired = await job(server, planned.key)
        assert fired is not None
        assert (fired.state, fired.attempts) == ("done", 1)
        assert await reminded(server, show["id"]) == Counter({viewer.user_id: 1})
        assert len(mailbox.to(viewer.email)) == 1
    finally:
        runner.start()
        await worker.start()


async def activity_reminders(server: RunningServer, activity_id: int) -> Counter[int]:
    async with server.db.unit_of_work() as session:
        rows = await session.scalars(
            select(Notification.user_id).where(
                Notification.dedupe_key.like(f"event_reminder:{activity_id}:%")
            )
        )
        return Counter(rows)


async def due_now(server: RunningServer, key: str) -> None:
    """Make a planned reminder due (instead of waiting until shortly before the start)."""
    async with server.db.unit_of_work() as session:
        moved = await session.execute(
            update(Job).where(Job.key == key, Job.state == "pending").values(run_at=datetime.now(UTC))
        )
        assert getattr(moved, "rowcount", 0) == 1, key


async def test_an_activity_reminds_those_signed_up_once_and_not_when_cancelled_or_moved(
    server: RunningServer, client: httpx.AsyncClient, host: Account, mailbox: Mailbox
) -> None:
    group = await client.post("/api/v1/communities", json={"name": "读书会"}, headers=host.headers)
    community_id = group.json()["id"]
    signed, idle = await make_account(server, name="报名者"), await make_account(server, name="旁观者")
    for member in (signed, idle):
        joined = await client.post(f"/api/v1/communities/{community_id}/join", headers=member.headers)
        assert joined.status_code == 200, joined.text

    async def activity(title: str) -> dict[str, Any]:
        body = {"title": title, "starts_at": soon(7200), "ends_at": soon(9000)}
        made = await client.post(
            f"/api/v1/communities/{community_id}/activities", json=body, headers=host.headers
        )
        assert made.status_code == 201, made.text
        signup = await client.put(f"/api/v1/activities/{made.json()['id']}/signup", headers=signed.headers)
        assert signup.status_code in (200, 201), signup.text
        return dict(made.json())

    def key(made: dict[str, Any]) -> str:
        return activities.reminder_key(made["id"], datetime.fromisoformat(made["starts_at"]))

    held = await activity("线上读书分享")
    planned = await job(server, key(held))
    assert planned is not None
    assert planned.state == "pending"  # planned with the start time, 15 min before it
    assert planned.run_at == datetime.fromisoformat(held["starts_at"]) - timedelta(minutes=15)
    await due_now(server, key(held))

    async def delivered() -> bool:
        return bool(await activity_reminders(server, held["id"]))

    await eventually(delivered)
    await mailbox.wait_for(lambda box: bool(box.to(signed.email)))
    assert await activity_reminders(server, held["id"]) == Counter({signed.user_id: 1})
    assert not mailbox.to(idle.email)

    cancelled = await activity("取消的活动")
    assert (
        await client.post(f"/api/v1/activities/{cancelled['id']}/cancel", headers=host.headers)
    ).status_code == 200
    gone = await job(server, key(cancelled))
    assert gone is not None
    assert gone.state == "done"  # dropped with the activity: it never runs

    moved = await activity("改期的活动")
    later = {"starts_at": soon(10_800), "ends_at": soon(12_000)}
    patched = await client.patch(f"/api/v1/activities/{moved['id']}", json=later, headers=host.headers)
    assert patched.status_code == 200, patched.text
    old, new = await job(server, key(moved)), await job(server, key(patched.json()))
    assert old is not None
    assert new is not None
    assert (old.state, new.state) == ("done", "pending")
