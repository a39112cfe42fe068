"""Live commerce over the real API, on SQLite and PostgreSQL: products in a show at live
prices, pinned cards, orders and their idempotency, coupons, payments through the sandbox
provider's signed callbacks, cancel and refund, the funnel."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select

from livecircle.commerce.lifecycle import timeout_key
from livecircle.identity.schemas import Role
from livecircle.kit.tracking import AnalyticsEvent
from tests.commerce_kit import open_shop, order, run_job_now, sku_stock
from tests.conftest import Account, RunningServer, make_account
from tests.test_points import grant_points
from tests.test_realtime import next_event, room_socket


async def wait_for(
    client: httpx.AsyncClient, account: Account, order_id: int, status: str
) -> dict[str, object]:
    for _ in range(100):
        body = (await client.get(f"/api/v1/orders/{order_id}", headers=account.headers)).json()
        if body["status"] == status:
            return dict(body)
        await asyncio.sleep(0.05)
    raise AssertionError(f"order {order_id} never became {status}: {body}")


async def test_a_show_sells_at_its_live_price_and_orders_are_idempotent(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account
) -> None:
    shop = await open_shop(server, client, stock=5)
    sku = shop.skus[0]["id"]
    listed = (await client.get(f"/api/v1/shows/{shop.show_id}/products")).json()  # anonymous viewers too
    offer = listed[0]["offers"][0]
    assert (offer["price_cents"], offer["list_price_cents"], offer["live_price"]) == (6900, 9900, True)

    key = str(uuid.uuid4())
    first = await order(client, viewer, key=key, sku_id=sku, quantity=2, show_id=shop.show_id)
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["unit_price_cents"], body["total_cents"], body["live_price"]) == (6900, 13800, True)
    assert await sku_stock(client, shop) == 3

    replay = await order(client, viewer, key=key, sku_id=sku, quantity=2, show_id=shop.show_id)
    assert replay.status_code == 200
    assert replay.content == first.content
    reused = await order(client, viewer, key=key, sku_id=sku, quantity=1, show_id=shop.show_id)
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"
    assert await sku_stock(client, shop) == 3

    too_many = await order(client, viewer, sku_id=sku, quantity=4, show_id=shop.show_id)
    assert too_many.status_code == 409
    assert too_many.json()["code"] == "sold_out"
    elsewhere = await client.post(
        "/api/v1/products",
        json={"name": "未上架商品", "skus": [{"name": "默认", "price_cents": 100, "stock": 5}]},
        headers=shop.operator.headers,
    )
    outside = await order(client, viewer, sku_id=elsewhere.json()["skus"][0]["id"], show_id=shop.show_id)
    assert outside.status_code == 409
    assert outside.json()["code"] == "not_on_sale"
    list_price = await order(client, viewer, sku_id=shop.skus[1]["id"], show_id=shop.show_id)
    assert list_price.json()["unit_price_cents"] == 19800  # attached without a live price
    no_key = await client.post("/api/v1/orders", json={"sku_id": sku}, headers=viewer.headers)
    assert no_key.status_code == 400
    assert no_key.json()["code"] == "idempotency_key_invalid"
    bad = await order(client, viewer, sku_id=sku, quantity=0)
    assert bad.status_code == 422
    mine = (await client.get("/api/v1/orders", headers=viewer.headers)).json()
    assert [o["id"] for o in mine] == [list_price.json()["id"], body["id"]]


async def test_pinned_cards_open_after_their_countdown_and_at_most_three_show(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account
) -> None:
    shop = await open_shop(server, client)
    pin = await client.post(
        f"/api/v1/shows/{shop.show_id}/pins",
        json={"product_id": shop.product_id, "countdown_s": 30},
        headers=shop.host.headers,
    )
    assert pin.status_code == 201, pin.text
    card = pin.json()
    assert card["countdown_s"] == 30
    assert card["skus"][0]["price_cents"] == 6900
    early = await order(client, viewer, sku_id=shop.skus[0]["id"], pin_id=card["pin_id"])
    assert early.status_code == 409
    assert early.json()["code"] == "card_not_open"

    by_viewer = await client.post(
        f"/api/v1/shows/{shop.show_id}/pins", json={"product_id": shop.product_id}, headers=viewer.headers
    )
    assert by_viewer.status_code == 403
    for _ in range(2):
        more = await client.post(
            f"/api/v1/shows/{shop.show_id}/pins",
            json={"product_id": shop.product_id},
            headers=shop.host.headers,
        )
        assert more.status_code == 201
    fourth = await client.post(
        f"/api/v1/shows/{shop.show_id}/pins", json={"product_id": shop.product_id}, headers=shop.host.headers
    )
    assert fourth.status_code == 409
    assert fourth.json()["code"] == "too_many_pins"
    assert len((await client.get(f"/api/v1/shows/{shop.show_id}/pins")).json()) == 3
    async with server.db.sessionmaker() as session:  # what the report names the pin by
        pinned = await session.scalars(
            select(AnalyticsEvent.props).where(
                AnalyticsEvent.show_id == shop.show_id, AnalyticsEvent.type == "product_pinned"
            )
        )
        assert [p["product_id"] for p in pinned] == [shop.product_id] * 3

    gone = await client.delete(
        f"/api/v1/shows/{shop.show_id}/pins/{card['pin_id']}", headers=shop.host.headers
    )
    assert gone.status_code == 204
    unpinned = await order(client, viewer, sku_id=shop.skus[0]["id"], pin_id=card["pin_id"])
    assert unpinned.status_code == 409
    assert unpinned.json()["code"] == "not_on_sale"
    open_card = (await client.get(f"/api/v1/shows/{shop.show_id}/pins")).json()[0]
    bought = await order(client, viewer, sku_id=shop.skus[0]["id"], pin_id=open_card["pin_id"])
    assert bought.status_code == 201
    assert bought.json()["show_id"] == shop.show_id
    bad_countdown = await client.post(
        f"/api/v1/shows/{shop.show_id}/pins",
        json={"product_id": shop.product_id, "countdown_s": 7},
        headers=shop.host.headers,
    )
    assert bad_countdown.status_code == 422


async def test_pay_through_signed_callbacks_then_fulfil_or_refund(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account
) -> None:
    shop = await open_shop(server, client, stock=10)
    sku = shop.skus[0]["id"]
    placed = (await order(client, viewer, sku_id=sku, show_id=shop.show_id)).json()
    payment = await client.post(f"/api/v1/orders/{placed['id']}/payments", headers=viewer.headers)
    assert payment.status_code == 201, payment.text
    again = await client.post(f"/api/v1/orders/{placed['id']}/payments", headers=viewer.headers)
    assert again.json()["id"] == payment.json()["id"]  # one pending attempt, not two

    forged = await client.post(
        "/api/v1/orders/payments/sandbox/callback",
        content=b'{"ref":"x","status":"paid","amount_cents":1}',
        headers={"x-sandbox-signature": "t=1,v1=00"},
    )
    assert forged.status_code == 401
    pay_url = payment.json()["pay_url"]
    completed = await client.post(pay_url, json={"outcome": "success"}, headers=viewer.headers)
    assert completed.status_code == 202, completed.text
    paid = await wait_for(client, viewer, placed["id"], "paid")
    assert paid["paid_at"] is not None
    cancel_paid = await client.post(f"/api/v1/orders/{placed['id']}/cancel", headers=viewer.headers)
    assert cancel_paid.status_code == 409
    assert cancel_paid.json()["code"] == "order_state_conflict"

    # A second order whose payment fails, then succeeds on retry.
    second = (await order(client, viewer, sku_id=sku, show_id=shop.show_id)).json()
    failing = (await client.post(f"/api/v1/orders/{second['id']}/payments", headers=viewer.headers)).json()
    await client.post(failing["pay_url"], json={"outcome": "failure"}, headers=viewer.headers)
    for _ in range(100):
        funnel = (await client.get(f"/api/v1/shows/{shop.show_id}/funnel", headers=shop.host.headers)).json()
        if funnel["payments_settled"] == 2:
            break
        await asyncio.sleep(0.05)
    assert funnel["payment_success"] == 0.5
    assert funnel["steps"]["order"] == 2
    assert funnel["steps"]["pay"] == 1
    retry = (await client.post(f"/api/v1/orders/{second['id']}/payments", headers=viewer.headers)).json()
    assert retry["id"] != failing["id"]
    await client.post(retry["pay_url"], json={"outcome": "success"}, headers=viewer.headers)
    await wait_for(client, viewer, second["id"], "paid")

    assert await sku_stock(client, shop) == 8
    member_refund = await client.post(f"/api/v1/orders/{placed['id']}/refund", headers=viewer.headers)
    assert member_refund.status_code == 403
    fulfilled = await client.post(f"/api/v1/orders/{placed['id']}/fulfil", headers=shop.operator.headers)
    assert fulfilled.json()["status"] == "fulfilled"
    refunded = await client.post(f"/api/v1/orders/{placed['id']}/refund", headers=shop.operator.headers)
    assert refunded.json()["status"] == "refunded"
    twice = await client.post(f"/api/v1/orders/{placed['id']}/refund", headers=shop.operator.headers)
    assert twice.status_code == 409
    assert await sku_stock(client, shop) == 9  # the refund returned its unit, once


async def test_coupons_apply_once_and_come_back_on_cancel(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account, other_viewer: Account
) -> None:
    shop = await open_shop(server, client, stock=10)
    sku = shop.skus[0]["id"]
    drop = await client.post(
        "/api/v1/coupon-templates",
        json={
            "name": "直播间满50减10",
            "kind": "fixed",
            "amount_off_cents": 1000,
            "min_spend_cents": 5000,
            "channel": "drop",
            "total": 2,
            "valid_days": 7,
        },
        headers=shop.operator.headers,
    )
    assert drop.status_code == 201, drop.text
    template = drop.json()["id"]
    dropped = await client.post(
        f"/api/v1/shows/{shop.show_id}/coupon-drops",
        json={"template_id": template},
        headers=shop.host.headers,
    )
    assert dropped.status_code == 202
    third = await make_account(server, name="观众丙")
    claims = [
        await client.post(
            f"/api/v1/coupon-templates/{template}/claim", json={"show_id": shop.show_id}, headers=a.headers
        )
        for a in (viewer, other_viewer, third)
    ]
    assert [c.status_code for c in claims] == [201, 201, 409]
    assert claims[2].json()["code"] == "coupons_gone"
    again = await client.post(f"/api/v1/coupon-templates/{template}/claim", json={}, headers=viewer.headers)
    assert again.status_code == 409
    assert again.json()["code"] in {"coupon_limit_reached", "coupons_gone"}
    coupon = claims[0].json()["id"]

    cheap = await client.post(
        "/api/v1/products",
        json={"name": "试饮装", "skus": [{"name": "10g", "price_cents": 1000, "stock": 5}]},
        headers=shop.operator.headers,
    )
    below = await order(client, viewer, sku_id=cheap.json()["skus"][0]["id"], coupon_id=coupon)
    assert below.status_code == 409
    assert below.json()["code"] == "coupon_not_applicable"

    used = await order(client, viewer, sku_id=sku, show_id=shop.show_id, coupon_id=coupon)
    assert used.status_code == 201, used.text
    assert (used.json()["subtotal_cents"], used.json()["discount_cents"], used.json()["total_cents"]) == (
        6900,
        1000,
        5900,
    )
    twice = await order(client, viewer, sku_id=sku, show_id=shop.show_id, coupon_id=coupon)
    assert twice.status_code == 409
    assert twice.json()["code"] == "coupon_not_applicable"
    theirs = await order(client, other_viewer, sku_id=sku, show_id=shop.show_id, coupon_id=coupon)
    assert theirs.status_code == 404
    assert theirs.json()["code"] == "coupon_not_found"

    mine = {c["id"]: c for c in (await client.get("/api/v1/coupons", headers=viewer.headers)).json()}
    assert mine[coupon]["state"] == "used"
    assert mine[coupon]["order_id"] == used.json()["id"]
    cancelled = await client.post(f"/api/v1/orders/{used.json()['id']}/cancel", headers=viewer.headers)
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancel_reason"] == "buyer"
    mine = {c["id"]: c for c in (await client.get("/api/v1/coupons", headers=viewer.headers)).json()}
    assert mine[coupon]["state"] == "available"
    assert await sku_stock(client, shop) == 10

    percent = await client.post(
        "/api/v1/coupon-templates",
        json={"name": "会员九折", "kind": "percent", "percent_off": 10, "channel": "manual"},
        headers=shop.operator.headers,
    )
    issued = await client.post(
        f"/api/v1/coupon-templates/{percent.json()['id']}/issue",
        json={"user_id": viewer.user_id},
        headers=shop.operator.headers,
    )
    assert issued.status_code == 201
    tenth = await order(
        client, viewer, sku_id=sku, show_id=shop.show_id, coupon_id=issued.json()["id"], quantity=3
    )
    assert (tenth.json()["subtotal_cents"], tenth.json()["discount_cents"]) == (20700, 2070)
    bad = await client.post(
        "/api/v1/coupon-templates",
        json={"name": "x", "kind": "percent", "percent_off": 0, "channel": "drop"},
        headers=shop.operator.headers,
    )
    assert bad.status_code == 422
    not_claimable = await client.post(
        f"/api/v1/coupon-templates/{percent.json()['id']}/claim", json={}, headers=other_viewer.headers
    )
    assert not_claimable.status_code == 403


async def test_new_members_and_new_followers_receive_their_coupons(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    operator = await make_account(server, role=Role.OPERATOR, tenant="coupon-shop", name="运营")
    for channel, name in (("new_user", "新人券"), ("follow", "关注礼")):
        created = await client.post(
            "/api/v1/coupon-templates",
            json={"name": name, "kind": "fixed", "amount_off_cents": 500, "channel": channel},
            headers=operator.headers,
        )
        assert created.status_code == 201
    host = await make_account(server, role=Role.HOST, tenant="coupon-shop", name="主播")
    newcomer = await make_account(server, tenant="coupon-shop", name="新人")
    room = (await client.post("/api/v1/rooms", json={"title": "关注有礼"}, headers=host.headers)).json()

    async def names() -> list[str]:
        return sorted(
            c["name"] for c in (await client.get("/api/v1/coupons", headers=newcomer.headers)).json()
        )

    for _ in range(100):
        if await names() == ["新人券"]:
            break
        await asyncio.sleep(0.05)
    assert await names() == ["新人券"]
    for _ in range(2):  # following twice is one follow and one gift
        assert (
            await client.put(f"/api/v1/rooms/{room['id']}/follow", headers=newcomer.headers)
        ).status_code == 204
    for _ in range(100):
        if await names() == ["关注礼", "新人券"]:
            break
        await asyncio.sleep(0.05)
    assert await names() == ["关注礼", "新人券"]


async def test_the_funnel_counts_each_viewer_once_per_card(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account
) -> None:
    shop = await open_shop(server, client)
    card = (
        await client.post(
            f"/api/v1/shows/{shop.show_id}/pins",
            json={"product_id": shop.product_id},
            headers=shop.host.headers,
        )
    ).json()
    steps = [
        ({"kind": "impression", "pin_id": card["pin_id"], "viewer": "anon-viewer-1"}, {}),
        ({"kind": "impression", "pin_id": card["pin_id"], "viewer": "anon-viewer-1"}, {}),
        ({"kind": "impression", "pin_id": card["pin_id"]}, viewer.headers),
        ({"kind": "click", "pin_id": card["pin_id"]}, viewer.headers),
        ({"kind": "click", "pin_id": card["pin_id"]}, viewer.headers),
    ]
    counted = [(await client.post("/api/v1/funnel", json=s, headers=h)).json()["counted"] for s, h in steps]
    assert counted == [True, False, True, True, False]
    await order(client, viewer, sku_id=shop.skus[0]["id"], pin_id=card["pin_id"])
    funnel = (await client.get(f"/api/v1/shows/{shop.show_id}/funnel", headers=shop.host.headers)).json()
    assert funnel["steps"] == {"impression": 2, "click": 1, "add": 0, "order": 1, "pay": 0}
    assert funnel["click_to_order"] == 1.0
    assert "click_to_order" in funnel["definitions"]
    hidden = await client.get(f"/api/v1/shows/{shop.show_id}/funnel", headers=viewer.headers)
    assert hidden.status_code == 403


async def test_unpaid_orders_release_their_stock_once_when_they_time_out(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account
) -> None:
    shop = await open_shop(server, client, stock=4)
    sku = shop.skus[0]["id"]
    placed = (await order(client, viewer, sku_id=sku, show_id=shop.show_id, quantity=3)).json()
    assert await sku_stock(client, shop) == 1
    await run_job_now(server, timeout_key(placed["id"]))  # its deadline, passed twice
    body = await wait_for(client, viewer, placed["id"], "cancelled")
    assert body["cancel_reason"] == "timeout"
    assert await sku_stock(client, shop) == 4
    late_pay = await client.post(f"/api/v1/orders/{placed['id']}/payments", headers=viewer.headers)
    assert late_pay.status_code == 409


async def test_a_payment_after_the_timeout_is_kept_for_refund(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account
) -> None:
    shop = await open_shop(server, client, stock=2)
    placed = (await order(client, viewer, sku_id=shop.skus[0]["id"], show_id=shop.show_id)).json()
    payment = (await client.post(f"/api/v1/orders/{placed['id']}/payments", headers=viewer.headers)).json()
    await run_job_now(server, timeout_key(placed["id"]))
    await wait_for(client, viewer, placed["id"], "cancelled")
    await client.post(payment["pay_url"], json={"outcome": "success"}, headers=viewer.headers)
    for _ in range(100):
        funnel = (await client.get(f"/api/v1/shows/{shop.show_id}/funnel", headers=shop.host.headers)).json()
        if funnel["payments_settled"]:
            break
        await asyncio.sleep(0.05)
    assert funnel["payments_settled"] == 1
    assert funnel["steps"]["pay"] == 0
    assert (await client.get(f"/api/v1/orders/{placed['id']}", headers=viewer.headers)).json()[
        "status"
    ] == "cancelled"
    assert await sku_stock(client, shop) == 2


async def test_every_viewer_sees_cards_sales_stock_and_drops_live(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account
) -> None:
    shop = await open_shop(server, client, stock=5)
    async with (
        room_socket(server, shop.room_id) as anonymous,
        room_socket(server, shop.room_id, viewer) as member,
    ):
        await next_event(anonymous, "hello")
        await next_event(member, "hello")
        pinned = await client.post(
            f"/api/v1/shows/{shop.show_id}/pins",
            json={"product_id": shop.product_id, "countdown_s": 10},
            headers=shop.host.headers,
        )
        for ws in (anonymous, member):
            card = (await next_event(ws, "product_pin"))["card"]
            assert card["pin_id"] == pinned.json()["pin_id"]
            assert card["skus"][0]["price_cents"] == 6900
            opens = datetime.fromisoformat(card["opens_at"]) - datetime.fromisoformat(card["server_now"])
            assert timedelta(seconds=9) < opens <= timedelta(seconds=10)
        await client.delete(f"/api/v1/shows/{shop.show_id}/pins/{card['pin_id']}", headers=shop.host.headers)
        assert (await next_event(anonymous, "product_unpin"))["pin_id"] == card["pin_id"]

        sale = await client.post(
            f"/api/v1/shows/{shop.show_id}/flash-sales",
            json={"sku_id": shop.skus[0]["id"], "price_cents": 990, "stock": 2, "duration_s": 120},
            headers=shop.host.headers,
        )
        announced = (await next_event(anonymous, "flash_sale"))["sale"]
        assert (announced["sale_id"], announced["state"], announced["stock_left"]) == (
            sale.json()["sale_id"],
            "open",
            2,
        )
        await order(client, viewer, sku_id=shop.skus[0]["id"], flash_sale_id=announced["sale_id"])
        stock = await next_event(anonymous, "flash_stock")
        assert (stock["sale_id"], stock["stock_left"]) == (announced["sale_id"], 1)

        template = await client.post(
            "/api/v1/coupon-templates",
            json={
                "name": "限时立减5元",
                "kind": "fixed",
                "amount_off_cents": 500,
                "channel": "drop",
                "total": 20,
            },
            headers=shop.operator.headers,
        )
        await client.post(
            f"/api/v1/shows/{shop.show_id}/coupon-drops",
            json={"template_id": template.json()["id"]},
            headers=shop.host.headers,
        )
        drop = await next_event(member, "coupon_drop")
        assert drop["coupon"]["name"] == "限时立减5元"
        assert drop["coupon"]["left"] == 20


async def test_hosts_read_the_shop_and_nobody_reaches_another_tenant(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account
) -> None:
    shop = await open_shop(server, client)
    assert (await client.get("/api/v1/products", headers=shop.host.headers)).status_code == 200
    assert (await client.get("/api/v1/coupon-templates", headers=shop.host.headers)).status_code == 200
    assert (await client.get("/api/v1/products", headers=viewer.headers)).status_code == 403
    created = await client.post(
        "/api/v1/coupon-templates",
        json={"name": "手动券", "kind": "fixed", "amount_off_cents": 100, "channel": "manual"},
        headers=shop.operator.headers,
    )
    by_host = await client.post(
        f"/api/v1/coupon-templates/{created.json()['id']}/issue",
        json={"user_id": viewer.user_id},
        headers=shop.host.headers,
    )
    assert by_host.status_code == 403
    stranger = await make_account(server, tenant="another-shop", name="别家会员")
    for user_id in (stranger.user_id, 2**31 - 1):
        refused = await client.post(
            f"/api/v1/coupon-templates/{created.json()['id']}/issue",
            json={"user_id": user_id},
            headers=shop.operator.headers,
        )
        assert refused.status_code == 404
        assert refused.json()["code"] == "member_not_found"
    other_operator = await make_account(server, role=Role.OPERATOR, tenant="another-shop", name="别家运营")
    foreign = await client.post(
        "/api/v1/coupon-templates",
        json={
            "name": "越界券",
            "kind": "fixed",
            "amount_off_cents": 100,
            "channel": "manual",
            "product_id": shop.product_id,
        },
        headers=other_operator.headers,
    )
    assert foreign.status_code == 404
    assert foreign.json()["code"] == "product_not_found"


async def test_an_orders_payment_attempts_are_listed_with_their_outcome(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account, other_viewer: Account
) -> None:
    shop = await open_shop(server, client)
    placed = (await order(client, viewer, sku_id=shop.skus[0]["id"], show_id=shop.show_id)).json()
    failing = (await client.post(f"/api/v1/orders/{placed['id']}/payments", headers=viewer.headers)).json()
    await client.post(failing["pay_url"], json={"outcome": "failure"}, headers=viewer.headers)
    for _ in range(100):
        attempts = (
            await client.get(f"/api/v1/orders/{placed['id']}/payments", headers=viewer.headers)
        ).json()
        if attempts[0]["status"] != "pending":
            break
        await asyncio.sleep(0.05)
    assert [a["status"] for a in attempts] == ["failed"]
    retry = (await client.post(f"/api/v1/orders/{placed['id']}/payments", headers=viewer.headers)).json()
    await client.post(retry["pay_url"], json={"outcome": "success"}, headers=viewer.headers)
    await wait_for(client, viewer, placed["id"], "paid")
    attempts = (await client.get(f"/api/v1/orders/{placed['id']}/payments", headers=viewer.headers)).json()
    assert [a["status"] for a in attempts] == ["paid", "failed"]
    theirs = await client.get(f"/api/v1/orders/{placed['id']}/payments", headers=other_viewer.headers)
    assert theirs.status_code == 404


async def test_redeeming_points_for_a_coupon_item_issues_the_coupon(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account
) -> None:
    shop = await open_shop(server, client)
    template = await client.post(
        "/api/v1/coupon-templates",
        json={"name": "积分兑换券", "kind": "fixed", "amount_off_cents": 300, "channel": "points"},
        headers=shop.operator.headers,
    )
    item = await client.post(
        "/api/v1/points/store",
        json={
            "name": "3元券",
            "kind": "coupon",
            "cost": 50,
            "stock": 10,
            "payload": {"template_id": template.json()["id"]},
        },
        headers=shop.operator.headers,
    )
    assert item.status_code == 201, item.text
    await grant_points(server, viewer, 60)
    redeemed = await client.post(
        f"/api/v1/points/store/{item.json()['id']}/redeem",
        headers={**viewer.headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert redeemed.status_code == 201, redeemed.text
    for _ in range(100):
        mine = (await client.get("/api/v1/coupons", headers=viewer.headers)).json()
        if mine:
            break
        await asyncio.sleep(0.05)
    assert [(c["name"], c["source"], c["state"]) for c in mine] == [("积分兑换券", "points", "available")]
    applied = await order(
        client, viewer, sku_id=shop.skus[0]["id"], show_id=shop.show_id, coupon_id=mine[0]["id"]
    )
    assert applied.json()["discount_cents"] == 300
