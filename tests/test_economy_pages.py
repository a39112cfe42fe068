"""The operator's points page (/console/points) over HTTP, on SQLite and PostgreSQL: its forms
create and change what the JSON API then returns (store items, badge rules), refused input
comes back as 422 with the fields marked, the earning rules and tiers shown are the server's
settings, and only operators reach it. Each test runs in a tenant of its own."""

from __future__ import annotations

import asyncio
import re
import uuid
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from livecircle.identity.schemas import Role
from tests.conftest import Account, RunningServer, make_account
from tests.test_points import grant_points

PAGE = "/console/points"


class _Marked(HTMLParser):
    """The names of the fields marked aria-invalid inside the form with ``form_id``."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside, self.names = form_id, False, set[str]()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form":
            self.inside = found.get("id") == self.form_id or found.get("action") == self.form_id
        elif self.inside and found.get("aria-invalid") == "true":
            self.names.add(str(found.get("name")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False


def marked(html: str, form: str) -> set[str]:
    """Fields marked invalid in the form whose id (or action) is ``form``."""
    parser = _Marked(form)
    parser.feed(html)
    return parser.names


@pytest.fixture
def tenant() -> str:
    return f"pts-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def operator(server: RunningServer, tenant: str) -> Account:
    return await make_account(server, role=Role.OPERATOR, tenant=tenant, name="运营")


@pytest.fixture
async def member(server: RunningServer, tenant: str) -> Account:
    return await make_account(server, tenant=tenant, name="会员")


async def post_form(
    client: httpx.AsyncClient, account: Account, path: str, form: dict[str, Any]
) -> httpx.Response:
    """A form post as the page sends it: the CSRF cookie's value in ``csrf_token``."""
    if "lc_csrf" not in client.cookies:
        await client.get("/login")
    data = {key: str(value) for key, value in form.items()} | {"csrf_token": client.cookies["lc_csrf"]}
    return await client.post(path, data=data, headers=account.headers)


async def store_items(client: httpx.AsyncClient, operator: Account) -> list[dict[str, Any]]:
    answer = await client.get("/api/v1/points/store", params={"all": "true"}, headers=operator.headers)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()
    return items


async def badge_rules(client: httpx.AsyncClient, operator: Account) -> dict[str, dict[str, Any]]:
    answer = await client.get("/api/v1/badges/rules", headers=operator.headers)
    assert answer.status_code == 200, answer.text
    return {rule["code"]: rule for rule in answer.json()}


async def points_coupon(client: httpx.AsyncClient, operator: Account, channel: str = "points") -> int:
    body = {"name": "积分兑换5元券", "kind": "fixed", "amount_off_cents": 500, "channel": channel}
    created = await client.post("/api/v1/coupon-templates", json=body, headers=operator.headers)
    assert created.status_code == 201, created.text
    template_id: int = created.json()["id"]
    return template_id


ITEM = {"name": "5元优惠券", "description": "全场通用", "kind": "coupon", "cost": "50", "stock": "3"}


async def test_store_items_are_added_restocked_and_disabled_through_the_page(
    server: RunningServer, client: httpx.AsyncClient, operator: Account, member: Account
) -> None:
    template_id = await points_coupon(client, operator)
    page = await client.get(PAGE, headers=operator.headers)
    assert page.status_code == 200
    assert 'id="store-item-form"' in page.text
    assert f'<option value="{template_id}"' in page.text  # the points-store coupon to hand out

    form = ITEM | {"per_user_limit": "1", "template_id": template_id}
    added = await post_form(client, operator, "/console/points/items", form)
    assert added.status_code == 303, added.text
    goods = {"name": "帆布袋", "kind": "goods", "cost": "300", "stock": "10", "per_user_limit": ""}
    assert (await post_form(client, operator, "/console/points/items", goods)).status_code == 303
    items = {item["name"]: item for item in await store_items(client, operator)}
    coupon_item, bag = items["5元优惠券"], items["帆布袋"]
    shown = (coupon_item["kind"], coupon_item["cost"], coupon_item["stock"], coupon_item["per_user_limit"])
    assert shown == ("coupon", 50, 3, 1)
    assert coupon_item["payload"] == {"template_id": template_id}
    assert coupon_item["description"] == "全场通用"
    assert (bag["kind"], bag["cost"], bag["per_user_limit"], bag["payload"]) == ("goods", 300, None, {})

    # Restock +5, then a removal of more than is left: refused, nothing changes.
    stock_path = f"/console/points/items/{coupon_item['id']}/stock"
    assert (await post_form(client, operator, stock_path, {"add_stock": "5"})).status_code == 303
    too_many = await post_form(client, operator, stock_path, {"add_stock": "-9"})
    assert too_many.status_code == 409
    assert 'id="points-error"' in too_many.text
    bad = await post_form(client, operator, stock_path, {"add_stock": "1.5"})
    assert bad.status_code == 422
    assert marked(bad.text, stock_path) == {"add_stock"}
    assert {i["name"]: i["stock"] for i in await store_items(client, operator)}["5元优惠券"] == 8

    # The item as the page set it up hands out its coupon when a member redeems it.
    await grant_points(server, member, 50)
    redeemed = await client.post(
        f"/api/v1/points/store/{coupon_item['id']}/redeem",
        headers={**member.headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert redeemed.status_code == 201, redeemed.text
    mine: list[dict[str, Any]] = []
    for _ in range(100):
        mine = (await client.get("/api/v1/coupons", headers=member.headers)).json()
        if mine:
            break
        await asyncio.sleep(0.05)
    assert [(c["template_id"], c["source"]) for c in mine] == [(template_id, "points")]

    # Disabled: members no longer see it; the operator's list still does.
    toggle = f"/console/points/items/{bag['id']}/enabled"
    assert (await post_form(client, operator, toggle, {"enabled": "false"})).status_code == 303
    offered = (await client.get("/api/v1/points/store", headers=member.headers)).json()
    assert [item["name"] for item in offered] == ["5元优惠券"]
    page = await client.get(PAGE, headers=operator.headers)
    row = re.search(rf'<tr id="item-{bag["id"]}".*?</tr>', page.text, re.S)
    assert row is not None
    assert 'name="enabled" value="true"' in row.group(0)


async def test_the_store_form_refuses_bad_input_with_the_fields_marked(
    client: httpx.AsyncClient, operator: Account
) -> None:
    manual = await points_coupon(client, operator, channel="manual")
    refused = await post_form(
        client, operator, "/console/points/items", ITEM | {"name": "", "cost": "0", "stock": "-1"}
    )
    assert refused.status_code == 422
    assert marked(refused.text, "store-item-form") >= {"name", "cost", "stock"}
    assert 'id="item-form-errors"' in refused.text
    # A coupon item needs a coupon of the points-store channel, not just any coupon.
    for template in ("", manual, "abc"):
        answer = await post_form(client, operator, "/console/points/items", ITEM | {"template_id": template})
        assert answer.status_code == 422, template
        assert marked(answer.text, "store-item-form") == {"template_id"}
        assert 'value="5元优惠券"' in answer.text  # what was typed stays
    limit = await post_form(client, operator, "/console/points/items", ITEM | {"per_user_limit": "0"})
    assert limit.status_code == 422
    assert marked(limit.text, "store-item-form") == {"per_user_limit"}
    assert await store_items(client, operator) == []


async def test_badge_rules_are_added_changed_and_disabled_through_the_page(
    client: httpx.AsyncClient, operator: Account
) -> None:
    rule = {
        "code": "streak_30",
        "name": "连续签到30天",
        "icon": "📅",
        "stat": "checkin_streak",
        "threshold": "30",
    }
    assert (await post_form(client, operator, "/console/points/badges", rule)).status_code == 303
    rules = await badge_rules(client, operator)
    created = rules["streak_30"]
    assert (created["name"], created["icon"], created["stat"], created["threshold"]) == (
        "连续签到30天",
        "📅",
        "checkin_streak",
        30,
    )
    assert "first_gift" in rules  # the defaults stay beside it

    edit = f"/console/points/badges/{created['id']}"
    changed = await post_form(client, operator, edit, {"name": "签到达人", "icon": "🔥", "threshold": "21"})
    assert changed.status_code == 303
    now = (await badge_rules(client, operator))["streak_30"]
    assert (now["name"], now["icon"], now["threshold"], now["enabled"]) == ("签到达人", "🔥", 21, True)
    # Disabled, the API (which lists the rules in force) leaves it out; the page offers to enable it.
    toggle = f"/console/points/badges/{created['id']}/enabled"
    assert (await post_form(client, operator, toggle, {"enabled": "false"})).status_code == 303
    assert "streak_30" not in await badge_rules(client, operator)
    page = await client.get(PAGE, headers=operator.headers)
    row = re.search(rf'<tr id="badge-{created["id"]}".*?</tr>', page.text, re.S)
    assert row is not None
    assert 'name="enabled" value="true"' in row.group(0)
    assert (await post_form(client, operator, toggle, {"enabled": "true"})).status_code == 303
    assert (await badge_rules(client, operator))["streak_30"]["enabled"] is True

    # Refused: a code that is taken (409), a bad code and threshold, an empty name in an edit.
    taken = await post_form(client, operator, "/console/points/badges", rule)
    assert taken.status_code == 409
    assert marked(taken.text, "badge-rule-form") == {"code"}
    bad = await post_form(
        client, operator, "/console/points/badges", rule | {"code": "Bad Code", "threshold": "-1"}
    )
    assert bad.status_code == 422
    assert marked(bad.text, "badge-rule-form") == {"code", "threshold"}
    empty = await post_form(client, operator, edit, {"name": " ", "icon": "🔥", "threshold": "x"})
    assert empty.status_code == 422
    assert marked(empty.text, edit) == {"name", "threshold"}
    assert (await badge_rules(client, operator))["streak_30"]["name"] == "签到达人"


async def test_earning_rules_and_tiers_are_shown_as_the_server_sets_them(
    server: RunningServer, client: httpx.AsyncClient, operator: Account
) -> None:
    page = await client.get(PAGE, headers=operator.headers)
    assert page.status_code == 200
    rules = server.settings.economy
    for name, rule in rules.points.earn.items():
        row = re.search(rf'<tr data-rule="{name}">.*?</tr>', page.text, re.S)
        assert row is not None, name
        assert f'<td class="amount earn-points">{rule.points}</td>' in row.group(0)
        cap = f"{rule.daily_cap} 积分" if rule.daily_cap is not None else "不限"
        assert f'<td class="earn-cap">{cap}</td>' in row.group(0)
    levels = re.findall(
        r'<tr data-level="(\d+)"><td>Lv\.\d+</td><td class="amount level-xp">(\d+)</td>', page.text
    )
    assert [int(xp) for _, xp in levels] == rules.tiers.level_thresholds
    for tier in ("follower", "participant", "premium"):
        cell = re.search(
            rf'<tr data-tier="{tier}">.*?<td class="tier-privileges">(.*?)</td>', page.text, re.S
        )
        assert cell is not None, tier
        shown = [] if "muted" in cell.group(1) else cell.group(1).split(" · ")
        assert len(shown) == len(rules.tiers.privileges[tier]), (tier, shown)
    assert "专属折扣" in page.text  # premium's exclusive_discount, in Chinese
    membership = f"{rules.tiers.membership_price} 金币 / {rules.tiers.membership_days} 天"
    assert membership in page.text
    assert "LIVECIRCLE_ECONOMY__TIERS__" in page.text
    assert "LIVECIRCLE_ECONOMY__POINTS__" in page.text
    english = await client.get(PAGE, params={"lang": "en"}, headers=operator.headers)
    assert "Earning rules" in english.text
    assert "Levels and member tiers" in english.text


async def test_only_operators_reach_the_points_page(
    server: RunningServer, client: httpx.AsyncClient, tenant: str, operator: Account, member: Account
) -> None:
    host = await make_account(server, role=Role.HOST, tenant=tenant)
    for account in (member, host):
        assert (await client.get(PAGE, headers=account.headers)).status_code == 403
        refused = await post_form(client, account, "/console/points/items", ITEM | {"kind": "goods"})
        assert refused.status_code == 403
        badge = {"code": "sneaky", "name": "x", "icon": "x", "stat": "xp", "threshold": "1"}
        assert (await post_form(client, account, "/console/points/badges", badge)).status_code == 403
    assert await store_items(client, operator) == []
    assert "sneaky" not in await badge_rules(client, operator)
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        answer = await anonymous.get(PAGE)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/console/points"
    console = await client.get("/console", headers=operator.headers)
    assert 'href="/console/points" id="console-points-link"' in console.text
