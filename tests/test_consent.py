"""Consent on SQLite and PostgreSQL, through the API and the pages: versioned append-only
records (audited), the sign-up's terms and opt-in marketing, a changed notice asking again,
one click to grant and one to withdraw, the separate payment consent before a top-up or an
order payment, marketing withdrawal stopping a promotional send (real inbox rows, real SMTP),
and a profiling refusal removing the member's tags and leaving the segment lists."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from livecircle.analytics.segments import service as segments_service
from livecircle.analytics.tags import service as tags_service
from livecircle.analytics.tags.models import UserTag
from livecircle.economy.models import TopUp
from livecircle.growth.notify import service as notify_service
from livecircle.growth.notify.models import Notification
from livecircle.growth.notify.schemas import Kind
from livecircle.identity import service as identity_service
from livecircle.privacy import consent, notices
from livecircle.privacy.audit import AuditEntry
from livecircle.privacy.consent_models import ConsentRecord
from tests.commerce_kit import open_shop, order
from tests.conftest import Account, RunningServer, make_account
from tests.smtp_kit import Mailbox, smtp_server

PROBLEM = "application/problem+json"


async def consents(client: httpx.AsyncClient, account: Account, path: str = "") -> dict[str, Any]:
    answer = await client.get(f"/api/v1/me/consents{path}", headers=account.headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def state(body: dict[str, Any], purpose: str) -> dict[str, Any]:
    found: dict[str, Any] = next(p for p in body["purposes"] if p["purpose"] == purpose)
    return found


async def put(
    client: httpx.AsyncClient, account: Account, purpose: str, granted: bool, **extra: Any
) -> httpx.Response:
    body = {"granted": granted, **extra}
    return await client.put(f"/api/v1/me/consents/{purpose}", json=body, headers=account.headers)


async def csrf(client: httpx.AsyncClient) -> str:
    await client.get("/login")
    return str(client.cookies["lc_csrf"])


async def audit_actions(server: RunningServer, user_id: int) -> list[tuple[str, int | None, str]]:
    async with server.db.unit_of_work() as session:
        rows = await session.execute(
            select(AuditEntry.action, AuditEntry.actor_id, AuditEntry.actor_role)
            .where(AuditEntry.target == f"user:{user_id}", AuditEntry.action.like("consent.%"))
            .order_by(AuditEntry.seq)
        )
        return [(a, actor, str(role)) for a, actor, role in rows.all()]


async def test_grant_withdraw_history_and_audit_through_the_api(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    member = await make_account(server, consents=())
    start = await consents(client, member)
    assert start["policy_version"] == notices.POLICY_VERSION
    assert [p["purpose"] for p in start["purposes"]] == [p.value for p in consent.ORDER]
    assert state(start, "marketing")["granted"] is False  # opt-in: no record, no
    assert state(start, "profiling")["granted"] is True  # on until refused (PIPL art. 24)
    assert state(start, "profiling")["recorded"] is None
    payment = state(start, "payment")
    assert (payment["granted"], payment["sensitive"], payment["self_service"]) == (False, True, True)
    assert start["history"] == []

    granted = await put(client, member, "marketing", True)
    assert granted.status_code == 200, granted.text
    assert state(granted.json(), "marketing")["granted"] is True
    again = await put(client, member, "marketing", True)  # the same decision again: no new record
    assert len(again.json()["history"]) == 1
    withdrawn = await put(client, member, "marketing", False)
    assert state(withdrawn.json(), "marketing")["granted"] is False
    history = (await consents(client, member, "/marketing"))["history"]
    assert [(r["purpose"], r["granted"], r["channel"]) for r in history] == [
        ("marketing", False, "api"),
        ("marketing", True, "api"),
    ]
    assert history[1]["text_hash"] in notices.current_hashes("marketing")
    assert history[1]["policy_version"] == notices.POLICY_VERSION
    async with server.db.unit_of_work() as session:
        assert not await consent.allows(session, member.user_id, consent.Purpose.MARKETING)
    actions = await audit_actions(server, member.user_id)
    assert actions == [
        ("consent.grant", member.user_id, "member"),
        ("consent.withdraw", member.user_id, "member"),
    ]


async def test_refusals_are_problems_and_write_nothing(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    member = await make_account(server, consents=())
    cases = [
        ("terms", False, {}, 409, "consent_not_withdrawable"),
        ("guardian", True, {}, 409, "consent_not_self_service"),
        ("newsletter", True, {}, 404, "consent_purpose_unknown"),
        ("marketing", True, {"text_hash": "0" * 64}, 409, "notice_outdated"),
    ]
    for purpose, granted, extra, status, code in cases:
        answer = await put(client, member, purpose, granted, **extra)
        assert answer.status_code == status, (purpose, answer.text)
        assert answer.headers["content-type"] == PROBLEM
        assert answer.json()["code"] == code
    invalid = await client.put(
        "/api/v1/me/consents/marketing", json={"granted": "maybe"}, headers=member.headers
    )
    assert invalid.status_code == 422
    assert (await client.get("/api/v1/me/consents")).status_code == 401
    async with server.db.unit_of_work() as session:
        count = await session.scalar(
            select(func.count()).select_from(ConsentRecord).where(ConsentRecord.user_id == member.user_id)
        )
    assert count == 0
    assert await audit_actions(server, member.user_id) == []


async def test_sign_up_records_the_terms_and_marketing_only_when_ticked(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    def body(**extra: Any) -> dict[str, Any]:
        email = f"s{uuid.uuid4().hex[:10]}@example.com"
        return {"email": email, "password": "secret-pass-1", "display_name": "新会员", **extra}

    plain = await client.post("/api/v1/auth/register", json=body())
    opted = await client.post("/api/v1/auth/register", json=body(marketing=True))
    assert (plain.status_code, opted.status_code) == (201, 201), (plain.text, opted.text)
    for answer, marketing in ((plain, False), (opted, True)):
        account = Account(answer.json()["user"]["id"], "", "", answer.json()["access_token"], "demo")
        mine = await consents(client, account)
        assert state(mine, "terms")["granted"] is True
        assert state(mine, "marketing")["granted"] is marketing
        assert {r["channel"] for r in mine["history"]} == {"api"}

    # The page: the marketing box is separate and unticked; ticking it is what opts in.
    page = await client.get("/register")
    assert re.search(
        r'<input type="checkbox" name="marketing" value="true" id="register-marketing">', page.text
    )
    token = await csrf(client)
    for ticked in (False, True):
        form = {**body(), "csrf_token": token, **({"marketing": "true"} if ticked else {})}
        signed_up = await client.post("/register", data=form)
        assert signed_up.status_code == 303, signed_up.text
        async with server.db.unit_of_work() as session:
            user = await identity_service.get_user_by_email(session, form["email"])
            assert user is not None
            assert await consent.allows(session, user.id, consent.Purpose.TERMS)
            assert await consent.allows(session, user.id, consent.Purpose.MARKETING) is ticked
            channels = {r.channel for r in await consent.history(session, user.id)}
        assert channels == {"signup"}
        client.cookies.clear()
        token = await csrf(client)


async def test_a_changed_notice_counts_as_not_given_and_asks_again(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    member = await make_account(server, consents=())
    async with server.db.unit_of_work() as session:  # a grant on the notice of an older policy
        session.add(
            ConsentRecord(
                user_id=member.user_id,
                purpose="marketing",
                granted=True,
                policy_version="2025-01",
                text_hash="e" * 64,
                locale="zh-CN",
                channel="web",
            )
        )
    mine = await consents(client, member)
    marketing = state(mine, "marketing")
    assert (marketing["granted"], marketing["recorded"], marketing["stale"]) == (False, True, True)
    async with server.db.unit_of_work() as session:
        assert not await consent.allows(session, member.user_id, consent.Purpose.MARKETING)
        assert await consent.stale_purposes(session, member.user_id) == [consent.Purpose.MARKETING]
    page = await client.get("/me/consent", headers=member.headers)
    assert 'id="consent-renew"' in page.text
    assert 'id="grant-marketing"' in page.text
    renewed = await put(client, member, "marketing", True, text_hash=marketing["notice"]["text_hash"])
    assert state(renewed.json(), "marketing")["stale"] is False
    assert 'id="consent-renew"' not in (await client.get("/me/consent", headers=member.headers)).text


async def test_one_click_grants_and_one_click_withdraws_on_the_page(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    member = await make_account(server, consents=())
    token = await csrf(client)
    page = await client.get("/me/consent", headers=member.headers, params={"lang": "zh-CN"})
    assert page.status_code == 200
    assert "优惠与活动消息" in page.text
    assert "支付信息（敏感个人信息，单独同意）" in page.text
    for purpose in ("marketing", "profiling", "payment", "real_name", "location"):
        section = re.search(rf'<section[^>]*id="consent-{purpose}".*?</section>', page.text, re.S)
        assert section is not None, purpose
        assert section.group(0).count("<form") == 1, purpose
        assert section.group(0).count("<button") == 1, purpose

    async def click(purpose: str, granted: str) -> None:
        form = {"granted": granted, "csrf_token": token}
        answer = await client.post(f"/me/consent/{purpose}", data=form, headers=member.headers)
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"].startswith(f"/me/consent?saved={purpose}")

    await click("marketing", "true")
    assert 'id="withdraw-marketing"' in (await client.get("/me/consent", headers=member.headers)).text
    await click("marketing", "false")
    after = await client.get("/me/consent", headers=member.headers)
    assert 'id="grant-marketing"' in after.text
    assert after.text.count('data-purpose="marketing"') == 3  # its section and two history rows
    refused = await client.post(
        "/me/consent/marketing", data={"granted": "true"}, headers={**member.headers, "accept": "text/html"}
    )
    assert refused.status_code == 403  # no CSRF token: nothing recorded
    assert [a for a, _, _ in await audit_actions(server, member.user_id)] == [
        "consent.grant",
        "consent.withdraw",
    ]


async def test_payment_needs_its_own_consent_before_a_top_up_or_an_order_payment(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    buyer = await make_account(server, consents=())
    key = {"Idempotency-Key": str(uuid.uuid4())}
    refused = await client.post("/api/v1/wallet/topups", json={"coins": 60}, headers={**buyer.headers, **key})
    assert refused.status_code == 403
    assert refused.headers["content-type"] == PROBLEM
    assert (refused.json()["code"], refused.json()["purpose"]) == ("consent_required", "payment")
    async with server.db.unit_of_work() as session:
        count = await session.scalar(
            select(func.count()).select_from(TopUp).where(TopUp.user_id == buyer.user_id)
        )
    assert count == 0  # nothing half-written

    shop = await open_shop(server, client, stock=5)
    placed = await order(client, buyer, sku_id=shop.skus[0]["id"], show_id=shop.show_id)
    assert placed.status_code == 201, placed.text  # ordering needs no payment data
    pay = await client.post(f"/api/v1/orders/{placed.json()['id']}/payments", headers=buyer.headers)
    assert (pay.status_code, pay.json()["code"], pay.json()["purpose"]) == (
        403,
        "consent_required",
        "payment",
    )

    # The pages' separate step: the payment notice on its own, one button, back to where one was.
    step = await client.get(
        "/me/consent/payment", params={"next": "/wallet", "lang": "en"}, headers=buyer.headers
    )
    assert "Payment details (sensitive personal data, separate consent)" in step.text
    assert 'id="consent-step-agree"' in step.text
    assert 'name="next" value="/wallet"' in step.text
    token = await csrf(client)
    form = {"granted": "true", "next": "/wallet", "csrf_token": token}
    agreed = await client.post("/me/consent/payment", data=form, headers=buyer.headers)
    assert (agreed.status_code, agreed.headers["location"]) == (303, "/wallet")

    topup = await client.post("/api/v1/wallet/topups", json={"coins": 60}, headers={**buyer.headers, **key})
    assert topup.status_code == 201, topup.text
    pay = await client.post(f"/api/v1/orders/{placed.json()['id']}/payments", headers=buyer.headers)
    assert pay.status_code == 201, pay.text
    withdrawn = await put(client, buyer, "payment", False)
    assert state(withdrawn.json(), "payment")["granted"] is False
    again = await client.post(
        "/api/v1/wallet/topups", json={"coins": 60}, headers={**buyer.headers, "Idempotency-Key": "k2"}
    )
    assert again.json()["code"] == "consent_required"  # withdrawn: refused at once


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


async def test_withdrawing_marketing_stops_a_promotional_send_within_60_seconds(
    server: RunningServer, client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    tenant = f"promo{uuid.uuid4().hex[:6]}"
    members = [await make_account(server, tenant=tenant, consents=("marketing",)) for _ in range(3)]
    stays, leaves, silent = members[0], members[1], await make_account(server, tenant=tenant, consents=())
    withdrawn_at = time.monotonic()
    assert (await put(client, leaves, "marketing", False)).status_code == 200

    async def campaign(key: str) -> notify_service.Notified:
        async with server.db.unit_of_work() as session:
            the_tenant = await identity_service.get_tenant_by_slug(session, tenant)
            return await notify_service.do_notify(
                session,
                tenant_id=the_tenant.id,
                user_ids=[m.user_id for m in (*members, silent)],
                kind=Kind.PROMOTION,
                title="双十一优惠券",
                body="全场满100减20",
                dedupe_key=f"promo:{key}",
            )

    sent = await campaign(uuid.uuid4().hex)
    receivers = {stays.email, members[2].email}
    await mailbox.wait_for(lambda box: all(box.to(address) for address in receivers), timeout=60.0)
    assert time.monotonic() - withdrawn_at < 60.0
    assert (sent.inbox, sent.emails) == (2, 2)
    assert not mailbox.to(leaves.email)
    assert not mailbox.to(silent.email)
    async with server.db.unit_of_work() as session:
        rows = await session.scalars(
            select(Notification.user_id).where(
                Notification.kind == "promotion", Notification.title == "双十一优惠券"
            )
        )
        inboxes = set(rows)
    assert {stays.user_id, members[2].user_id} <= inboxes
    assert not {leaves.user_id, silent.user_id} & inboxes
    # A service notice (not marketing) still reaches the one who withdrew.
    async with server.db.unit_of_work() as session:
        the_tenant = await identity_service.get_tenant_by_slug(session, tenant)
        notice = await notify_service.do_notify(
            session,
            tenant_id=the_tenant.id,
            user_ids=[leaves.user_id],
            kind=Kind.SYSTEM,
            title="系统维护通知",
            dedupe_key=f"system:{uuid.uuid4().hex}",
            email=False,
        )
    assert notice.inbox == 1


async def test_refusing_profiling_removes_tags_and_leaves_every_list(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    tenant = f"prof{uuid.uuid4().hex[:6]}"
    keeps, refuses = [await make_account(server, tenant=tenant) for _ in range(2)]
    async with server.db.unit_of_work() as session:
        tenant_id = (await identity_service.get_tenant_by_slug(session, tenant)).id
        for account in (keeps, refuses):
            session.add(
                UserTag(
                    tenant_id=tenant_id,
                    user_id=account.user_id,
                    tag="兴趣:美妆",
                    kind="interest",
                    reason="测试",
                )
            )
    answer = await put(client, refuses, "profiling", False)
    assert state(answer.json(), "profiling")["granted"] is False
    async with server.db.unit_of_work() as session:
        ids = [keeps.user_id, refuses.user_id, -7]  # -7: a pseudonymised id names no account
        assert await tags_service.profiling_allowed(session, ids[:2]) == {keeps.user_id}
        assert await segments_service.profiled(session, ids) == {keeps.user_id}
        left = await session.scalars(select(UserTag.user_id).where(UserTag.tenant_id == tenant_id))
        assert set(left) == {keeps.user_id}  # the refusing member's tags went with the refusal
        assert [t.tag for t in await tags_service.list_tenant_tags(session, tenant_id=tenant_id)] == [
            "兴趣:美妆"
        ]
    mine = (await client.get("/api/v1/me/tags", headers=refuses.headers)).json()
    assert mine == {"profiling_opt_out": True, "tags": []}
    # The /me/tags switch writes the same consent record (one source of truth).
    back = await client.put(
        "/api/v1/me/profiling", json={"profiling_opt_out": False}, headers=refuses.headers
    )
    assert back.status_code == 200, back.text
    history = (await consents(client, refuses, "/profiling"))["history"]
    assert [(r["granted"], r["channel"]) for r in history] == [(True, "api"), (False, "api")]
