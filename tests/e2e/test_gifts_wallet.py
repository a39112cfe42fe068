"""Gifts, the wallet and the gift catalogue in a real browser: the room's gift panel (sent over the
socket with a fresh idempotency key per click), the effect every viewer sees, the contribution
ranking, the wallet's figures and history, refusals, a sandbox top-up, and the operator's page.
No media (adapter "none"), SQLite; each test gets a fresh room and fresh accounts (``stage``)."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import pytest
from playwright.async_api import Page

from livecircle.demo import DEMO_PASSWORD
from livecircle.economy import service as economy_service
from livecircle.identity import service as identity_service
from tests.conftest import Account
from tests.e2e.journey import new_context, signed_in_context, wait_until
from tests.e2e.stage import Stage, ops_in

pytestmark = pytest.mark.e2e

ROOM_TITLE = "互动测试直播间"  # the stage's room
OPERATOR_EMAIL = "operator@demo.livecircle.local"


def exactly(text: str) -> re.Pattern[str]:
    return re.compile(f"^{re.escape(text)}$")


async def fund(stage: Stage, account: Account, coins: int) -> None:
    """Coins granted by the platform, as an operator's grant would."""
    async with stage.server.db.unit_of_work() as session:
        tenant = await identity_service.get_tenant_by_slug(session, account.tenant)
        await economy_service.do_grant(
            session,
            tenant_id=tenant.id,
            user_id=account.user_id,
            currency="coin",
            amount=coins,
            key=f"e2e-grant:{uuid.uuid4()}",
            reason="e2e",
        )


async def gift_named(stage: Stage, account: Account, name: str) -> dict[str, Any]:
    catalogue = (await stage.http.get("/api/v1/gifts", headers=account.headers)).json()
    gift: dict[str, Any] = next(g for g in catalogue if g["name"] == name)
    return gift


async def coins_of(stage: Stage, account: Account) -> int:
    coins: int = (await stage.http.get("/api/v1/wallet", headers=account.headers)).json()["coins"]
    return coins


async def choose_gift(page: Page, gift: dict[str, Any], count: int) -> None:
    """Open the panel (once its wallet figures are in) and pick ``gift`` × ``count``."""
    if await page.locator("#gift-panel").is_hidden():
        await page.click("#gift-button")
    await page.locator("#gift-balance[data-coins]").wait_for()
    await page.locator(f"#gift-list .gift-item[data-gift-id='{gift['id']}']").click()
    await page.locator(f"#gift-counts .gift-count[data-count='{count}']").click()


async def send_gift(page: Page, gift: dict[str, Any], count: int) -> None:
    await choose_gift(page, gift, count)
    await page.click("#gift-send")


def record_ops(ops: list[dict[str, Any]], op: str) -> Any:
    def on_page(page: Page) -> None:
        page.on("websocket", lambda ws: ws.on("framesent", lambda payload: ops.extend(ops_in(payload, op))))

    return on_page


async def test_gift_reaches_every_viewer_the_ranking_and_the_wallet(stage: Stage) -> None:
    sender, watcher = await stage.member("送礼"), await stage.member("围观")
    await fund(stage, sender, 100)
    heart = await gift_named(stage, sender, "小心心")
    await stage.go_live()
    gift_ops: list[dict[str, Any]] = []
    giving = await stage.open(sender.email, on_page=record_ops(gift_ops, "gift"))
    watching = await stage.open(watcher.email)
    name = await giving.evaluate("window.lcRoom.me.name")

    await send_gift(giving, heart, 10)
    effect = watching.locator("#gift-layer .gift-effect.float", has_text=name)
    await effect.wait_for(timeout=5_000)
    assert await effect.locator(".gift-effect-gift").inner_text() == "小心心"
    assert await effect.locator(".gift-effect-combo").inner_text() == "x10"
    after_one = 100 - heart["price"] * 10
    await giving.locator("#gift-message", has_text="已送出 小心心 ×10。").wait_for(timeout=5_000)
    assert await giving.locator("#gift-balance").get_attribute("data-coins") == str(after_one)
    assert await giving.locator("#gift-balance").inner_text() == f"余额：{after_one} 金币 · 0 积分"
    assert await coins_of(stage, sender) == after_one

    # A second click is a new send (a new key), counted into the running combo on every page.
    await giving.click("#gift-send")
    await effect.locator(".gift-effect-combo", has_text="x20").wait_for(timeout=5_000)
    after_two = 100 - heart["price"] * 20
    await wait_until(giving, f"document.querySelector('#gift-balance').dataset.coins === '{after_two}'")
    assert await coins_of(stage, sender) == after_two
    assert [(op["gift_id"], op["count"]) for op in gift_ops] == [(heart["id"], 10), (heart["id"], 10)]
    assert len({op["key"] for op in gift_ops}) == 2

    for page in (giving, watching):
        row = page.locator("#contributors .rank-row", has_text=name)
        await row.locator(".rank-total", has_text="20 金币").wait_for(timeout=5_000)
        assert await row.locator(".rank-no").inner_text() == "1"

    wallet = await giving.context.new_page()
    await wallet.goto("/wallet")
    await wallet.locator("#wallet-coins", has_text=exactly(str(after_two))).wait_for(timeout=5_000)
    await wallet.locator("#wallet-today", has_text="20 / 200,000 金币").wait_for()
    rows = wallet.locator("#history tbody tr")
    await rows.nth(2).wait_for()
    assert await rows.count() == 3  # two gifts, newest first, then the grant
    newest = await rows.nth(0).locator("td").all_inner_texts()
    assert newest[1:] == ["送出礼物", "💗 小心心", "−10 金币", ROOM_TITLE]
    assert await rows.nth(2).locator("td").nth(3).inner_text() == "+100 金币"
    stamp = await rows.nth(0).locator("td").first.get_attribute("title")
    assert stamp is not None
    shown = await wallet.evaluate("iso => new Date(iso).toLocaleString('zh-CN')", stamp)
    assert await rows.nth(0).locator("td").first.inner_text() == shown  # local time, not UTC text


async def test_banner_and_fullscreen_effects(stage: Stage) -> None:
    sender, watcher = await stage.member("土豪"), await stage.member("围观")
    car, rocket = await gift_named(stage, sender, "跑车"), await gift_named(stage, sender, "火箭")
    await fund(stage, sender, car["price"] + rocket["price"] * 10)
    giving, watching = await asyncio.gather(stage.open(sender.email), stage.open(watcher.email))
    name = await giving.evaluate("window.lcRoom.me.name")
    await send_gift(giving, car, 1)
    banner = watching.locator("#gift-layer .gift-effect.banner", has_text=name)
    await banner.wait_for(timeout=5_000)
    assert "跑车" in await banner.inner_text()
    await giving.locator("#gift-message", has_text="已送出 跑车 ×1。").wait_for(timeout=5_000)
    await send_gift(giving, rocket, 10)
    overlay = watching.locator("body > .gift-effect.fullscreen", has_text=name)
    await overlay.wait_for(timeout=10_000)  # after the banner's turn
    assert "火箭" in await overlay.inner_text()
    assert await overlay.locator(".gift-effect-combo").inner_text() == "x10"
    # Today's tipping just passed the reminder threshold (20,000): the sender is reminded once.
    spent = car["price"] + rocket["price"] * 10
    reminder = giving.locator("#gift-message.warn")
    await reminder.wait_for(timeout=5_000)
    assert await reminder.inner_text() == (
        f"已送出 火箭 ×10。 你今天已打赏 {spent} 金币（提醒线 20000），请理性消费。"
    )
    await overlay.wait_for(state="detached", timeout=5_000)  # a short overlay
    assert await coins_of(stage, sender) == 0


async def test_insufficient_balance_explains_and_links_to_top_up(stage: Stage) -> None:
    poor = await stage.member("穷观众")
    await fund(stage, poor, 5)
    flowers = await gift_named(stage, poor, "鲜花")
    assert flowers["price"] > 5
    page = await stage.open(poor.email)
    await send_gift(page, flowers, 1)
    message = page.locator("#gift-message.error")
    await message.wait_for(timeout=5_000)
    assert (await message.inner_text()).startswith("金币余额不足。")
    link = message.locator("a.gift-topup")
    assert await link.inner_text() == "充值金币"
    assert await page.locator("#gift-balance").get_attribute("data-coins") == "5"
    assert await coins_of(stage, poor) == 5
    assert not await page.locator("#gift-send").is_disabled()  # may pick a cheaper gift
    await link.click()
    await page.wait_for_url("**/wallet#topup")
    await page.locator("#wallet-coins", has_text=exactly("5")).wait_for(timeout=5_000)


async def test_minors_are_refused(stage: Stage) -> None:
    minor = await stage.member("少年")
    await fund(stage, minor, 50)
    async with stage.server.db.unit_of_work() as session:
        user = await identity_service.get_user(session, minor.user_id)
        assert user is not None
        user.is_minor = True
    heart = await gift_named(stage, minor, "小心心")
    page = await stage.open(minor.email)
    await send_gift(page, heart, 1)
    await page.locator("#gift-message.error", has_text="未成年人账号不能送礼物。").wait_for(timeout=5_000)
    assert await coins_of(stage, minor) == 50


async def test_sandbox_top_up_credits_the_wallet(stage: Stage) -> None:
    buyer = await stage.member("充值")
    context = await signed_in_context(stage.browser, stage.server.base_url, buyer.email, DEMO_PASSWORD)
    stage.contexts.append(context)
    page = await context.new_page()
    await page.goto("/")
    await page.click("#nav-wallet")  # the header links to the wallet when signed in
    await page.locator("#wallet-coins", has_text=exactly("0")).wait_for(timeout=5_000)
    await page.fill("#topup-coins", "300")
    await page.click("#topup-start")
    await page.locator("#topup-status", has_text="300 金币，¥30.00，等待支付").wait_for(timeout=5_000)
    await page.click("#sandbox-pay")
    await page.locator("#topup-status", has_text="支付成功：300 金币已到账。").wait_for(timeout=10_000)
    await page.locator("#wallet-coins", has_text=exactly("300")).wait_for(timeout=5_000)
    newest = page.locator("#history tbody tr").first
    _when, kind, detail, amount, room = await newest.locator("td").all_inner_texts()
    assert (kind, amount, room) == ("充值", "+300 金币", "")
    assert detail.startswith("充值 #")
    assert await coins_of(stage, buyer) == 300
    # A failed payment credits nothing.
    await page.fill("#topup-coins", "60")
    await page.click("#topup-start")
    await page.locator("#sandbox").wait_for(state="visible")
    await page.click("#sandbox-fail")
    await page.locator("#topup-status", has_text="支付失败，未扣款。").wait_for(timeout=10_000)
    assert await page.locator("#wallet-coins").inner_text() == "300"
    assert await coins_of(stage, buyer) == 300


async def test_gift_panel_speaks_the_viewers_language(stage: Stage) -> None:
    zh = await stage.open()
    english = await new_context(stage.browser, base_url=stage.server.base_url, locale="en-US")
    stage.contexts.append(english)
    en = await english.new_page()
    await en.goto(f"/rooms/{stage.room_id}")
    assert await zh.locator("#gift-button").inner_text() == "🎁 礼物"
    assert await en.locator("#gift-button").inner_text() == "🎁 Gifts"
    assert await zh.locator("#rank-title").inner_text() == "贡献榜"
    assert await en.locator("#rank-title").inner_text() == "Contribution ranking"
    # Anonymous viewers are asked to sign in instead of seeing the catalogue.
    await zh.click("#gift-button")
    assert " ".join((await zh.locator("#gift-signin").inner_text()).split()) == "登录 后即可给主播送礼物。"
    assert await zh.locator("#gift-list").count() == 0


async def test_operators_add_gifts_others_get_403(stage: Stage) -> None:
    operator = await signed_in_context(stage.browser, stage.server.base_url, OPERATOR_EMAIL, DEMO_PASSWORD)
    stage.contexts.append(operator)
    page = await operator.new_page()
    await page.goto("/console")
    await page.click("#console-gifts-link")
    await page.locator("#gift-table tr", has_text="小心心").wait_for()
    form = page.locator("#gift-form")
    name = f"烟花{uuid.uuid4().hex[:4]}"
    await form.locator("[name=icon]").fill("🎆")
    await form.locator("[name=name]").fill(name)
    await form.locator("[name=price]").fill("88")
    await form.locator("[name=effect]").select_option("banner")
    await form.locator("[type=submit]").click()
    row = page.locator("#gift-table tr.added")
    await row.wait_for()
    assert await row.locator("td").all_inner_texts() == ["🎆", name, "88 金币", "顶部横幅", "上架中", "下架"]
    catalogue = (await stage.http.get("/api/v1/gifts", headers=_host(stage))).json()
    assert any(g["name"] == name for g in catalogue)
    mine = page.locator("#gift-table tr", has_text=name)
    await mine.locator(".gift-sale button", has_text="下架").click()
    await page.locator("#gift-table tr", has_text=name).locator("td", has_text="已停用").wait_for()
    catalogue = (await stage.http.get("/api/v1/gifts", headers=_host(stage))).json()
    assert not any(g["name"] == name for g in catalogue)  # off sale: not in the viewers' panel
    await page.locator("#gift-table tr", has_text=name).locator(".gift-sale button", has_text="上架").click()
    await page.locator("#gift-table tr", has_text=name).locator("td", has_text="上架中").wait_for()
    catalogue = (await stage.http.get("/api/v1/gifts", headers=_host(stage))).json()
    assert any(g["name"] == name for g in catalogue)
    # The server applies the API's rules to the form too (here without the browser's checks).
    await form.evaluate("f => { f.noValidate = true; }")
    await form.locator("[name=name]").fill("免费礼物")
    await form.locator("[name=price]").fill("0")
    await form.locator("[type=submit]").click()
    await page.locator("#gift-form-errors", has_text="价格为 1 到 10,000,000 之间的整数。").wait_for()
    assert await page.locator("#gift-table tr", has_text="免费礼物").count() == 0

    member = await stage.member("普通")
    other = await signed_in_context(stage.browser, stage.server.base_url, member.email, DEMO_PASSWORD)
    stage.contexts.append(other)
    refused = await other.new_page()
    response = await refused.goto("/console/gifts")
    assert response is not None
    assert response.status == 403
    assert "只有运营人员可以管理礼物" in await refused.locator(".error-page").inner_text()


def _host(stage: Stage) -> dict[str, str]:
    return {"Authorization": f"Bearer {stage.host_token}"}
