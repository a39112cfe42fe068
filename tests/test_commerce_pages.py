"""The operator's orders page (/console/orders) and the shop's order list for operators
(GET /api/v1/shop/orders), the coupon form with every field of the API, and member-only
coupons a qualifying member claims (GET /api/v1/coupon-templates/claimable), over HTTP on
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import httpx

from livecircle.economy import tiers
from livecircle.identity.schemas import Role
from tests.commerce_kit import open_shop, order, sku_stock
from tests.conftest import Account, RunningServer, make_account
from tests.test_economy import _tenant_id
from tests.test_economy_pages import marked, post_form


async def paid_order(client: httpx.AsyncClient, buyer: Account, **fields: Any) -> dict[str, Any]:
    """An order paid through the sandbox provider's signed callback."""
    placed = await order(client, buyer, **fields)
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    payment = await client.post(f"/api/v1/orders/{order_id}/payments", headers=buyer.headers)
    answer = await client.post(payment.json()["pay_url"], json={"outcome": "success"}, headers=buyer.headers)
    assert answer.status_code == 202, answer.text
    return await order_state(client, buyer, order_id, "paid")


async def order_state(
    client: httpx.AsyncClient, buyer: Account, order_id: int, status: str
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for _ in range(100):
        body = (await client.get(f"/api/v1/orders/{order_id}", headers=buyer.headers)).json()
        if body["status"] == status:
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"order {order_id} never became {status}: {body}")


def order_row(html: str, order_id: int) -> str:
    row = re.search(rf'<tr id="order-{order_id}".*?</tr>', html, re.S)
    assert row is not None, f"order {order_id} is not on the page"
    return row.group(0)


async def test_operators_list_fulfil_and_refund_orders_on_the_orders_page(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account
) -> None:
    shop = await open_shop(server, client, stock=10)
    sku = shop.skus[0]["id"]
    paid = await paid_order(client, viewer, sku_id=sku, show_id=shop.show_id, quantity=2)
    unpaid = (await order(client, viewer, sku_id=sku, show_id=shop.show_id)).json()
    assert await sku_stock(client, shop) == 7

    # The API's list for operators: every order of the shop with its buyer, one status at a time.
    listed = await client.get("/api/v1/shop/orders", headers=shop.operator.headers)
    assert listed.status_code == 200, listed.text
    mine = {o["id"]: o for o in listed.json() if o["user_id"] == viewer.user_id}
    assert {i: o["status"] for i, o in mine.items()} == {paid["id"]: "paid", unpaid["id"]: "created"}
    only_paid = await client.get("/api/v1/shop/orders?status=paid", headers=shop.operator.headers)
    assert {o["status"] for o in only_paid.json()} == {"paid"}
    assert paid["id"] in {o["id"] for o in only_paid.json()}
    for outsider in (viewer, shop.host):
        refused = await client.get("/api/v1/shop/orders", headers=outsider.headers)
        assert refused.status_code == 403

    # The page: the paid order with its buyer and a fulfil button; the unpaid one without.
    page = await client.get("/console/orders?status=paid", headers=shop.operator.headers)
    assert page.status_code == 200
    row = order_row(page.text, paid["id"])
    assert f"用户 #{viewer.user_id}" in row
    assert "¥138.00" in row  # 2 × the live price
    assert "直播专属价" in row
    assert f'action="/console/orders/{paid["id"]}/fulfil"' in row
    assert f'id="order-{unpaid["id"]}"' not in page.text  # filtered out
    every = await client.get("/console/orders", headers=shop.operator.headers)
    assert "/fulfil" not in order_row(every.text, unpaid["id"])

    # Fulfil, then again (a conflict the page explains), then refund: stock comes back.
    fulfil = f"/console/orders/{paid['id']}/fulfil"
    done = await post_form(client, shop.operator, fulfil, {"status": "paid"})
    assert done.status_code == 303
    assert done.headers["location"].startswith(f"/console/orders?done={paid['id']}&action=fulfil&status=paid")
    assert (await order_state(client, viewer, paid["id"], "fulfilled"))["fulfilled_at"] is not None
    again = await post_form(client, shop.operator, fulfil, {})
    assert again.status_code == 409
    assert 'id="order-error"' in again.text
    refund = await post_form(client, shop.operator, f"/console/orders/{paid['id']}/refund", {})
    assert refund.status_code == 303
    await order_state(client, viewer, paid["id"], "refunded")
    assert await sku_stock(client, shop) == 9
    refused = await post_form(client, shop.operator, f"/console/orders/{unpaid['id']}/refund", {})
    assert refused.status_code == 409
    assert (await order_state(client, viewer, unpaid["id"], "created"))["refunded_at"] is None


async def test_nobody_else_reaches_the_shops_orders(
    server: RunningServer, client: httpx.AsyncClient, viewer: Account
) -> None:
    shop = await open_shop(server, client)
    paid = await paid_order(client, viewer, sku_id=shop.skus[0]["id"], show_id=shop.show_id)
    stranger = await make_account(server, role=Role.OPERATOR, tenant=f"other-{uuid.uuid4().hex[:8]}")
    elsewhere = await post_form(client, stranger, f"/console/orders/{paid['id']}/fulfil", {})
    assert elsewhere.status_code == 404
    for account in (viewer, shop.host):
        assert (await client.get("/console/orders", headers=account.headers)).status_code == 403
        attempt = await post_form(client, account, f"/console/orders/{paid['id']}/refund", {})
        assert attempt.status_code == 403
    assert (await order_state(client, viewer, paid["id"], "paid"))["refunded_at"] is None
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        answer = await anonymous.get("/console/orders")
    assert answer.headers["location"] == "/login?next=/console/orders"
    console = await client.get("/console", headers=shop.operator.headers)
    assert 'href="/console/orders" id="console-orders-link"' in console.text


COUPON = {
    "name": "会员专享9折",
    "kind": "percent",
    "percent_off": "10",
    "amount_off": "",
    "min_spend": "99.50",
    "channel": "member",
    "total": "50",
    "per_user": "2",
    "valid_days": "7",
    "valid_until": "2031-01-02T20:00",
    "tz_offset": "-480",  # the browser is at UTC+8
}


async def test_the_coupon_form_takes_every_field_of_the_api(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    shop = await open_shop(server, client)
    form = COUPON | {"product_id": str(shop.product_id)}
    created = await post_form(client, shop.operator, "/console/coupons", form)
    assert created.status_code == 303, created.text
    template_id = int(created.headers["location"].split("added=")[1])
    templates = (await client.get("/api/v1/coupon-templates", headers=shop.operator.headers)).json()
    template = next(t for t in templates if t["id"] == template_id)
    fields = ("kind", "percent_off", "amount_off_cents", "min_spend_cents", "channel", "product_id")
    assert tuple(template[name] for name in fields) == ("percent", 10, 0, 9950, "member", shop.product_id)
    assert (template["total"], template["per_user"], template["valid_days"]) == (50, 2, 7)
    assert template["valid_until"].replace("+00:00", "Z") == "2031-01-02T12:00:00Z"
    page = await client.get("/console/coupons", headers=shop.operator.headers)
    assert "2031-01-02 12:00 UTC" in page.text

    fixed = COUPON | {
        "kind": "fixed",
        "amount_off": "20",
        "percent_off": "",
        "valid_until": "",
        "tz_offset": "",
    }
    answer = await post_form(client, shop.operator, "/console/coupons", fixed | {"name": "满减券"})
    assert answer.status_code == 303
    templates = (await client.get("/api/v1/coupon-templates", headers=shop.operator.headers)).json()
    second = next(t for t in templates if t["name"] == "满减券")
    assert (second["kind"], second["amount_off_cents"], second["valid_until"]) == ("fixed", 2000, None)


async def test_the_coupon_form_marks_what_it_refuses(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    shop = await open_shop(server, client)
    before = len((await client.get("/api/v1/coupon-templates", headers=shop.operator.headers)).json())
    cases = [
        ({"percent_off": "0"}, {"percent_off"}),
        ({"percent_off": "120"}, {"percent_off"}),
        ({"valid_until": "tomorrow"}, {"valid_until"}),
        ({"total": "0", "valid_days": "-3"}, {"total", "valid_days"}),
        ({"min_spend": "abc"}, {"min_spend"}),
        ({"kind": "fixed", "amount_off": "0"}, {"amount_off"}),
    ]
    for change, fields in cases:
        answer = await post_form(client, shop.operator, "/console/coupons", COUPON | change)
        assert answer.status_code == 422, change
        assert marked(answer.text, "coupon-form") == fields, change
        assert 'id="coupon-form-errors"' in answer.text
    after = (await client.get("/api/v1/coupon-templates", headers=shop.operator.headers)).json()
    assert len(after) == before
    assert (await client.get("/console/coupons", headers=shop.host.headers)).status_code == 403


async def test_qualifying_members_see_and_claim_member_coupons(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    tenant = f"club-{uuid.uuid4().hex[:8]}"
    operator = await make_account(server, role=Role.OPERATOR, tenant=tenant)
    member = await make_account(server, tenant=tenant, name="会员")
    templates = {}
    for name, channel, enabled in (
        ("会员券", "member", True),
        ("停用券", "member", False),
        ("掉落券", "drop", True),
    ):
        body = {"name": name, "kind": "fixed", "amount_off_cents": 500, "channel": channel, "total": 2}
        created = await client.post("/api/v1/coupon-templates", json=body, headers=operator.headers)
        templates[name] = created.json()["id"]
        if not enabled:
            patch = {"enabled": False}
            path = f"/api/v1/coupon-templates/{created.json()['id']}"
            assert (await client.patch(path, json=patch, headers=operator.headers)).status_code == 200

    async def claimable() -> list[dict[str, Any]]:
        answer = await client.get("/api/v1/coupon-templates/claimable", headers=member.headers)
        assert answer.status_code == 200, answer.text
        rows: list[dict[str, Any]] = answer.json()
        return rows

    offered = await claimable()
    assert [(t["name"], t["eligible"], t["held"]) for t in offered] == [("会员券", False, 0)]
    claim = f"/api/v1/coupon-templates/{templates['会员券']}/claim"
    refused = await client.post(claim, json={}, headers=member.headers)
    assert refused.status_code == 403
    assert refused.json()["code"] == "coupon_not_claimable"

    # At level 6 (premium) the member's tier gives exclusive discounts.
    async with server.db.unit_of_work() as session:
        tenant_id = await _tenant_id(server, member)
        await tiers.do_add_xp(session, tenant_id=tenant_id, user_id=member.user_id, points=515)
    assert [(t["eligible"], t["held"]) for t in await claimable()] == [(True, 0)]
    assert (await client.post(claim, json={}, headers=member.headers)).status_code == 201
    assert [(t["held"], t["issued"]) for t in await claimable()] == [(1, 1)]
    again = await client.post(claim, json={}, headers=member.headers)
    assert again.json()["code"] == "coupon_limit_reached"
    mine = (await client.get("/api/v1/coupons", headers=member.headers)).json()
    assert [(c["name"], c["source"]) for c in mine] == [("会员券", "member")]
    assert (await client.get("/api/v1/coupon-templates/claimable")).status_code == 401
    page = await client.get("/orders", headers=member.headers)
    assert 'id="claimable-list"' in page.text
