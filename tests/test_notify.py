"""Notifications on both databases: the inbox and its unread count, preferences, the single
entry point ``do_notify`` (idempotent per dedupe key), webhook endpoints for operators, and
signed webhook deliveries to a real HTTP receiver that verifies them (retried on 5xx)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import orjson
from sqlalchemy import select

from livecircle.growth.notify import service
from livecircle.growth.notify.models import Notification
from livecircle.growth.notify.schemas import Kind
from livecircle.identity import service as identity_service
from livecircle.identity.schemas import Role
from livecircle.kit import webhooks
from livecircle.kit.jobs import Job
from tests.conftest import Account, RunningServer, make_account
from tests.webhook_kit import webhook_receiver

PROBLEM = "application/problem+json"


async def notify(server: RunningServer, users: list[Account], *, tenant: str = "demo", **fields: Any) -> Any:
    """``do_notify`` as another part of the code calls it, in its own unit of work."""
    fields = {"kind": Kind.SYSTEM, "title": "系统通知", "dedupe_key": f"test:{uuid.uuid4()}", **fields}
    async with server.db.unit_of_work() as session:
        the_tenant = await identity_service.get_tenant_by_slug(session, tenant)
        return await service.do_notify(
            session, tenant_id=the_tenant.id, user_ids=[u.user_id for u in users], **fields
        )


async def inbox(client: httpx.AsyncClient, account: Account, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/v1/me/inbox", params=params, headers=account.headers)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def test_a_signature_verifies_and_any_tampering_does_not() -> None:
    body = orjson.dumps({"id": "evt_1", "kind": "show_reminder", "data": {"title": "即将开播"}})
    now = int(time.time())
    signature = webhooks.sign("whsec_test", now, body)
    assert signature.startswith("sha256=")
    assert len(signature) == 7 + 64
    assert webhooks.verify("whsec_test", now, body, signature)
    assert webhooks.verify("whsec_test", str(now), body, signature)
    assert not webhooks.verify("whsec_test", now, body.replace(b"evt_1", b"evt_2"), signature)
    assert not webhooks.verify("whsec_other", now, body, signature)
    assert not webhooks.verify("whsec_test", now + 1, body, signature)  # the timestamp is signed too
    assert not webhooks.verify("whsec_test", "soon", body, signature)
    old = now - 301
    assert not webhooks.verify("whsec_test", old, body, webhooks.sign("whsec_test", old, body))
    assert webhooks.verify(
        "whsec_test", old, body, webhooks.sign("whsec_test", old, body), tolerance_seconds=600
    )
    headers = webhooks.signed_headers("whsec_test", body, event="show_reminder", delivery="dlv_1")
    stamp = headers[webhooks.TIMESTAMP_HEADER]
    assert webhooks.verify("whsec_test", stamp, body, headers[webhooks.SIGNATURE_HEADER])
    assert (headers[webhooks.EVENT_HEADER], headers[webhooks.DELIVERY_HEADER]) == ("show_reminder", "dlv_1")
    allowed = [
        "https://hooks.example.com/x",
        "http://127.0.0.1:9000/h",
        "http://localhost/h",
        "http://[::1]/h",
    ]
    refused = ["http://example.com/h", "ftp://127.0.0.1/h", "https://user:pw@example.com/", "https:///x", "x"]
    assert all(webhooks.is_allowed_url(u) for u in allowed)
    assert not any(webhooks.is_allowed_url(u) for u in refused)


async def test_the_inbox_is_newest_first_paginated_and_counts_unread(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account, other_viewer: Account
) -> None:
    for n in range(5):
        await notify(server, [viewer], title=f"通知 {n}", body="正文", link=f"/rooms/{n + 1}")
    first = await inbox(client, viewer, limit=3)
    assert [n["title"] for n in first["items"]] == ["通知 4", "通知 3", "通知 2"]
    assert first["unread"] == 5
    rest = await inbox(client, viewer, limit=3, before=first["next_before"])
    assert [n["title"] for n in rest["items"]] == ["通知 1", "通知 0"]
    assert rest["next_before"] is None
    newest = first["items"][0]
    read = await client.post(f"/api/v1/me/inbox/{newest['id']}/read", headers=viewer.headers)
    assert read.status_code == 200
    assert read.json()["read_at"] is not None
    assert (await inbox(client, viewer))["unread"] == 4
    # Someone else's entry is not there for them; a mistake is a problem document.
    foreign = await client.post(f"/api/v1/me/inbox/{newest['id']}/read", headers=other_viewer.headers)
    assert (foreign.status_code, foreign.json()["code"]) == (404, "notification_not_found")
    assert foreign.headers["content-type"] == PROBLEM
    assert (await inbox(client, other_viewer))["items"] == []
    everything = await client.post("/api/v1/me/inbox/read-all", headers=viewer.headers)
    assert everything.json() == {"marked": 4, "unread": 0}
    assert (await inbox(client, viewer))["unread"] == 0


async def test_the_inbox_refuses_strangers_and_bad_input_as_problems(
    client: httpx.AsyncClient, viewer: Account
) -> None:
    anonymous = await client.get("/api/v1/me/inbox")
    assert (anonymous.status_code, anonymous.headers["content-type"]) == (401, PROBLEM)
    for params in ({"limit": 0}, {"limit": 101}, {"before": "x"}):
        bad = await client.get("/api/v1/me/inbox", params=params, headers=viewer.headers)
        assert (bad.status_code, bad.json()["code"]) == (422, "validation_error"), params
        assert bad.headers["content-type"] == PROBLEM
    missing = await client.post("/api/v1/me/inbox/2147483647/read", headers=viewer.headers)
    assert missing.status_code == 404


async def test_one_dedupe_key_notifies_once_and_preferences_are_honoured(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account, other_viewer: Account
) -> None:
    off = await client.put(
        "/api/v1/me/notification-preferences",
        json={"preferences": {"mention": {"inbox": False}}},
        headers=other_viewer.headers,
    )
    assert off.status_code == 200
    key = f"mention:{uuid.uuid4()}"
    first = await notify(server, [viewer, other_viewer], kind=Kind.MENTION, title="有人@了你", dedupe_key=key)
    again = await notify(server, [viewer, other_viewer], kind=Kind.MENTION, title="有人@了你", dedupe_key=key)
    assert (first.inbox, again.inbox) == (1, 0)
    assert (first.emails, again.emails) == (2, 0)  # e-mail is still on for both
    async with server.db.unit_of_work() as session:
        rows = (await session.scalars(select(Notification).where(Notification.dedupe_key == key))).all()
        mails = (
            await session.scalars(select(Job.key).where(Job.key.like(f"{service.EMAIL_JOB}:{key}:%")))
        ).all()
    assert [r.user_id for r in rows] == [viewer.user_id]
    assert len(mails) == 2
    assert [n["title"] for n in (await inbox(client, viewer))["items"]][:1] == ["有人@了你"]


async def test_preferences_are_all_on_until_changed_and_checked(
    client: httpx.AsyncClient, viewer: Account
) -> None:
    start = (await client.get("/api/v1/me/notification-preferences", headers=viewer.headers)).json()
    assert set(start["preferences"]) == {k.value for k in Kind}
    assert all(channels == {"inbox": True, "email": True} for channels in start["preferences"].values())
    changed = await client.put(
        "/api/v1/me/notification-preferences",
        json={"preferences": {"show_reminder": {"email": False}, "system": {"inbox": False, "email": False}}},
        headers=viewer.headers,
    )
    prefs = changed.json()["preferences"]
    assert prefs["show_reminder"] == {"inbox": True, "email": False}
    assert prefs["system"] == {"inbox": False, "email": False}
    assert prefs["mention"] == {"inbox": True, "email": True}
    again = await client.put(
        "/api/v1/me/notification-preferences",
        json={"preferences": {"show_reminder": {"email": True}}},
        headers=viewer.headers,
    )
    assert again.json()["preferences"]["show_reminder"]["email"] is True
    assert again.json()["preferences"]["system"]["inbox"] is False
    for body in (
        {"preferences": {"nonsense": {"email": False}}},
        {"preferences": {"system": {"sms": False}}},
        {"preferences": {"system": {"email": "sometimes"}}},
        {"preferences": {}},
        {"prefs": {}},
    ):
        bad = await client.put("/api/v1/me/notification-preferences", json=body, headers=viewer.headers)
        assert (bad.status_code, bad.headers["content-type"]) == (422, PROBLEM), body
    assert (await client.get("/api/v1/me/notification-preferences")).status_code == 401


async def test_operators_manage_webhook_endpoints_and_only_safe_urls(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account
) -> None:
    tenant = f"hooks-{uuid.uuid4().hex[:8]}"
    operator = await make_account(server, role=Role.OPERATOR, tenant=tenant)
    host = await make_account(server, role=Role.HOST, tenant=tenant)
    body = {
        "url": "https://hooks.example.com/livecircle",
        "kinds": ["show_reminder"],
        "description": "企业微信",
    }
    for outsider in (viewer, host):
        refused = await client.post("/api/v1/webhooks", json=body, headers=outsider.headers)
        assert (refused.status_code, refused.json()["code"]) == (403, "not_operator")
    created = await client.post("/api/v1/webhooks", json=body, headers=operator.headers)
    assert created.status_code == 201, created.text
    hook = created.json()
    assert hook["secret"].startswith("whsec_")
    assert hook["secret_hint"] == "…" + hook["secret"][-4:]
    listed = (await client.get("/api/v1/webhooks", headers=operator.headers)).json()
    assert [h["id"] for h in listed] == [hook["id"]]
    assert "secret" not in listed[0]
    for url in ("http://hooks.example.com/x", "ftp://127.0.0.1/x", "https://user:pw@example.com/x"):
        bad = await client.post("/api/v1/webhooks", json={**body, "url": url}, headers=operator.headers)
        assert (bad.status_code, bad.json()["code"]) == (422, "webhook_url_refused"), url
        assert bad.headers["content-type"] == PROBLEM
    bad_kind = await client.post(
        "/api/v1/webhooks", json={**body, "kinds": ["sms"]}, headers=operator.headers
    )
    assert (bad_kind.status_code, bad_kind.json()["code"]) == (422, "validation_error")
    patched = await client.patch(
        f"/api/v1/webhooks/{hook['id']}", json={"active": False, "kinds": []}, headers=operator.headers
    )
    assert (patched.json()["active"], patched.json()["kinds"]) == (False, [])
    bad_patch = await client.patch(
        f"/api/v1/webhooks/{hook['id']}", json={"url": "http://10.0.0.1/x"}, headers=operator.headers
    )
    assert bad_patch.status_code == 422
    demo_operator = await make_account(server, role=Role.OPERATOR)
    other_tenant = await client.delete(f"/api/v1/webhooks/{hook['id']}", headers=demo_operator.headers)
    assert (other_tenant.status_code, other_tenant.json()["code"]) == (404, "webhook_not_found")
    assert (
        await client.delete(f"/api/v1/webhooks/{hook['id']}", headers=operator.headers)
    ).status_code == 204
    assert (await client.get("/api/v1/webhooks", headers=operator.headers)).json() == []


async def test_a_webhook_delivery_is_signed_retried_after_a_5xx_and_names_no_address(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account
) -> None:
    tenant = f"hooks-{uuid.uuid4().hex[:8]}"
    operator = await make_account(server, role=Role.OPERATOR, tenant=tenant)
    member = await make_account(server, tenant=tenant)
    async with webhook_receiver() as receiver:
        hook = (
            await client.post(
                "/api/v1/webhooks",
                json={"url": receiver.url, "kinds": ["lottery_won"]},
                headers=operator.headers,
            )
        ).json()
        await client.post(
            "/api/v1/webhooks",
            json={"url": receiver.url + "?other", "kinds": ["mention"]},
            headers=operator.headers,
        )
        receiver.secret, receiver.fail_first = hook["secret"], 1
        key = f"lottery_won:{uuid.uuid4()}"
        queued = await notify(
            server,
            [member],
            tenant=tenant,
            kind=Kind.LOTTERY_WON,
            title="恭喜中奖",
            link="/lotteries/7/audit",
            dedupe_key=key,
        )
        again = await notify(
            server, [member], tenant=tenant, kind=Kind.LOTTERY_WON, title="恭喜中奖", dedupe_key=key
        )
        assert (queued.webhooks, again.webhooks) == (1, 0)  # the endpoint for mentions is not asked
        await receiver.wait_for(lambda r: len(r.accepted()) == 1)
    first, second = receiver.deliveries
    assert (first.answered, second.answered) == (500, 204)  # retried with the runner's back-off
    assert first.verified
    assert second.verified
    assert first.headers["x-livecircle-delivery"] == second.headers["x-livecircle-delivery"]
    assert first.headers["x-livecircle-event"] == "lottery_won"
    event = second.event
    assert set(event) == {"id", "kind", "created_at", "tenant", "data"}
    assert (event["kind"], event["tenant"]) == ("lottery_won", tenant)
    data = event["data"]
    assert isinstance(data, dict)
    assert data["user_ids"] == [member.user_id]
    assert data["title"] == "恭喜中奖"
    assert data["url"] == f"{server.settings.http.base_url}/lotteries/7/audit"
    assert member.email.encode() not in second.body
    assert b"@" not in second.body
    stamp = second.headers["x-livecircle-timestamp"]
    signature = second.headers["x-livecircle-signature"]
    assert webhooks.verify(hook["secret"], stamp, second.body, signature)
    assert not webhooks.verify(hook["secret"], stamp, second.body.replace(b"7", b"8"), signature)
    async with server.db.unit_of_work() as session:
        job = await session.scalar(select(Job).where(Job.key == f"{service.WEBHOOK_JOB}:{key}:{hook['id']}"))
    assert job is not None
    assert (job.state, job.attempts) == ("done", 2)
    assert job.last_error is None


async def test_the_pages_show_the_inbox_settings_and_webhooks(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account
) -> None:
    await notify(server, [viewer], title="页面上的通知", body="来看看")
    page = await client.get("/inbox", headers=viewer.headers)
    assert page.status_code == 200
    assert "页面上的通知" in page.text
    assert "来看看" in page.text
    settings_page = await client.get("/settings/notifications", headers=viewer.headers)
    assert 'name="show_reminder:email"' in settings_page.text
    # The settings form: only ticked boxes are sent, so everything else is turned off.
    form = {"csrf_token": client.cookies["lc_csrf"], "show_reminder:inbox": "on", "show_reminder:email": "on"}
    saved = await client.post("/settings/notifications", data=form, headers=viewer.headers)
    assert saved.status_code == 303
    prefs = (await client.get("/api/v1/me/notification-preferences", headers=viewer.headers)).json()[
        "preferences"
    ]
    assert prefs["show_reminder"] == {"inbox": True, "email": True}
    assert prefs["mention"] == {"inbox": False, "email": False}
    assert (await client.get("/inbox")).status_code == 303  # sign in first
    assert (await client.get("/console/webhooks", headers=viewer.headers)).status_code == 403
    operator = await make_account(server, role=Role.OPERATOR, tenant=f"hooks-{uuid.uuid4().hex[:8]}")
    console = await client.get("/console/webhooks", headers=operator.headers)
    assert console.status_code == 200
    assert 'id="webhook-form"' in console.text
    form = {"csrf_token": client.cookies["lc_csrf"], "url": "https://hooks.example.com/a", "kinds": "mention"}
    added = await client.post("/console/webhooks", data=form, headers=operator.headers)
    assert added.status_code == 201
    assert 'id="webhook-secret"' in added.text
    form["url"] = "http://hooks.example.com/a"
    refused = await client.post("/console/webhooks", data=form, headers=operator.headers)
    assert refused.status_code == 422
    assert 'id="webhook-error"' in refused.text
