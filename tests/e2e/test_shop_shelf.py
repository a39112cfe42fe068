"""The room's shelf (小黄车) in a real browser: a viewer in a live room opens it, sees every
product of the show (the pinned one marked as on screen, and one never pinned), claims a
member-only coupon there, buys the unpinned product through the same checkout with the coupon
and the sandbox payment, finds the coupon claimed on My orders, and the operator ships the
order on /console/orders. No media, SQLite (the ``stage`` fixture); the rules are tested on
both databases through the API (tests/test_commerce_pages.py)."""

from __future__ import annotations

import uuid

import pytest
from playwright.async_api import expect

from livecircle.economy import tiers
from livecircle.identity import service as identity_service
from tests.e2e.stage import HOST_EMAIL, Stage
from tests.e2e.test_shop import OPERATOR_EMAIL, api, live_show, product_in_show, signed_in, token

pytestmark = pytest.mark.e2e


async def make_premium(stage: Stage, user_id: int) -> None:
    """Level 6: the tier whose privileges include exclusive discounts (member-only coupons)."""
    async with stage.server.db.unit_of_work() as session:
        tenant = await identity_service.get_tenant_by_slug(session, stage.server.settings.default_tenant)
        await tiers.do_add_xp(session, tenant_id=tenant.id, user_id=user_id, points=515)


async def test_a_viewer_buys_an_unpinned_product_from_the_shelf_and_the_operator_ships_it(
    stage: Stage,
) -> None:
    show_id = await live_show(stage)
    pinned = await product_in_show(stage, show_id, price=3900)
    shelved = await product_in_show(stage, show_id, price=7900, live_price=5900)
    host = await token(stage, HOST_EMAIL)
    await api(stage, "POST", f"/api/v1/shows/{show_id}/pins", host, product_id=pinned["id"])
    operator = await token(stage, OPERATOR_EMAIL)
    coupon = f"会员立减{uuid.uuid4().hex[:4]}"
    member_only = {"kind": "fixed", "amount_off_cents": 1000, "channel": "member", "total": 5}
    await api(stage, "POST", "/api/v1/coupon-templates", operator, name=coupon, **member_only)
    viewer = await stage.member("会员买家")
    await make_premium(stage, viewer.user_id)
    room = await stage.open(viewer.email)

    # The shelf lists both products of the show, the pinned one marked as on screen.
    await expect(room.locator("#shelf-count")).to_have_text("2", timeout=5_000)
    await room.click("#shelf-button")
    shelf = room.locator("#shelf")
    await expect(shelf.locator(".shelf-item")).to_have_count(2)
    on_screen = shelf.locator(".shelf-item", has_text=pinned["name"])
    await expect(on_screen.locator(".shelf-on-screen")).to_be_visible()
    item = shelf.locator(".shelf-item", has_text=shelved["name"])
    await expect(item.locator(".shelf-on-screen")).to_be_hidden()
    await expect(item.locator(".shop-price")).to_contain_text("¥59.00直播专属价¥79.00")
    await expect(room.locator("#shop-cards .shop-card", has_text=shelved["name"])).to_have_count(0)

    # The member-only coupon: this viewer's tier qualifies, so it can be claimed here.
    offer = shelf.locator(".shelf-coupon", has_text=coupon)
    await expect(offer.locator(".shelf-coupon-value")).to_have_text("立减 ¥10.00")
    await offer.locator(".shelf-claim").click()
    await expect(shelf.locator("#shelf-coupon-message")).to_have_text("领取成功！下单时即可使用。")
    await expect(offer.locator(".shelf-claim")).to_have_text("已领取")
    await expect(offer.locator(".shelf-claim")).to_be_disabled()

    # Buy opens the same checkout as a pinned card: live price, the coupon, the sandbox.
    await item.locator(".shelf-buy").click()
    await expect(shelf).to_be_hidden()
    sheet = room.locator("#checkout")
    await expect(sheet.locator("#checkout-title")).to_have_text(shelved["name"])
    await expect(sheet.locator(".sku-option[aria-pressed=true]")).to_contain_text("礼盒装")
    await expect(sheet.locator("#checkout-total")).to_have_text("¥59.00")
    await sheet.locator("#checkout-coupon").select_option(label=f"{coupon} · 立减 ¥10.00 · 无门槛")
    await expect(sheet.locator("#checkout-total")).to_have_text("¥49.00")
    await sheet.locator("#checkout-submit").click()
    await expect(sheet.locator("#checkout-order")).to_contain_text("待支付 ¥49.00")
    await sheet.locator("#checkout-pay-success").click()
    await expect(sheet.locator("#checkout-result")).to_contain_text("已支付", timeout=10_000)
    orders = await api(stage, "GET", "/api/v1/orders", viewer.headers)
    summary = [
        (o["status"], o["product_id"], o["total_cents"], o["live_price"], o["show_id"]) for o in orders
    ]
    assert summary == [("paid", shelved["id"], 4900, True, show_id)]

    # My orders: the member coupon is held now, so it cannot be claimed twice.
    await sheet.locator("#checkout-result a").click()
    await room.wait_for_url("**/orders")
    held = room.locator("#claimable-list .claimable-coupon", has_text=coupon)
    await expect(held.locator(".claimable-claim")).to_have_text("已领取")
    await expect(held.locator(".claimable-claim")).to_be_disabled()
    await expect(
        room.locator("#coupon-table tbody tr", has_text=coupon).locator(".coupon-state")
    ).to_have_text("已使用")

    # The operator ships it on /console/orders.
    console = await (await signed_in(stage, OPERATOR_EMAIL)).new_page()
    await console.goto("/console")
    await console.click("#console-orders-link")
    await console.locator("#order-filter [data-status=paid]").click()
    row = console.locator(f"#order-{orders[0]['id']}")
    await expect(row.locator(".order-status")).to_have_text("已支付")
    await expect(row.locator(".order-buyer")).to_have_text(f"用户 #{viewer.user_id}")
    await row.locator(".order-fulfil button").click()
    await expect(console.locator("#order-done")).to_contain_text(f"订单 #{orders[0]['id']} 已标记为发货")
    await expect(console.locator(f"#order-{orders[0]['id']}")).to_have_count(0)  # no longer "paid"
    await console.locator("#order-filter a").first.click()
    await expect(console.locator(f"#order-{orders[0]['id']} .order-status")).to_have_text("已发货")
    shipped = await api(stage, "GET", f"/api/v1/orders/{orders[0]['id']}", viewer.headers)
    assert shipped["status"] == "fulfilled"
