"""Live shopping (直播带货) in a real browser: the operator's product and coupon pages, the host's
shop controls in the console, and what viewers see and do in the room: a pinned card popping
up with its countdown, one-click ordering at the live price, the sandbox payment, /orders, a
flash sale two viewers race for, and a coupon drop claimed and used at checkout.
No media (adapter "none"), SQLite (the ``stage`` fixture): the rules these pages call are tested on
both databases through the API (tests/test_commerce.py, test_flashsale.py)."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page, expect

from livecircle.demo import DEMO_PASSWORD
from tests.e2e.journey import signed_in_context
from tests.e2e.stage import HOST_EMAIL, Stage

pytestmark = pytest.mark.e2e

OPERATOR_EMAIL = "operator@demo.livecircle.local"


def exactly(text: str) -> re.Pattern[str]:
    return re.compile(f"^{re.escape(text)}$")


async def signed_in(stage: Stage, email: str) -> BrowserContext:
    context = await signed_in_context(stage.browser, stage.server.base_url, email, DEMO_PASSWORD)
    stage.contexts.append(context)
    return context


async def token(stage: Stage, email: str) -> dict[str, str]:
    answer = await stage.http.post("/api/v1/auth/token", json={"email": email, "password": DEMO_PASSWORD})
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def api(stage: Stage, method: str, path: str, headers: dict[str, str], **body: Any) -> Any:
    answer = await stage.http.request(method, path, headers=headers, json=body or None)
    assert answer.status_code < 300, answer.text
    return answer.json() if answer.content else None


async def live_show(stage: Stage) -> int:
    """Go live; the show that sells."""
    await stage.go_live()
    room = await api(stage, "GET", f"/api/v1/rooms/{stage.room_id}/state", await token(stage, HOST_EMAIL))
    show_id: int = room["show"]["id"]
    return show_id


async def product_in_show(
    stage: Stage, show_id: int, *, price: int, live_price: int | None = None
) -> dict[str, Any]:
    """A product with one SKU (set up through the API), on sale in the show."""
    operator = await token(stage, OPERATOR_EMAIL)
    name = f"桂花乌龙{uuid.uuid4().hex[:4]}"
    sku = {"name": "礼盒装", "price_cents": price, "stock": 50}
    product = await api(stage, "POST", "/api/v1/products", operator, name=name, skus=[sku])
    prices = [{"sku_id": product["skus"][0]["id"], "live_price_cents": live_price}]
    host = await token(stage, HOST_EMAIL)
    await api(
        stage, "PUT", f"/api/v1/shows/{show_id}/products", host, product_id=product["id"], prices=prices
    )
    return dict(product)


async def host_console(stage: Stage) -> Page:
    page = await (await signed_in(stage, HOST_EMAIL)).new_page()
    await page.goto(f"/console/rooms/{stage.room_id}")
    await page.locator("#shop-console").wait_for()
    return page


async def test_pinned_card_counts_down_then_sells_at_the_live_price(stage: Stage) -> None:
    # The operator creates a product with one SKU on /console/products.
    operator = await (await signed_in(stage, OPERATOR_EMAIL)).new_page()
    await operator.goto("/console")
    await operator.click("#console-products-link")
    name = f"明前龙井{uuid.uuid4().hex[:4]}"
    form = operator.locator("#product-form")
    await form.locator("[name=name]").fill(name)
    await form.locator("[name=description]").fill("今年春茶，直播间专属价")
    await form.locator("[name=sku_name]").first.fill("250g")
    await form.locator("[name=sku_price]").first.fill("99.00")
    await form.locator("[name=sku_stock]").first.fill("20")
    await form.locator("[type=submit]").click()
    row = operator.locator("#product-table tr.added")
    await expect(row.locator(".product-name")).to_have_text(name)
    await expect(row.locator(".sku-price")).to_have_text("¥99.00")
    await expect(row.locator(".sku-stock")).to_have_text("库存 20")

    # The host puts it in the live show at ¥69.00 and pins it with a 5 s countdown.
    show_id = await live_show(stage)
    viewer = await stage.member("买家")
    room = await stage.open(viewer.email)
    host = await host_console(stage)
    await host.locator("#attach-product").select_option(label=name)
    await host.locator(".attach-live-price").fill("69.00")
    await host.click("#attach-submit")
    in_show = host.locator("#show-products tr", has_text=name)
    await expect(in_show.locator(".offer-line")).to_contain_text("¥69.00 直播专属价 ¥99.00")
    assert await room.locator("#shop-cards .shop-card").count() == 0
    await host.locator("#pin-countdown").select_option("5")
    await in_show.locator(".pin-product").click()
    pinned_at = time.monotonic()
    await expect(host.locator("#pinned-cards li", has_text=name)).to_be_visible()

    # The card pops up on the viewer's page without a reload, buying closed during the countdown.
    card = room.locator("#shop-cards .shop-card", has_text=name)
    await expect(card).to_be_visible(timeout=5_000)
    await expect(card.locator(".shop-countdown")).to_have_text(re.compile(r"^开抢倒计时 [1-5]s$"))
    await expect(card.locator(".shop-buy")).to_be_disabled()
    await expect(card.locator(".shop-price")).to_contain_text("¥69.00直播专属价¥99.00")
    await expect(card.locator(".shop-buy")).to_be_enabled(timeout=8_000)
    assert time.monotonic() - pinned_at > 3.5  # opened by the countdown, not at once
    await expect(card.locator(".shop-countdown")).to_be_hidden()

    # One click, the live price, the sandbox payment.
    await card.locator(".shop-buy").click()
    sheet = room.locator("#checkout")
    await expect(sheet.locator("#checkout-title")).to_have_text(name)
    await expect(sheet.locator(".sku-option[aria-pressed=true]")).to_contain_text("250g")
    await expect(sheet.locator("#checkout-total")).to_have_text("¥69.00")
    await sheet.locator("#checkout-submit").click()
    await expect(sheet.locator("#checkout-order")).to_contain_text("待支付 ¥69.00")
    await expect(sheet.locator("#checkout-order .live-badge")).to_have_text("直播专属价")
    await expect(sheet.locator("#checkout-pay")).to_contain_text("沙箱支付")
    await sheet.locator("#checkout-pay-success").click()
    await expect(sheet.locator("#checkout-result")).to_contain_text("已支付", timeout=10_000)

    # My orders: paid, at the live price.
    await sheet.locator("#checkout-result a").click()
    await room.wait_for_url("**/orders")
    order = room.locator("#order-table tbody tr").first
    await expect(order.locator(".order-status")).to_have_text("已支付")
    await expect(order.locator(".order-total")).to_have_text("¥69.00")
    await expect(order.locator(".live-badge")).to_have_text("直播专属价")
    await expect(order).to_contain_text(f"{name} · 250g")
    orders = await api(stage, "GET", "/api/v1/orders", viewer.headers)
    assert [(o["status"], o["total_cents"], o["live_price"], o["show_id"]) for o in orders] == [
        ("paid", 6900, True, show_id)
    ]

    # The host's funnel counts the viewer's steps.
    await host.click("#funnel-refresh")
    for step in ("impression", "click", "add", "order", "pay"):
        await expect(host.locator(f".funnel-step[data-step={step}] strong")).to_have_text("1")
    await expect(host.locator("#funnel-click-to-order strong")).to_have_text("100.0%")
    await expect(host.locator("#funnel-payment-success strong")).to_have_text("100.0%")
    await expect(host.locator("#show-orders tbody tr")).to_have_count(1)


async def test_flash_sale_of_one_unit_two_viewers_race(stage: Stage) -> None:
    show_id = await live_show(stage)
    product = await product_in_show(stage, show_id, price=9900)
    first, second = await stage.member("抢购甲"), await stage.member("抢购乙")
    pages = list(await asyncio.gather(stage.open(first.email), stage.open(second.email)))
    host = await host_console(stage)
    sku_id = product["skus"][0]["id"]
    await host.locator("#flash-sku").select_option(str(sku_id))
    await host.locator("#flash-price").fill("9.90")
    await host.locator("#flash-stock").fill("1")
    await host.locator("#flash-limit").fill("1")
    await host.locator("#flash-duration").fill("120")
    await host.click("#flash-submit")
    await expect(host.locator("#flash-message")).to_have_text("秒杀开始了，所有观众都能看到。")

    for page in pages:
        banner = page.locator("#flash-sales .flash-sale")
        await expect(banner).to_be_visible(timeout=5_000)
        await expect(banner.locator(".flash-name")).to_have_text(f"{product['name']} · 礼盒装")
        await expect(banner.locator(".flash-price-now")).to_have_text("¥9.90")
        await expect(banner.locator(".flash-stock")).to_have_text("剩余 1 / 1 件")
        await expect(banner.locator(".flash-countdown")).to_have_text(re.compile(r"^距结束 [12]:\d\d$"))
        await banner.locator(".flash-buy").click()
        await expect(page.locator("#checkout-flash")).to_have_text("秒杀价不可使用优惠券，每人限购 1 件。")
        await expect(page.locator("#checkout-total")).to_have_text("¥9.90")

    # Both press "place order" at once: one gets the unit, the other is told it is gone.
    await asyncio.gather(*(page.locator("#checkout-submit").click() for page in pages))
    outcomes = []
    for page in pages:
        won = page.locator("#checkout-order:visible")
        lost = page.locator("#checkout-message:visible", has_text="手慢了，秒杀商品已被抢光。")
        await expect(won.or_(lost)).to_be_visible(timeout=10_000)
        outcomes.append(await won.is_visible())
    assert sorted(outcomes) == [False, True]
    winner, loser = (pages[0], pages[1]) if outcomes[0] else (pages[1], pages[0])
    await expect(winner.locator("#checkout-order")).to_contain_text("待支付 ¥9.90")
    await expect(loser.locator("#checkout-submit")).to_be_disabled()
    for page in pages:
        banner = page.locator("#flash-sales .flash-sale")
        await expect(banner.locator(".flash-stock")).to_have_text("剩余 0 / 1 件", timeout=5_000)
        await expect(banner.locator(".flash-buy")).to_have_text("已抢光")
        await expect(banner.locator(".flash-buy")).to_be_disabled()
    sold = await api(stage, "GET", f"/api/v1/shows/{show_id}/orders", await token(stage, HOST_EMAIL))
    assert [(o["flash_sale_id"] is not None, o["total_cents"]) for o in sold] == [(True, 990)]

    # The host ends the sale early; the winner pays later, from My orders.
    await host.locator("#flash-table tr[data-sale-id] .end-sale").click()
    await expect(host.locator("#flash-message")).to_have_text("秒杀已结束。")
    await expect(host.locator("#flash-table tr[data-sale-id] .flash-status")).to_have_text("已结束")
    await winner.goto("/orders")
    row = winner.locator("#order-table tbody tr").first
    await expect(row.locator(".order-status")).to_have_text("待支付")
    await expect(row.locator(".flash-badge")).to_have_text("限时秒杀")
    await row.locator(".order-pay").click()
    await expect(winner.locator("#order-sandbox-title")).to_have_text(f"订单 #{sold[0]['id']} · ¥9.90")
    await winner.click("#order-pay-success")
    await expect(winner.locator("#orders-message")).to_have_text(
        f"订单 #{sold[0]['id']} 已支付。", timeout=10_000
    )
    await expect(row.locator(".order-status")).to_have_text("已支付")


async def test_coupon_drop_is_claimed_and_applied_at_checkout(stage: Stage) -> None:
    show_id = await live_show(stage)
    product = await product_in_show(stage, show_id, price=10000)
    # The operator creates an in-show coupon on /console/coupons.
    operator = await (await signed_in(stage, OPERATOR_EMAIL)).new_page()
    await operator.goto("/console/coupons")
    coupon = f"尝鲜券{uuid.uuid4().hex[:4]}"
    form = operator.locator("#coupon-form")
    await form.locator("[name=name]").fill(coupon)
    await form.locator("[name=kind]").select_option("fixed")
    await form.locator("[name=amount_off]").fill("20")
    await form.locator("[name=min_spend]").fill("50")
    await form.locator("[name=channel]").select_option("drop")
    await form.locator("[name=total]").fill("10")
    await form.locator("[type=submit]").click()
    template = operator.locator("#coupon-template-table tr.added")
    await expect(template).to_contain_text(coupon)
    await expect(template).to_contain_text("立减 ¥20.00")
    await expect(template.locator(".coupon-issued")).to_contain_text("0 / 10")

    host = await host_console(stage)
    await host.locator("#show-products tr", has_text=product["name"]).locator(".pin-product").click()
    await expect(host.locator("#pinned-cards li", has_text=product["name"])).to_contain_text("已开抢")
    # A viewer joining after the card was pinned sees it too (countdown 0: open at once).
    viewer = await stage.member("领券")
    room = await stage.open(viewer.email)
    card = room.locator("#shop-cards .shop-card", has_text=product["name"])
    await expect(card.locator(".shop-buy")).to_be_enabled(timeout=5_000)

    # The drop pops up as a toast; the viewer claims it.
    await host.locator("#drop-template").select_option(label=coupon)
    await host.click("#drop-submit")
    await expect(host.locator("#drop-message")).to_have_text("已发券，观众现在可以领取了。")
    toast = room.locator("#coupon-drop")
    await expect(toast).to_be_visible(timeout=5_000)
    await expect(toast.locator("#coupon-drop-name")).to_have_text(coupon)
    await expect(toast.locator("#coupon-drop-value")).to_have_text("立减 ¥20.00")
    await expect(toast.locator("#coupon-drop-rule")).to_have_text("满 ¥50.00 可用")
    await expect(toast.locator("#coupon-drop-left")).to_have_text("剩余 10 张")
    await toast.locator("#coupon-claim").click()
    await expect(toast.locator("#coupon-drop-message")).to_have_text("领取成功！下单时即可使用。")

    # At checkout the coupon takes ¥20.00 off the ¥100.00 subtotal.
    await card.locator(".shop-buy").click()
    await expect(room.locator("#checkout-total")).to_have_text("¥100.00")
    await room.locator("#checkout-coupon").select_option(label=f"{coupon} · 立减 ¥20.00 · 满 ¥50.00 可用")
    await expect(room.locator("#checkout-discount")).to_have_text("−¥20.00")
    await expect(room.locator("#checkout-total")).to_have_text("¥80.00")
    await room.click("#checkout-submit")
    await expect(room.locator("#checkout-order")).to_contain_text("待支付 ¥80.00")
    orders = await api(stage, "GET", "/api/v1/orders", viewer.headers)
    assert [(o["subtotal_cents"], o["discount_cents"], o["total_cents"]) for o in orders] == [
        (10000, 2000, 8000)
    ]
    mine = await api(stage, "GET", "/api/v1/coupons", viewer.headers)
    assert [(c["name"], c["state"], c["order_id"]) for c in mine] == [(coupon, "used", orders[0]["id"])]

    # Cancelling the unpaid order in My orders gives the coupon back.
    await room.goto("/orders")
    row = room.locator("#order-table tbody tr").first
    await expect(row).to_contain_text("优惠券 −¥20.00")
    await expect(
        room.locator("#coupon-table tbody tr", has_text=coupon).locator(".coupon-state")
    ).to_have_text("已使用")
    await row.locator(".order-cancel").click()
    await expect(row.locator(".order-status")).to_have_text("已取消")
    await expect(row).to_contain_text("你已取消")
    await expect(
        room.locator("#coupon-table tbody tr", has_text=coupon).locator(".coupon-state")
    ).to_have_text("可使用")


async def test_at_most_three_cards_and_unpinning_reaches_viewers(stage: Stage) -> None:
    show_id = await live_show(stage)
    products = [await product_in_show(stage, show_id, price=1000 * (n + 1)) for n in range(4)]
    room = await stage.open()  # anonymous viewers see the cards too
    host = await host_console(stage)
    for product in products[:3]:
        await host.locator("#show-products tr", has_text=product["name"]).locator(".pin-product").click()
        await expect(host.locator("#pinned-cards li", has_text=product["name"])).to_be_visible()
    await expect(host.locator("#pin-count")).to_have_text("3 / 3")
    await expect(room.locator("#shop-cards .shop-card")).to_have_count(3, timeout=5_000)

    fourth = host.locator("#show-products tr", has_text=products[3]["name"])
    await fourth.locator(".pin-product").click()
    await expect(host.locator("#pin-message")).to_have_text("最多同时置顶 3 个商品，请先取消一个。")
    await expect(host.locator("#pinned-cards li")).to_have_count(3)

    await host.locator("#pinned-cards li", has_text=products[0]["name"]).locator(".unpin-card").click()
    await expect(room.locator("#shop-cards .shop-card", has_text=products[0]["name"])).to_have_count(
        0, timeout=5_000
    )
    await fourth.locator(".pin-product").click()
    await expect(room.locator("#shop-cards .shop-card", has_text=products[3]["name"])).to_be_visible(
        timeout=5_000
    )
    await expect(room.locator("#shop-cards .shop-card")).to_have_count(3)
    # Without an account, buying asks to sign in.
    await room.locator("#shop-cards .shop-card", has_text=products[3]["name"]).locator(".shop-buy").click()
    await expect(room.locator("#checkout-signin")).to_contain_text("登录")
    await expect(room.locator("#checkout-submit")).to_be_hidden()


async def test_operator_restocks_disables_and_issues_coupons(stage: Stage) -> None:
    operator = await (await signed_in(stage, OPERATOR_EMAIL)).new_page()
    await operator.goto("/console/products")
    name = f"紫砂壶{uuid.uuid4().hex[:4]}"
    form = operator.locator("#product-form")
    await form.locator("[name=name]").fill(name)
    for n, (sku, price, stock) in enumerate([("小号", "188", "2"), ("大号", "288.50", "0")]):
        await form.locator("[name=sku_name]").nth(n).fill(sku)
        await form.locator("[name=sku_price]").nth(n).fill(price)
        await form.locator("[name=sku_stock]").nth(n).fill(stock)
    await form.locator("[type=submit]").click()
    product = operator.locator("#product-table tr.added")
    await expect(product.locator(".product-name")).to_have_text(name)
    big = product.locator("tr[data-sku-id]", has_text="大号")
    await expect(big.locator(".sku-price")).to_have_text("¥288.50")
    await expect(big.locator(".sku-stock")).to_have_text("库存 0")

    # Restock by +30 at a new price; removing more than is left is refused.
    await big.locator("[name=price]").fill("268")
    await big.locator("[name=stock_delta]").fill("30")
    await big.locator("[type=submit]").click()
    big = operator.locator("#product-table tr.added tr[data-sku-id]", has_text="大号")
    await expect(big.locator(".sku-stock")).to_have_text("库存 30")
    await expect(big.locator(".sku-price")).to_have_text("¥268.00")
    await big.locator("[name=stock_delta]").fill("-31")
    await big.locator("[type=submit]").click()
    await expect(operator.locator("#product-error")).to_have_text("减少的数量不能超过剩余库存。")
    row = operator.locator(f"#product-table tr[data-product-id]:has(.product-name:text-is('{name}'))")
    await expect(row.locator("tr[data-sku-id]", has_text="大号").locator(".sku-stock")).to_have_text(
        "库存 30"
    )

    # Off sale: no longer orderable.
    await row.locator(".product-sale button").click()
    await expect(row.locator(".product-sale button")).to_have_text("上架")
    products = await api(stage, "GET", "/api/v1/products", await token(stage, OPERATOR_EMAIL))
    assert next(p for p in products if p["name"] == name)["enabled"] is False

    # A hand-issued coupon reaches the member's coupon list; a second one is over the limit.
    member = await stage.member("老客")
    await operator.goto("/console/coupons")
    coupon = f"老客回馈{uuid.uuid4().hex[:4]}"
    form = operator.locator("#coupon-form")
    await form.locator("[name=name]").fill(coupon)
    await form.locator("[name=kind]").select_option("percent")
    await form.locator("[name=percent_off]").fill("15")
    await form.locator("[name=channel]").select_option("manual")
    await form.locator("[type=submit]").click()
    template = operator.locator("#coupon-template-table tr.added")
    await expect(template).to_contain_text("8.5折")
    await template.locator("[name=user_id]").fill(str(member.user_id))
    await template.locator(".coupon-issue button").click()
    await expect(operator.locator("#coupon-issued")).to_contain_text(f"已发放给用户 #{member.user_id}")
    mine = await api(stage, "GET", "/api/v1/coupons", member.headers)
    assert [(c["name"], c["percent_off"], c["source"]) for c in mine] == [(coupon, 15, "manual")]
    template = operator.locator("#coupon-template-table tr", has_text=coupon)
    await template.locator("[name=user_id]").fill(str(member.user_id))
    await template.locator(".coupon-issue button").click()
    await expect(operator.locator("#coupon-error")).to_have_text("该成员持有这张券的数量已达每人上限。")
