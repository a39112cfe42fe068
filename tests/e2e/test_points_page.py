"""The points page (积分与等级) in a real browser: the daily check-in, streak freezes, the points
balance, level/tier/badges and the points store, each checked against the JSON API behind it.
No media (adapter "none"), SQLite; each test uses fresh accounts (``stage``)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.async_api import Page, Request

from livecircle.demo import DEMO_PASSWORD
from livecircle.economy import service as economy_service
from livecircle.economy import store, tiers
from livecircle.identity import service as identity_service
from tests.conftest import Account
from tests.e2e.journey import new_context, signed_in_context
from tests.e2e.stage import Stage

pytestmark = pytest.mark.e2e


def exactly(text: str) -> re.Pattern[str]:
    return re.compile(f"^{re.escape(text)}$")


async def grant(stage: Stage, account: Account, amount: int, currency: str = "point") -> None:
    """Points (or coins) issued by the platform, as an operator's grant would."""
    async with stage.server.db.unit_of_work() as session:
        tenant = await identity_service.get_tenant_by_slug(session, account.tenant)
        await economy_service.do_grant(
            session,
            tenant_id=tenant.id,
            user_id=account.user_id,
            currency=currency,
            amount=amount,
            key=f"e2e-grant:{uuid.uuid4()}",
            reason="e2e",
        )


async def store_item(stage: Stage, account: Account, **fields: Any) -> tuple[int, str]:
    """A points-store item in the account's tenant; returns its id and (unique) name."""
    name = f"{fields.pop('name', '兑换券')}{uuid.uuid4().hex[:4]}"
    fields = {"description": "e2e", "kind": "coupon", "per_user_limit": None, **fields}
    async with stage.server.db.unit_of_work() as session:
        tenant = await identity_service.get_tenant_by_slug(session, account.tenant)
        item = await store.do_create_store_item(session, tenant_id=tenant.id, name=name, **fields)
        return item.id, name


async def api(stage: Stage, account: Account, path: str) -> Any:
    answer = await stage.http.get(path, headers=account.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def points_page(stage: Stage, account: Account) -> Page:
    """/points signed in as ``account``, once every section has loaded."""
    context = await signed_in_context(stage.browser, stage.server.base_url, account.email, DEMO_PASSWORD)
    stage.contexts.append(context)
    page = await context.new_page()
    await page.goto("/points")
    await loaded(page)
    return page


async def loaded(page: Page) -> None:
    for section in ("checkin", "points", "level", "store"):
        await page.locator(f"#{section}[aria-busy=false]").wait_for(timeout=5_000)


async def test_check_in_pays_points_and_disables_the_button(stage: Stage) -> None:
    member = await stage.member("签到")
    async with stage.server.db.unit_of_work() as session:  # a badge the first check-in earns
        tenant = await identity_service.get_tenant_by_slug(session, member.tenant)
        await tiers.ensure_badge_rules(session, tenant.id)
        badge = f"e2e_checkin_{uuid.uuid4().hex[:6]}"
        await tiers.do_create_badge_rule(
            session,
            tenant_id=tenant.id,
            code=badge,
            name="初次签到",
            icon="✅",
            stat="checkin_streak",
            threshold=1,
        )
    page = await points_page(stage, member)
    await page.goto("/")
    await page.click("#nav-points")  # the header links to the page when signed in
    await page.wait_for_url("**/points")
    await loaded(page)
    button = page.locator("#checkin-button")
    assert await button.inner_text() == "签到"
    assert await button.is_enabled()
    assert await page.locator("#checkin-today").inner_text() == "今日签到可得 5 积分。"
    assert await page.locator("#checkin-streak").inner_text() == "0 天"
    assert await page.locator("#badges-empty").is_visible()

    await button.click()
    await page.locator("#checkin-message", has_text=exactly("签到成功：+5 积分。")).wait_for(timeout=5_000)
    await page.locator("#checkin-button:disabled", has_text=exactly("已签到")).wait_for(timeout=5_000)
    assert await page.locator("#checkin-streak").inner_text() == "1 天"
    assert await page.locator("#checkin-best").inner_text() == "1 天"
    assert await page.locator("#checkin-freezes").inner_text() == "0 / 2 张"
    assert await page.locator("#points-balance").inner_text() == "5"
    checkin_row = await page.locator("#points-today tr[data-rule=checkin] td").all_inner_texts()
    assert checkin_row == ["签到", "5（不限）"]
    chat_row = await page.locator("#points-today tr[data-rule=chat] td").all_inner_texts()
    assert chat_row == ["聊天互动", "0 / 20"]
    # Five points of XP reach level 2 (threshold 5); the next level is at 20.
    assert await page.locator("#level-number").inner_text() == "2 级"
    assert await page.locator("#level-xp").inner_text() == "经验 5 / 20"
    assert await page.locator("#level-next").inner_text() == "距 3 级还差 15 经验"
    assert await page.locator("#tier-name").inner_text() == "新关注者"
    earned = page.locator(f"#badges .chip[data-badge={badge}]")
    assert (
        await earned.locator(".chip-icon").inner_text(),
        await earned.locator(".chip-name").inner_text(),
    ) == (
        "✅",
        "初次签到",
    )

    status = await api(stage, member, "/api/v1/checkin")
    assert (status["checked_in_today"], status["streak"], status["today_points"]) == (True, 1, 5)
    assert (await api(stage, member, "/api/v1/points"))["balance"] == 5
    await page.reload()  # the state is the server's, not the page's
    await loaded(page)
    assert await button.is_disabled()
    assert await button.inner_text() == "已签到"
    assert await page.locator("#checkin-today").inner_text() == "今日签到已得 5 积分。"


async def test_redeem_refreshes_balance_stock_and_redemptions(stage: Stage) -> None:
    member = await stage.member("兑换")
    item_id, name = await store_item(stage, member, name="奶茶券", cost=30, stock=1, per_user_limit=2)
    await grant(stage, member, 100)
    page = await points_page(stage, member)
    stale = await page.context.new_page()  # a second tab, still showing the last one in stock
    await stale.goto("/points")
    await loaded(stale)
    card = page.locator(f".store-item[data-item-id='{item_id}']")
    assert await card.locator(".store-name").inner_text() == name
    assert await card.locator(".store-desc").inner_text() == "e2e"
    assert await card.locator(".store-cost").inner_text() == "30 积分"
    assert await card.locator(".store-stock").inner_text() == "库存 1"
    assert await card.locator(".store-limit").inner_text() == "每人限兑 2 件（已兑 0 件）"
    assert await page.locator("#points-balance").inner_text() == "100"
    assert await page.locator("#redemptions-empty").is_visible()

    await card.locator(".store-redeem").click()
    await page.locator("#store-message", has_text=f"已兑换「{name}」，消耗 30 积分。").wait_for(timeout=5_000)
    await page.locator("#points-balance", has_text=exactly("70")).wait_for(timeout=5_000)
    assert await card.locator(".store-stock").get_attribute("data-stock") == "0"
    assert await card.locator(".store-stock").inner_text() == "库存 0"
    assert await card.locator(".store-redeem").is_disabled()
    assert await card.locator(".store-redeem").inner_text() == "已兑完"
    assert await card.locator(".store-limit").inner_text() == "每人限兑 2 件（已兑 1 件）"
    row = page.locator(f"#redemptions tbody tr[data-item-id='{item_id}']")
    assert (await row.locator("td").all_inner_texts())[1:] == [name, "优惠券", "−30 积分"]
    assert (await api(stage, member, "/api/v1/points"))["balance"] == 70
    redeemed = await api(stage, member, "/api/v1/points/redemptions")
    assert [(r["item_id"], r["cost"]) for r in redeemed] == [(item_id, 30)]

    # The other tab still offers it: the server refuses, the page says why and catches up.
    stale_card = stale.locator(f".store-item[data-item-id='{item_id}']")
    assert await stale_card.locator(".store-stock").inner_text() == "库存 1"
    await stale_card.locator(".store-redeem").click()
    await stale.locator("#store-message.alert", has_text=exactly(f"「{name}」已兑完。")).wait_for(
        timeout=5_000
    )
    await stale_card.locator(".store-stock[data-stock='0']").wait_for(timeout=5_000)
    assert await stale.locator("#points-balance").inner_text() == "70"
    assert (await api(stage, member, "/api/v1/points"))["balance"] == 70
    assert len(await api(stage, member, "/api/v1/points/redemptions")) == 1


async def test_redeem_refusals_are_explained(stage: Stage) -> None:
    member = await stage.member("限兑")
    once_id, once = await store_item(stage, member, name="限量券", cost=10, stock=5, per_user_limit=1)
    dear_id, dear = await store_item(stage, member, name="大奖", cost=1000, stock=5)
    await grant(stage, member, 50)
    page = await points_page(stage, member)
    keys: list[str | None] = []
    page.on("request", lambda r: keys.append(_key(r)) if "/redeem" in r.url else None)
    once_button = page.locator(f".store-item[data-item-id='{once_id}'] .store-redeem")
    await once_button.click()
    await page.locator("#store-message", has_text=f"已兑换「{once}」").wait_for(timeout=5_000)
    await page.locator("#points-balance", has_text=exactly("40")).wait_for(timeout=5_000)
    await once_button.click()
    message = f"「{once}」每人限兑 1 件，你已达到上限。"
    await page.locator("#store-message.alert", has_text=exactly(message)).wait_for(timeout=5_000)
    await page.locator(f".store-item[data-item-id='{dear_id}'] .store-redeem").click()
    message = f"积分不足：「{dear}」需要 1,000 积分。"
    await page.locator("#store-message.alert", has_text=exactly(message)).wait_for(timeout=5_000)
    assert await page.locator("#points-balance").inner_text() == "40"
    assert (await api(stage, member, "/api/v1/points"))["balance"] == 40
    assert len(keys) == 3
    assert None not in keys
    assert len(set(keys)) == 3  # a fresh Idempotency-Key per click


async def test_buying_freezes_up_to_the_limit(stage: Stage) -> None:
    member = await stage.member("保护")
    page = await points_page(stage, member)
    keys: list[str | None] = []
    page.on("request", lambda r: keys.append(_key(r)) if r.url.endswith("/checkin/freezes") else None)
    assert await page.locator("#freeze-buy").inner_text() == "购买保护卡（100 积分）"
    await page.click("#freeze-buy")
    poor = "积分不足：一张保护卡需要 100 积分。"
    await page.locator("#freeze-message.alert", has_text=exactly(poor)).wait_for(timeout=5_000)

    await grant(stage, member, 250)
    await page.click("#freeze-buy")
    await page.locator("#freeze-message", has_text=exactly("购买成功：你现在有 1 张保护卡。")).wait_for()
    await page.locator("#freeze-buy:enabled").wait_for()
    await page.click("#freeze-buy")
    await page.locator("#freeze-message", has_text=exactly("购买成功：你现在有 2 张保护卡。")).wait_for()
    await page.locator("#checkin-freezes", has_text=exactly("2 / 2 张")).wait_for(timeout=5_000)
    await page.locator("#freeze-buy:enabled").wait_for()
    await page.click("#freeze-buy")
    limit = "保护卡已达上限（最多 2 张），暂时不能再买。"
    await page.locator("#freeze-message.alert", has_text=exactly(limit)).wait_for(timeout=5_000)
    await page.locator("#points-balance", has_text=exactly("50")).wait_for(timeout=5_000)
    assert (await api(stage, member, "/api/v1/checkin"))["freezes"] == 2
    assert (await api(stage, member, "/api/v1/points"))["balance"] == 50
    assert len(keys) == 4
    assert len(set(keys)) == 4


async def test_premium_member_sees_tier_and_benefits(stage: Stage) -> None:
    member = await stage.member("会员")
    await grant(stage, member, 300, currency="coin")
    bought = await stage.http.post(
        "/api/v1/memberships",
        json={"periods": 1},
        headers={**member.headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert bought.status_code == 201, bought.text
    page = await points_page(stage, member)
    assert await page.locator("#level-number").inner_text() == "1 级"
    assert await page.locator("#level-xp").inner_text() == "经验 0 / 5"
    assert await page.locator("#tier-name").inner_text() == "高级会员"
    until = await page.locator("#premium-until").inner_text()
    assert until.startswith("高级会员有效期至 ")
    benefits = await page.locator("#privileges .chip").all_inner_texts()
    assert sorted(benefits) == sorted(["优先连麦", "专属折扣", "会员专属直播间", "聊天徽章"])
    level = await api(stage, member, "/api/v1/me/level")
    assert level["tier"] == "premium"
    assert level["premium_until"] is not None


async def test_the_page_speaks_english(stage: Stage) -> None:
    member = await stage.member("英文")
    page = await points_page(stage, member)
    await page.goto("/lang/en")
    await page.goto("/points")
    await loaded(page)
    assert await page.locator("#nav-points").inner_text() == "Points & level"
    assert await page.locator("#level h2").inner_text() == "Level and tier"
    assert await page.locator("#level-number").inner_text() == "Level 1"
    assert await page.locator("#level-xp").inner_text() == "XP 0 / 5"
    assert await page.locator("#tier-name").inner_text() == "New follower"
    assert await page.locator("#privileges-empty").inner_text() == "No benefits at this tier yet."
    assert await page.locator("#checkin-button").inner_text() == "Check in"
    assert await page.locator("#store h2").inner_text() == "Points store"


async def test_anonymous_visitors_are_sent_to_sign_in(stage: Stage) -> None:
    member = await stage.member("游客")
    context = await new_context(stage.browser, base_url=stage.server.base_url, locale="zh-CN")
    stage.contexts.append(context)
    page = await context.new_page()
    await page.goto("/points")
    assert page.url.endswith("/login?next=/points")
    assert await page.locator("#nav-points").count() == 0
    await page.fill("input[name=email]", member.email)
    await page.fill("input[name=password]", DEMO_PASSWORD)
    await page.click("form[action='/login'] [type=submit]")
    await page.wait_for_url("**/points")  # back where the visitor wanted to go
    await loaded(page)
    assert await page.locator("#checkin-button").inner_text() == "签到"


def _key(request: Request) -> str | None:
    return request.headers.get("idempotency-key")
