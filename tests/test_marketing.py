"""The campaign scheduler on both databases, driven pass by pass with an injected clock:
once-only sends under reruns and concurrent passes (real inbox rows, coupons, SMTP messages
and webhook deliveries), the frequency cap across campaigns, quiet hours that defer, consent
and opt-outs, waits and branches, the hold-out and the report's figures."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from livecircle.commerce import coupons
from livecircle.commerce.models import Coupon
from livecircle.demo import DEMO_PASSWORD
from livecircle.growth.notify.models import Notification
from livecircle.identity import service as identity_service
from livecircle.identity.schemas import Role
from livecircle.kit.db import Database
from livecircle.kit.jobs import Job
from livecircle.kit.tracking import event_row, insert_rows
from livecircle.marketing import guards
from livecircle.marketing.engine import Scheduler
from livecircle.marketing.models import Campaign, Enrolment, Send
from livecircle.marketing.tasks import Marketing
from livecircle.privacy import consent
from tests.conftest import Account, RunningServer, make_account
from tests.smtp_kit import Mailbox, smtp_server
from tests.webhook_kit import webhook_receiver

# Noon in Shanghai tomorrow: outside the default quiet hours whatever the wall clock says.
NOON = datetime.now(UTC).replace(hour=4, minute=0, second=0, microsecond=0) + timedelta(days=1)
PROBLEM = "application/problem+json"


# ---- helpers (test_marketing_api.py uses them too) ----


@pytest.fixture(autouse=True)
async def driven_by_hand(server: RunningServer) -> AsyncIterator[Marketing]:
    """Passes run only when a test runs them (with its clock); campaigns end with the test."""
    marketing: Marketing = server.app.state.marketing
    marketing.automatic = False
    yield marketing
    async with server.db.unit_of_work() as session:
        await session.execute(update(Campaign).where(Campaign.status != "ended").values(status="ended"))


class Shop:
    """A fresh tenant with an operator, for one test."""

    def __init__(self, server: RunningServer, slug: str, tenant_id: int, operator: Account) -> None:
        self.server = server
        self.slug = slug
        self.tenant_id = tenant_id
        self.operator = operator


async def new_shop(server: RunningServer) -> Shop:
    slug = f"mk{uuid.uuid4().hex[:10]}"
    operator = await make_account(server, role=Role.OPERATOR, tenant=slug, name="运营", consents=())
    async with server.db.unit_of_work() as session:
        tenant = await identity_service.get_tenant_by_slug(session, slug)
    return Shop(server, slug, tenant.id, operator)


async def members(shop: Shop, count: int, *, marketing: bool = True) -> list[int]:
    """``count`` members of the shop's tenant (marketing consent given when ``marketing``)."""
    async with shop.server.db.unit_of_work() as session:
        tenant = await identity_service.get_tenant_by_slug(session, shop.slug)
        ids = []
        for n in range(count):
            user = await identity_service.do_register(
                session,
                email=f"m{uuid.uuid4().hex[:12]}@test.livecircle.local",
                password=DEMO_PASSWORD,
                display_name=f"会员{n}",
                tenant=tenant,
            )
            if marketing:
                await consent.grant(
                    session, user_id=user.id, purpose=consent.Purpose.MARKETING, channel=consent.Channel.API
                )
            ids.append(user.id)
    return ids


async def plant(shop: Shop, events: list[tuple[str, int, datetime]], **fields: Any) -> None:
    """Analytics events as the tracking path stores them, at the given (past) times."""
    rows = [event_row(kind, tenant_id=shop.tenant_id, user_id=u, ts=ts, **fields) for kind, u, ts in events]
    async with shop.server.db.unit_of_work() as session:
        await insert_rows(session, rows)


async def create(client: httpx.AsyncClient, shop: Shop, **body: Any) -> dict[str, Any]:
    """A campaign through the API, switched on."""
    body = {"name": "测试活动", "holdout_percent": 0, **body}
    created = await client.post("/api/v1/campaigns", json=body, headers=shop.operator.headers)
    assert created.status_code == 201, created.text
    campaign: dict[str, Any] = created.json()
    on = await client.post(
        f"/api/v1/campaigns/{campaign['id']}/status", json={"status": "active"}, headers=shop.operator.headers
    )
    assert on.status_code == 200, on.text
    return campaign


async def run(server: RunningServer, now: datetime) -> dict[str, int]:
    marketing: Marketing = server.app.state.marketing
    result = await marketing.scheduler.run_pass(now)
    return result.outcomes


async def inbox_of(server: RunningServer, campaign_id: int) -> Counter[tuple[int, str]]:
    """Inbox entries a campaign wrote: (user, title) -> how many."""
    async with server.db.unit_of_work() as session:
        rows = await session.execute(
            select(Notification.user_id, Notification.title).where(
                Notification.dedupe_key.startswith(f"campaign:{campaign_id}:")
            )
        )
        return Counter((int(u), t) for u, t in rows)


async def sends_of(server: RunningServer, campaign_id: int) -> list[Send]:
    async with server.db.unit_of_work() as session:
        return list(
            await session.scalars(select(Send).where(Send.campaign_id == campaign_id).order_by(Send.id))
        )


async def template(shop: Shop, **fields: Any) -> int:
    async with shop.server.db.unit_of_work() as session:
        made = await coupons.do_create_template(
            session,
            tenant_id=shop.tenant_id,
            **{"name": "回归券", "kind": "fixed", "amount_off_cents": 500, "channel": "manual", **fields},
        )
        return made.id


def message(title: str, **fields: Any) -> dict[str, Any]:
    return {"type": "message", "title": title, "body": "正文", **fields}


def watched(users: list[int], at: datetime) -> list[tuple[str, int, datetime]]:
    return [("view_start", user, at) for user in users]


# ---- pure guards ----


def test_holdout_is_deterministic_and_within_a_point_of_the_share() -> None:
    assigned = [guards.in_holdout(7, user, 10) for user in range(1, 100_001)]
    assert abs(sum(assigned) / len(assigned) - 0.10) < 0.01
    assert assigned == [guards.in_holdout(7, user, 10) for user in range(1, 100_001)]
    assert [guards.in_holdout(8, user, 10) for user in range(1, 1001)] != assigned[:1000]  # per campaign
    assert not any(guards.in_holdout(7, user, 0) for user in range(1, 1001))


def test_quiet_hours_are_local_and_end_at_the_next_end_hour() -> None:
    zone = "Asia/Shanghai"  # UTC+8: 22:00-08:00 there is 14:00-00:00 UTC
    night = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)
    assert guards.is_quiet(night, start=22, end=8, zone=zone)
    assert not guards.is_quiet(night.replace(hour=4), start=22, end=8, zone=zone)
    assert guards.is_quiet(night.replace(hour=13, minute=59), start=22, end=8, zone=zone) is False
    assert guards.is_quiet(night.replace(hour=14), start=22, end=8, zone=zone)
    assert not guards.is_quiet(night, start=8, end=8, zone=zone)  # equal: no quiet hours
    assert guards.quiet_ends(night, end=8, zone=zone) == datetime(2026, 11, 28, 0, 0, tzinfo=UTC)
    early = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)  # 06:00 on the 28th in Shanghai
    assert guards.quiet_ends(early, end=8, zone=zone) == datetime(2026, 11, 28, 0, 0, tzinfo=UTC)


# ---- once only ----


@pytest.fixture
async def mailbox(server: RunningServer) -> AsyncIterator[Mailbox]:
    smtp = server.settings.growth.smtp.model_copy()
    async with smtp_server() as box:
        server.settings.growth.smtp.host, server.settings.growth.smtp.port = box.host, box.port
        try:
            yield box
        finally:
            server.settings.growth.smtp = smtp


async def test_reruns_and_concurrent_passes_send_each_step_once(
    server: RunningServer, client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    shop = await new_shop(server)
    users = await members(shop, 6)
    await plant(shop, watched(users, NOON - timedelta(days=1)))
    coupon = await template(shop, per_user=5)
    async with webhook_receiver() as receiver:
        hook = await client.post(
            "/api/v1/webhooks",
            json={"url": receiver.url, "kinds": ["promotion"]},
            headers=shop.operator.headers,
        )
        assert hook.status_code == 201, hook.text
        receiver.secret = hook.json()["secret"]
        steps = [
            {"type": "coupon", "template_id": coupon},
            message("新品上架", email=True),
            {"type": "webhook", "event": "crm.sync"},
        ]
        trigger = {"type": "event", "event": "view_start", "did": True, "days": 14}
        campaign = await create(client, shop, trigger=trigger, steps=steps)
        await run(server, NOON)
        await run(server, NOON)
        await asyncio.gather(*(run(server, NOON + timedelta(seconds=s)) for s in range(4)))
        if server.db.url.startswith("postgresql"):  # a second node: its own engine and connections
            other = Database(server.db.url)
            try:
                node = Scheduler(other, server.app.state.analytics, secret=server.settings.secret_key)
                await asyncio.gather(node.run_pass(NOON), run(server, NOON), node.run_pass(NOON))
            finally:
                await other.dispose()
        await receiver.wait_for(lambda r: len(r.accepted()) >= len(users))
        addresses = await _emails(server, users)
        await mailbox.wait_for(lambda box: sum(len(box.to(a)) for a in addresses) >= len(users))
        await _drained(server, campaign["id"])
        assert all(len(mailbox.to(a)) == 1 for a in addresses)
        assert len(receiver.accepted()) == len(users)
        assert sorted(d.event["data"]["user_id"] for d in receiver.accepted()) == sorted(users)  # type: ignore[index]
    assert await inbox_of(server, campaign["id"]) == Counter({(u, "新品上架"): 1 for u in users})
    async with server.db.unit_of_work() as session:
        issued = await session.scalars(
            select(Coupon.user_id).where(Coupon.source == f"campaign:{campaign['id']}")
        )
        assert sorted(issued) == sorted(users)
        enrolled = await session.scalar(
            select(func.count()).select_from(Enrolment).where(Enrolment.campaign_id == campaign["id"])
        )
    assert enrolled == len(users)
    sends = await sends_of(server, campaign["id"])
    assert Counter((s.step, s.status) for s in sends) == {(0, "sent"): 6, (1, "sent"): 6, (2, "sent"): 6}


async def _emails(server: RunningServer, users: list[int]) -> list[str]:
    async with server.db.unit_of_work() as session:
        return [(await identity_service.get_user(session, u)).email for u in users]  # type: ignore[union-attr]


async def _drained(server: RunningServer, campaign_id: int, timeout: float = 10.0) -> None:
    """No delivery of the campaign is left pending."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with server.db.unit_of_work() as session:
            pending = await session.scalar(
                select(func.count())
                .select_from(Job)
                .where(Job.key.contains(f":campaign:{campaign_id}:"), Job.state == "pending")
            )
        if not pending:
            return
        assert asyncio.get_running_loop().time() < deadline, f"{pending} deliveries still pending"
        await asyncio.sleep(0.05)


# ---- guards ----


async def test_the_frequency_cap_holds_across_two_campaigns(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    shop = await new_shop(server)
    users = await members(shop, 3)
    await plant(shop, watched(users, NOON - timedelta(days=1)))
    trigger = {"type": "event", "event": "view_start", "did": True, "days": 14}
    first = await create(client, shop, trigger=trigger, steps=[message("第一封")], cap_sends=1, cap_days=7)
    second = await create(client, shop, trigger=trigger, steps=[message("第二封")], cap_sends=1, cap_days=7)
    await run(server, NOON)
    await run(server, NOON + timedelta(minutes=1))
    got = await inbox_of(server, first["id"]) + await inbox_of(server, second["id"])
    assert Counter(u for u, _ in got.elements()) == Counter(dict.fromkeys(users, 1))  # one each, in all
    assert [s.status for s in await sends_of(server, second["id"])] == ["capped"] * 3
    # A week later the cap has room again: a third campaign reaches them.
    third = await create(client, shop, trigger=trigger, steps=[message("第三封")], cap_sends=1, cap_days=7)
    await plant(shop, watched(users, NOON + timedelta(days=7)))
    await run(server, NOON + timedelta(days=7, minutes=1))
    assert await inbox_of(server, third["id"]) == Counter({(u, "第三封"): 1 for u in users})


async def test_quiet_hours_defer_a_send_which_then_goes_out_once(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    shop = await new_shop(server)
    users = await members(shop, 2)
    night = NOON.replace(hour=15)  # 23:00 in Shanghai
    await plant(shop, watched(users, night - timedelta(hours=2)))
    trigger = {"type": "event", "event": "view_start", "did": True, "days": 14}
    campaign = await create(client, shop, trigger=trigger, steps=[message("早安")])
    assert (await run(server, night)).get("defer") == 2
    await run(server, night + timedelta(minutes=58))
    assert await inbox_of(server, campaign["id"]) == Counter()
    async with server.db.unit_of_work() as session:
        due = set(
            await session.scalars(select(Enrolment.due_at).where(Enrolment.campaign_id == campaign["id"]))
        )
    assert due == {night.replace(hour=0) + timedelta(days=1)}  # 08:00 in Shanghai
    for minutes in (9 * 60, 9 * 60 + 1, 10 * 60):  # 08:00, 08:01 and 09:00 in Shanghai
        await run(server, night + timedelta(minutes=minutes))
    assert await inbox_of(server, campaign["id"]) == Counter({(u, "早安"): 1 for u in users})
    sends = await sends_of(server, campaign["id"])
    assert [(s.status, s.deferred) for s in sends] == [("sent", True)] * 2
    report = await client.get(f"/api/v1/campaigns/{campaign['id']}/report", headers=shop.operator.headers)
    assert report.json()["steps"][0]["deferred"] == 2


async def test_no_consent_and_opt_outs_get_nothing_and_a_withdrawal_stops_the_next_step(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    shop = await new_shop(server)
    willing, leaving = await members(shop, 2)
    (silent,) = await members(shop, 1, marketing=False)
    opted = await make_account(server, tenant=shop.slug, consents=("marketing",))
    off = {"preferences": {"promotion": {"inbox": False, "email": False}}}
    changed = await client.put("/api/v1/me/notification-preferences", json=off, headers=opted.headers)
    assert changed.status_code == 200, changed.text
    everyone = [willing, leaving, silent, opted.user_id]
    await plant(shop, watched(everyone, NOON - timedelta(hours=1)))
    trigger = {"type": "event", "event": "view_start", "did": True, "days": 14}
    steps = [message("第一步"), {"type": "wait", "hours": 1}, message("第二步")]
    campaign = await create(client, shop, trigger=trigger, steps=steps)
    await run(server, NOON)
    assert await inbox_of(server, campaign["id"]) == Counter({(willing, "第一步"): 1, (leaving, "第一步"): 1})
    async with server.db.unit_of_work() as session:
        await consent.withdraw(
            session, user_id=leaving, purpose=consent.Purpose.MARKETING, channel=consent.Channel.API
        )
    await run(server, NOON + timedelta(hours=1))
    assert await inbox_of(server, campaign["id"]) == Counter(
        {(willing, "第一步"): 1, (leaving, "第一步"): 1, (willing, "第二步"): 1}
    )
    statuses = {(s.user_id, s.step): s.status for s in await sends_of(server, campaign["id"])}
    assert statuses == {
        (willing, 0): "sent", (willing, 2): "sent",
        (leaving, 0): "sent", (leaving, 2): "no_consent",
        (silent, 0): "no_consent", (silent, 2): "no_consent",
        (opted.user_id, 0): "opted_out", (opted.user_id, 2): "opted_out",
    }  # fmt: skip


# ---- flow ----


async def test_a_member_who_ordered_takes_the_branch(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    shop = await new_shop(server)
    buyer, browser, quitter = await members(shop, 3)
    await plant(shop, watched([buyer, browser, quitter], NOON - timedelta(hours=1)))
    trigger = {"type": "event", "event": "view_start", "did": True, "days": 14}
    steps = [
        message("欢迎"),
        {"type": "wait", "hours": 24},
        {"type": "branch", "events": ["order_paid"], "then": 5},
        {"type": "branch", "events": ["chat"], "then": "stop"},
        message("还在犹豫吗"),
        {"type": "tag", "tag": "campaign_done"},
    ]
    campaign = await create(client, shop, trigger=trigger, steps=steps)
    await run(server, NOON)
    await plant(
        shop, [("order_paid", buyer, NOON + timedelta(hours=2)), ("chat", quitter, NOON + timedelta(hours=3))]
    )
    await run(server, NOON + timedelta(hours=12))  # still waiting
    assert sum((await inbox_of(server, campaign["id"])).values()) == 3
    await run(server, NOON + timedelta(hours=25))
    await run(server, NOON + timedelta(hours=26))
    assert await inbox_of(server, campaign["id"]) == Counter(
        {(buyer, "欢迎"): 1, (browser, "欢迎"): 1, (quitter, "欢迎"): 1, (browser, "还在犹豫吗"): 1}
    )
    statuses = {(s.user_id, s.step): s.status for s in await sends_of(server, campaign["id"])}
    assert (statuses[(buyer, 2)], statuses[(buyer, 5)]) == ("taken", "tagged")
    assert (buyer, 4) not in statuses
    assert (statuses[(quitter, 2)], statuses[(quitter, 3)]) == ("not_taken", "taken")
    assert (quitter, 5) not in statuses
    assert (statuses[(browser, 3)], statuses[(browser, 5)]) == ("not_taken", "tagged")
    async with server.db.unit_of_work() as session:
        states = dict(
            (await session.execute(
                select(Enrolment.user_id, Enrolment.status).where(Enrolment.campaign_id == campaign["id"])
            )).all()
        )  # fmt: skip
    assert states == {buyer: "done", browser: "done", quitter: "stopped"}


# ---- hold-out and report ----


async def test_the_holdout_receives_nothing_and_the_report_shows_the_planted_lift(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    shop = await new_shop(server)
    users = await members(shop, 200)
    await plant(shop, watched(users, NOON - timedelta(days=2)))
    trigger = {"type": "event", "event": "view_start", "did": True, "days": 14}
    campaign = await create(client, shop, trigger=trigger, steps=[message("限时优惠")], holdout_percent=20)
    await run(server, NOON)
    held = [u for u in users if guards.in_holdout(campaign["id"], u, 20)]
    treated = [u for u in users if u not in held]
    assert 20 <= len(held) <= 60  # 40 expected; the hash is deterministic
    assert await inbox_of(server, campaign["id"]) == Counter({(u, "限时优惠"): 1 for u in treated})
    # Planted: half the treatment group orders within the window, a fifth of the hold-out; one
    # order after the 7-day window and one before entering do not count.
    buyers = treated[::2] + held[::5]
    late, early = treated[1], held[1]
    await plant(
        shop,
        [("order_paid", u, NOON + timedelta(days=1)) for u in buyers]
        + [("order_paid", late, NOON + timedelta(days=8)), ("order_paid", early, NOON - timedelta(hours=1))],
        amount=990,
    )
    await run(server, NOON + timedelta(days=9))
    body = (
        await client.get(f"/api/v1/campaigns/{campaign['id']}/report", headers=shop.operator.headers)
    ).json()
    assert body["entrants"] == 200
    assert body["treatment"] == {
        "members": len(treated), "converted": len(treated[::2]), "rate": len(treated[::2]) / len(treated)
    }  # fmt: skip
    assert (body["holdout"]["members"], body["holdout"]["converted"]) == (len(held), len(held[::5]))
    lift = body["lift"]
    expected = len(treated[::2]) / len(treated) - len(held[::5]) / len(held)
    assert lift["difference"] == pytest.approx(expected)
    assert 0 < lift["ci_low"] < expected < lift["ci_high"]
    assert lift["significant"] is True
    assert lift["p_value"] < 0.05
    assert body["steps"][0]["counts"] == {"sent": len(treated), "holdout": len(held)}
