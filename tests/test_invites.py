"""Invites (growth/invites) through HTTP on both backends: the link and its landing page, the
attribution of a sign-up and of the invitee's first paid order, rewards that vest by watch
time or by payment exactly once, each fraud rule with its reason code, the window, the
per-inviter daily cap, the leaderboard and the share page.

Every client here sends its own ``X-Forwarded-For`` (the test server trusts loopback as a
proxy, as uvicorn does by default), so each actor has an IP of its own."""

from __future__ import annotations

import asyncio
import itertools
import random
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from livecircle.commerce.events import OrderPaid
from livecircle.economy.models import Transfer
from livecircle.growth.invites import service as invite_service
from livecircle.growth.invites.models import Invite, InviteOpen
from livecircle.identity.schemas import Role
from livecircle.kit.clock import utcnow
from livecircle.live import audience
from tests.commerce_kit import Shop, agree_to_pay, open_shop, order
from tests.conftest import Account, RunningServer, make_account, make_room
from tests.room_kit import go_live

PASSWORD = "invited-pass-1"
_ips = itertools.count(1)
_NET = random.randrange(256)


def fresh_ip() -> str:
    n = next(_ips)
    return f"198.18.{_NET}.{n % 250 + 1}" if n < 250 else f"198.19.{n // 250 % 256}.{n % 250 + 1}"


def fresh_device() -> str:
    return uuid.uuid4().hex


def xff(ip: str) -> dict[str, str]:
    return {"X-Forwarded-For": ip}


async def until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.03)


async def my_invites(client: httpx.AsyncClient, account: Account, ip: str | None = None) -> dict[str, Any]:
    reply = await client.get("/api/v1/me/invites", headers=account.headers | xff(ip or fresh_ip()))
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


async def code_of(client: httpx.AsyncClient, account: Account) -> str:
    return str((await my_invites(client, account))["code"])


async def sign_up(
    server: RunningServer,
    code: str,
    *,
    ip: str | None = None,
    device: str | None = None,
    via_link: bool = True,
    tenant: str = "demo",
) -> Account:
    """A friend opens ``/i/{code}`` (which gives the browser a device cookie unless it sends
    ``X-Device-Id``) and signs up through the API with the code."""
    headers = xff(ip or fresh_ip()) | ({"X-Device-Id": device} if device else {})
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=20) as friend:
        if via_link:
            landing = await friend.get(f"/i/{code}")
            assert landing.status_code == 303, landing.text
            assert landing.headers["location"] == f"/register?invite={code}"
        email = f"f{uuid.uuid4().hex[:12]}@example.com"
        body = {"email": email, "password": PASSWORD, "display_name": "新朋友", "invite_code": code}
        reply = await friend.post("/api/v1/auth/register", json=body | {"tenant": tenant})
    assert reply.status_code == 201, reply.text
    data = reply.json()
    return Account(data["user"]["id"], email, PASSWORD, data["access_token"], tenant)


async def invite_of(server: RunningServer, invitee: Account) -> Invite:
    async with server.db.unit_of_work() as session:
        invite = await session.scalar(select(Invite).where(Invite.invitee_id == invitee.user_id))
    assert invite is not None, "no invite record"
    return invite


async def backdate(server: RunningServer, *where: Any, **values: Any) -> None:
    async with server.db.unit_of_work() as session:
        await session.execute(update(Invite).where(*where).values(**values))


async def watch(
    server: RunningServer, client: httpx.AsyncClient, host: Account, users: list[Account], seconds: int
) -> None:
    """Credit watch time the way live's WatchClock does (``do_credit_watch`` in a unit of work
    of its own), in a show of a new room."""
    room = await make_room(client, host)
    await go_live(client, host, room["id"])
    async with server.db.unit_of_work() as session:
        credited = await audience.do_credit_watch(
            session, room_id=room["id"], user_ids=[u.user_id for u in users], seconds=seconds
        )
    assert credited is not None
    assert set(credited[1]) == {u.user_id for u in users}


async def balance(client: httpx.AsyncClient, account: Account) -> int:
    return int((await client.get("/api/v1/points", headers=account.headers)).json()["balance"])


async def invite_transfers(server: RunningServer, invite_id: int) -> int:
    async with server.db.unit_of_work() as session:
        count = await session.scalar(
            select(func.count()).select_from(Transfer).where(Transfer.key == f"invite:{invite_id}")
        )
    return int(count or 0)


@asynccontextmanager
async def orders_seen_by_growth(server: RunningServer) -> AsyncIterator[set[int]]:
    """Order ids whose OrderPaid every earlier subscriber (growth's among them) has handled:
    the bus runs handlers in turn, and this one is added last."""
    seen: set[int] = set()

    async def probe(event: OrderPaid) -> None:
        seen.add(event.order_id)

    handlers = server.db.bus._handlers[OrderPaid]
    handlers.append(probe)
    try:
        yield seen
    finally:
        handlers.remove(probe)


async def buy(client: httpx.AsyncClient, shop: Shop, buyer: Account) -> int:
    """Place and pay (sandbox, success) one order; returns its id once it is paid."""
    await agree_to_pay(client, buyer)
    placed = await order(client, buyer, sku_id=shop.skus[0]["id"], show_id=shop.show_id)
    assert placed.status_code == 201, placed.text
    order_id = int(placed.json()["id"])
    payment = await client.post(f"/api/v1/orders/{order_id}/payments", headers=buyer.headers)
    assert payment.status_code == 201, payment.text
    done = await client.post(payment.json()["pay_url"], json={"outcome": "success"}, headers=buyer.headers)
    assert done.status_code == 202, done.text
    return order_id


async def test_a_sign_up_through_the_link_is_attributed_and_vests_once_by_watch_time(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account, host: Account
) -> None:
    mine = await my_invites(client, viewer)
    code = mine["code"]
    assert mine["link"] == f"{server.settings.http.base_url}/i/{code}"
    assert mine["counts"] == {"pending": 0, "vested": 0, "rejected": 0}

    friend = await sign_up(server, code)
    mine = await my_invites(client, viewer)
    assert mine["counts"] == {"pending": 1, "vested": 0, "rejected": 0}
    [row] = mine["invites"]
    assert row["invitee_id"] == friend.user_id
    assert row["status"] == "pending"
    assert row["opened_at"] is not None  # the link's open started the window

    minutes = server.settings.growth.invite_vest_watch_minutes
    await watch(server, client, host, [friend], minutes * 30)  # half of it: nothing yet
    assert (await invite_of(server, friend)).status == "pending"
    assert await balance(client, viewer) == 0

    await watch(server, client, host, [friend], minutes * 30)  # the other half, in another show
    invite = await invite_of(server, friend)
    assert (invite.status, invite.vested_by, invite.reward_kind) == ("vested", "watch", "points")
    reward = server.settings.economy.points.earn["invite"].points
    assert await balance(client, viewer) == reward

    await watch(server, client, host, [friend], minutes * 60)  # more watching pays nothing more
    async with server.db.unit_of_work() as session:  # nor does vesting it again
        again = await invite_service.check_vest(
            session, server.settings, invite_id=invite.id, trigger="watch"
        )
    assert again is not None
    assert again.vested_at == invite.vested_at
    assert await balance(client, viewer) == reward
    assert await invite_transfers(server, invite.id) == 1
    assert (await my_invites(client, viewer))["counts"] == {"pending": 0, "vested": 1, "rejected": 0}


async def test_the_first_paid_order_is_attributed_and_vests_the_reward_once(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account, host: Account
) -> None:
    shop = await open_shop(server, client)
    friend = await sign_up(server, await code_of(client, viewer))
    async with orders_seen_by_growth(server) as seen:
        first = await buy(client, shop, friend)
        await until(lambda: first in seen)
        second = await buy(client, shop, friend)
        await until(lambda: second in seen)
    invite = await invite_of(server, friend)
    assert (invite.status, invite.vested_by) == ("vested", "order")
    assert invite.first_order_id == first  # the first paid order, not the second
    assert invite.first_order_at is not None
    row = (await my_invites(client, viewer))["invites"][0]
    assert row["first_order_id"] == first

    minutes = server.settings.growth.invite_vest_watch_minutes
    await watch(server, client, host, [friend], minutes * 60)  # watching after paying pays nothing more
    assert await balance(client, viewer) == server.settings.economy.points.earn["invite"].points
    assert await invite_transfers(server, invite.id) == 1


async def test_a_coupon_is_the_reward_when_a_template_is_configured(
    server: RunningServer,
    client: httpx.AsyncClient,
    viewer: Account,
    host: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    operator = await make_account(server, role=Role.OPERATOR, name="运营")
    template = await client.post(
        "/api/v1/coupon-templates",
        json={
            "name": "邀请奖励券",
            "kind": "fixed",
            "amount_off_cents": 500,
            "channel": "manual",
            "per_user": 20,
        },
        headers=operator.headers,
    )
    assert template.status_code == 201, template.text
    monkeypatch.setattr(server.settings.growth, "invite_coupon_template_id", template.json()["id"])
    friend = await sign_up(server, await code_of(client, viewer))
    await watch(server, client, host, [friend], server.settings.growth.invite_vest_watch_minutes * 60)

    invite = await invite_of(server, friend)
    assert (invite.status, invite.reward_kind) == ("vested", "coupon")
    coupons = (await client.get("/api/v1/coupons", headers=viewer.headers)).json()
    mine = [c for c in coupons if c["template_id"] == template.json()["id"]]
    assert [(c["source"], str(c["id"])) for c in mine] == [("invite", invite.reward_ref)]
    assert await balance(client, viewer) == 0


async def test_a_self_invite_from_the_inviters_device_is_not_rewarded(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account
) -> None:
    home_ip, cafe_ip = fresh_ip(), fresh_ip()
    async with httpx.AsyncClient(base_url=server.base_url, timeout=20) as browser:
        await browser.get("/login", headers=xff(home_ip))
        csrf = browser.cookies["lc_csrf"]
        form = {"email": viewer.email, "password": viewer.password, "csrf_token": csrf, "next": "/invite"}
        signed_in = await browser.post("/login", data=form, headers=xff(home_ip))
        assert signed_in.status_code == 303
        assert signed_in.headers["location"] == "/invite"
        assert browser.cookies.get("lc_device")  # sign-in gave this browser its device id
        page = await browser.get("/invite", headers=xff(home_ip))
        assert page.status_code == 200
        found = re.search(r'id="invite-code">(\w+)<', page.text)
        assert found is not None
        code = found.group(1)
        await browser.post("/logout", data={"csrf_token": csrf}, headers=xff(home_ip))

        # Same browser, another network: a second account with one's own link.
        landing = await browser.get(f"/i/{code}", headers=xff(cafe_ip))
        assert landing.headers["location"] == f"/register?invite={code}"
        form = {
            "email": f"alt{uuid.uuid4().hex[:10]}@example.com",
            "password": PASSWORD,
            "display_name": "小号",
            "invite_code": code,
            "csrf_token": csrf,
        }
        registered = await browser.post("/register", data=form, headers=xff(cafe_ip))
    assert registered.status_code == 303  # the sign-up itself goes through
    [row] = (await my_invites(client, viewer))["invites"]
    assert (row["status"], row["reason"]) == ("rejected", "self_invite")
    async with server.db.unit_of_work() as session:
        invite = await session.get(Invite, row["id"])
    assert invite is not None
    assert invite.evidence == "device"


async def test_a_self_invite_from_the_inviters_ip_or_account_is_not_rewarded(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account, host: Account
) -> None:
    home_ip = fresh_ip()
    code = (await my_invites(client, viewer, ip=home_ip))["code"]  # the inviter is seen at home_ip
    same_network = await sign_up(server, code, ip=home_ip)
    elsewhere = await sign_up(server, code)
    invite = await invite_of(server, same_network)
    assert (invite.status, invite.reason, invite.evidence) == ("rejected", "self_invite", "ip")
    assert (await invite_of(server, elsewhere)).status == "pending"

    # One's own code on one's own account (no sign-up form allows it; the rule holds anyway).
    async with server.db.unit_of_work() as session:
        own = await invite_service.do_record_invite(
            session,
            server.settings.growth,
            tenant_id=invite.tenant_id,
            inviter_id=host.user_id,
            invitee_id=host.user_id,
            ip=fresh_ip(),
            device=fresh_device(),
        )
    assert (own.status, own.reason, own.evidence) == ("rejected", "self_invite", "account")

    minutes = server.settings.growth.invite_vest_watch_minutes
    await watch(server, client, host, [same_network, elsewhere], minutes * 60)
    assert (await invite_of(server, same_network)).status == "rejected"  # never vests
    assert (await invite_of(server, elsewhere)).status == "vested"
    assert await balance(client, viewer) == server.settings.economy.points.earn["invite"].points


async def test_bursts_from_one_ip_or_one_device_are_refused_beyond_the_limit(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account, other_viewer: Account
) -> None:
    limit = server.settings.growth.invite_burst_limit
    codes = [await code_of(client, viewer), await code_of(client, other_viewer)]
    one_ip, one_device = fresh_ip(), fresh_device()
    by_ip = [await sign_up(server, codes[i % 2], ip=one_ip) for i in range(limit + 1)]
    by_device = [await sign_up(server, codes[i % 2], device=one_device) for i in range(limit + 1)]

    for group, kind in ((by_ip, "ip"), (by_device, "device")):
        invites = [await invite_of(server, friend) for friend in group]
        assert [i.status for i in invites] == ["pending"] * limit + ["rejected"]
        assert (invites[-1].reason, invites[-1].evidence) == ("burst", kind)

    # Once the earlier ones are older than the burst window, the IP may bring a friend again.
    window = timedelta(minutes=server.settings.growth.invite_burst_window_minutes + 1)
    await backdate(server, Invite.ip == one_ip, registered_at=utcnow() - window)
    later = await sign_up(server, codes[0], ip=one_ip)
    assert (await invite_of(server, later)).status == "pending"


async def test_at_most_the_daily_cap_of_rewards_vest_per_inviter_and_utc_day(
    server: RunningServer,
    client: httpx.AsyncClient,
    viewer: Account,
    host: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(server.settings.growth, "invite_daily_cap", 2)
    code = await code_of(client, viewer)
    friends = [await sign_up(server, code) for _ in range(3)]
    minutes = server.settings.growth.invite_vest_watch_minutes
    await watch(server, client, host, friends, minutes * 60)

    invites = [await invite_of(server, friend) for friend in friends]
    assert sorted(i.status for i in invites) == ["rejected", "vested", "vested"]
    [capped] = [i for i in invites if i.status == "rejected"]
    assert capped.reason == "daily_cap"
    reward = server.settings.economy.points.earn["invite"].points
    assert await balance(client, viewer) == 2 * reward
    row = next(r for r in (await my_invites(client, viewer))["invites"] if r["id"] == capped.id)
    assert (row["status"], row["reason"]) == ("rejected", "daily_cap")

    # The cap is per UTC day: with yesterday's rewards out of today, the next one vests.
    await backdate(
        server,
        Invite.inviter_id == viewer.user_id,
        Invite.status == "vested",
        vested_at=utcnow() - timedelta(days=1),
    )
    tomorrow = await sign_up(server, code)
    await watch(server, client, host, [tomorrow], minutes * 60)
    assert (await invite_of(server, tomorrow)).status == "vested"


async def test_outside_the_window_neither_the_sign_up_nor_the_first_order_counts(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account
) -> None:
    window = timedelta(days=server.settings.growth.invite_window_days, hours=1)
    code = await code_of(client, viewer)
    device = fresh_device()
    async with httpx.AsyncClient(base_url=server.base_url, headers={"X-Device-Id": device}) as friend:
        assert (await friend.get(f"/i/{code}")).status_code == 303
    async with server.db.unit_of_work() as session:  # the link was opened longer ago than the window
        await session.execute(
            update(InviteOpen).where(InviteOpen.device == device).values(opened_at=utcnow() - window)
        )
    late = await sign_up(server, code, device=device, via_link=False)
    invite = await invite_of(server, late)
    assert (invite.status, invite.reason) == ("rejected", "outside_window")

    # A sign-up inside the window whose first order comes after it: not attributed, no reward.
    shop = await open_shop(server, client)
    friend = await sign_up(server, code)
    await backdate(server, Invite.invitee_id == friend.user_id, registered_at=utcnow() - window)
    async with orders_seen_by_growth(server) as seen:
        order_id = await buy(client, shop, friend)
        await until(lambda: order_id in seen)
    invite = await invite_of(server, friend)
    assert (invite.status, invite.first_order_id) == ("pending", None)
    assert await balance(client, viewer) == 0


async def test_the_leaderboard_ranks_inviters_by_vested_invites_all_time_and_last_7_days(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account
) -> None:
    tenant = f"board-{uuid.uuid4().hex[:8]}"
    ann, bo, cai, dai = [await make_account(server, tenant=tenant, name=n) for n in ("安", "博", "才", "代")]
    host = await make_account(server, role=Role.HOST, tenant=tenant, name="主播")
    friends: list[Account] = []
    for inviter, n in ((ann, 3), (bo, 1), (cai, 2), (dai, 1)):
        code = await code_of(client, inviter)
        friends += [await sign_up(server, code, tenant=tenant) for _ in range(n)]
    pending = await sign_up(server, await code_of(client, dai), tenant=tenant)  # never vests
    minutes = server.settings.growth.invite_vest_watch_minutes
    await watch(server, client, host, friends[:5], minutes * 60)  # ann 3, bo 1, cai 1
    await watch(server, client, host, friends[5:], minutes * 60)  # cai's second, then dai's
    assert (await invite_of(server, pending)).status == "pending"

    def board(entries: list[dict[str, Any]]) -> list[tuple[int, str, int]]:
        return [(e["rank"], e["display_name"], e["vested"]) for e in entries]

    boards = (await client.get("/api/v1/invites/leaderboard", headers=ann.headers)).json()
    ranking = [(1, "安", 3), (2, "才", 2), (3, "博", 1), (4, "代", 1)]  # 博 got to 1 before 代
    assert board(boards["all_time"]) == ranking
    assert board(boards["last_7_days"]) == ranking

    await backdate(server, Invite.inviter_id == ann.user_id, vested_at=utcnow() - timedelta(days=8))
    boards = (await client.get("/api/v1/invites/leaderboard", headers=bo.headers)).json()
    assert board(boards["all_time"]) == ranking
    assert board(boards["last_7_days"]) == [(1, "才", 2), (2, "博", 1), (3, "代", 1)]
    theirs = (await client.get("/api/v1/invites/leaderboard", headers=viewer.headers)).json()
    assert ann.user_id not in {e["user_id"] for e in theirs["all_time"]}  # per tenant

    page = await client.get("/invites/board", headers=ann.headers)
    assert page.status_code == 200
    recent = page.text.split('id="board-last_7_days"')[1].split("</section>")[0]
    assert re.findall(r"<td>([^<\d]+)</td>", recent) == ["才", "博", "代"]
    assert (await client.get("/api/v1/invites/leaderboard")).status_code == 401


async def test_the_share_page_and_the_landing_link(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account
) -> None:
    anonymous = await client.get("/invite")
    assert (anonymous.status_code, anonymous.headers["location"]) == (303, "/login?next=/invite")
    ip = fresh_ip()
    async with httpx.AsyncClient(base_url=server.base_url, headers=xff(ip), timeout=20) as browser:
        await browser.get("/login")
        form = {"email": viewer.email, "password": viewer.password, "csrf_token": browser.cookies["lc_csrf"]}
        assert (await browser.post("/login", data=form)).status_code == 303
        zh = await browser.get("/invite")
        en = await browser.get("/invite?lang=en")
    code = (await my_invites(client, viewer))["code"]
    link = f"{server.settings.http.base_url}/i/{code}"
    assert zh.status_code == en.status_code == 200
    assert f'value="{link}"' in zh.text
    assert 'data-copy="invite-link"' in zh.text
    assert f"我在 livecircle 看直播、逛好物，用我的邀请链接注册，一起来玩吧：{link}" in zh.text
    assert f"Join me with my invite link: {link}" in en.text
    assert re.search(r'id="count-pending">0<', zh.text)

    unknown = await client.get("/i/NOSUCHCODE")
    assert (unknown.status_code, unknown.headers["location"]) == (303, "/register")
    for _ in range(2):
        landing = await client.get(f"/i/{code.lower()}")
        assert landing.headers["location"] == f"/register?invite={code}"
        assert client.cookies.get("lc_device")  # one device id, kept across opens
    async with server.db.unit_of_work() as session:
        opens = await session.scalar(
            select(InviteOpen.opens).where(
                InviteOpen.inviter_id == viewer.user_id, InviteOpen.device == client.cookies["lc_device"]
            )
        )
    assert opens == 2
    register = await client.get(f"/register?invite={code}")
    assert code in register.text
