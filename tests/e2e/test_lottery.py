"""A lottery in a real browser: the host launches one from the console (a physical prize, the
keyword rule, drawn by hand), a viewer says the keyword in chat and joins, the host draws, the
viewer is told they won and gives an address, the host marks it shipped, and the audit page shows
the seed and the winner. No media (adapter "none")."""

from __future__ import annotations

import hashlib
import re

import pytest
from playwright.async_api import Dialog, Page, expect

from livecircle.demo import DEMO_PASSWORD
from tests.e2e.journey import signed_in_context
from tests.e2e.stage import HOST_EMAIL, Stage

pytestmark = pytest.mark.e2e

TITLE = "粉丝福利：保温杯"
KEYWORD = "我要保温杯"


async def host_console(stage: Stage) -> Page:
    context = await signed_in_context(stage.browser, stage.server.base_url, HOST_EMAIL, DEMO_PASSWORD)
    stage.contexts.append(context)
    page = await context.new_page()
    page.on("dialog", accept)
    await page.goto(f"/console/rooms/{stage.room_id}")
    await page.locator("#lottery-prizes .prize-row").first.wait_for()
    return page


async def accept(dialog: Dialog) -> None:
    await dialog.accept()


async def launch_lottery(host: Page) -> None:
    await host.locator("#lottery-title").fill(TITLE)
    prize = host.locator("#lottery-prizes .prize-row").first
    await prize.locator(".prize-kind").select_option("physical")
    await expect(prize.locator(".prize-amount")).to_be_hidden()
    await prize.locator(".prize-name").fill("保温杯")
    await prize.locator(".prize-quantity").fill("1")
    await host.locator("#rule-keyword-value").fill(KEYWORD)
    await expect(host.locator("#rule-keyword")).to_be_checked()  # typing the keyword ticks the rule
    await host.locator("#lottery-draw-hand").check()
    await host.click("#lottery-launch")
    await expect(host.locator("#lottery-form-message")).to_have_text("抽奖已发起，所有观众都能看到。")


async def test_a_viewer_says_the_keyword_joins_and_wins(stage: Stage) -> None:
    await stage.go_live()
    viewer = await stage.member("抽奖")
    room = await stage.open(viewer.email)
    host = await host_console(stage)
    await launch_lottery(host)

    # The card: prize, the rule in words, the seed's hash (full in its title), drawn by hand.
    card = room.locator(".lottery-card", has_text=TITLE)
    await expect(card).to_be_visible(timeout=5_000)
    await expect(card.locator(".lottery-prize")).to_have_text("保温杯 ×1 · 实物，包邮到家")
    await expect(card.locator('.lottery-rule[data-rule="keyword"]')).to_contain_text(f"发送弹幕“{KEYWORD}”")
    await expect(card.locator(".lottery-countdown")).to_have_text("主播手动开奖")
    seed_hash = await card.locator(".lottery-seed-hash").get_attribute("title")
    assert seed_hash
    assert re.fullmatch(r"[0-9a-f]{64}", seed_hash)

    # The viewer says the keyword in chat, then joins: their code, and every rule met.
    await card.locator(".lottery-say").click()
    await expect(room.locator("#chat-input")).to_have_value(KEYWORD)
    await room.click("#chat-send")
    await expect(room.locator("#chat-list .chat-line", has_text=KEYWORD)).to_be_visible()
    await card.locator(".lottery-join").click()
    await expect(card.locator(".lottery-code")).to_have_text(f"已参与！你的抽奖码：u{viewer.user_id}")
    await expect(card.locator(".lottery-ready")).to_have_text("你已满足全部条件，祝你好运！", timeout=8_000)
    await expect(card.locator('.lottery-rule[data-rule="keyword"]')).to_have_class(re.compile(r"\bmet\b"))

    # The host draws by hand: the viewer won, and gives an address for the physical prize.
    item = host.locator("#lottery-list .lottery-item", has_text=TITLE)
    await expect(item.locator(".lottery-state")).to_contain_text("1 人参与", timeout=8_000)
    await item.locator(".lottery-draw-now").click()
    await expect(host.locator("#lottery-list-message")).to_have_text("已开奖，中奖名单已推送给所有观众。")
    await expect(card.locator(".lottery-won-title")).to_have_text("🎉 恭喜你抽中 保温杯！", timeout=5_000)
    await expect(card.locator(".lottery-winner")).to_have_text(f"u{viewer.user_id} 保温杯")
    form = card.locator(".lottery-address-form")
    await form.locator("[name=name]").fill("林小雨")
    await form.locator("[name=phone]").fill("13800138000")
    await form.locator("[name=address]").fill("杭州市西湖区文三路 100 号")
    await form.locator(".lottery-address-send").click()
    await expect(card.locator(".lottery-won-status")).to_have_text("收货信息已提交，主播会尽快寄出。")

    # The host sees the address and marks the prize shipped.
    winner = host.locator(".lottery-winner-row", has_text=f"u{viewer.user_id}")
    await expect(winner.locator(".winner-address")).to_contain_text("林小雨", timeout=8_000)
    await winner.locator(".ship-note").fill("SF1234567890")
    await winner.locator(".lottery-ship").click()
    await expect(winner.locator(".winner-status")).to_contain_text("已发货", timeout=8_000)

    # The audit page: the seed matches the hash shown at the opening; the winner and the list.
    lottery_id = await card.get_attribute("data-lottery-id")
    audit_link = card.locator(".lottery-audit-link")
    await expect(audit_link).to_have_attribute("href", f"/lotteries/{lottery_id}/audit")
    audit = await room.context.new_page()
    await audit.goto(f"/lotteries/{lottery_id}/audit")
    await expect(audit.locator("h1")).to_contain_text("开奖公示")
    await expect(audit.locator("#audit-seed-hash")).to_have_text(seed_hash)
    seed = (await audit.locator("#audit-seed").inner_text()).strip()
    assert hashlib.sha256(bytes.fromhex(seed)).hexdigest() == seed_hash
    await expect(audit.locator("#audit-winners tbody tr")).to_have_count(1)
    await expect(audit.locator("#audit-winners")).to_contain_text(f"u{viewer.user_id}")
    await expect(audit.locator("#audit-tickets li.won")).to_have_text(f"u{viewer.user_id}")
    await expect(audit.locator("#audit-command")).to_have_text(
        f"python lottery_verify.py {stage.server.base_url}/api/v1/lotteries/{lottery_id}/audit"
    )
