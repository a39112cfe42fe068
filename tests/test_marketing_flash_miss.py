"""Missing a flash sale, on both databases: a sold-out refusal of a signed-in member is
recorded once per sale and member (``flash_sale_missed``, surviving the refused order's
rollback) however often they retry, and a ``flash_sale_miss`` campaign enrols exactly the
members who missed and sends each of them its consolation coupon once."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import httpx
from sqlalchemy import select

from livecircle.commerce.models import Coupon
from livecircle.identity import service as identity_service
from livecircle.identity.schemas import Role
from livecircle.kit.tracking import AnalyticsEvent
from livecircle.marketing.models import Enrolment
from tests.commerce_kit import order
from tests.conftest import Account, RunningServer, make_account, make_room
from tests.test_marketing import (
    NOON,
    Shop,
    create,
    driven_by_hand,  # noqa: F401 - the autouse fixture applies here too
    run,
    template,
)


class FlashShop:
    """A fresh tenant: its operator, a host with a show and a product on it."""

    def __init__(self, shop: Shop, host: Account, show_id: int, sku_id: int) -> None:
        self.shop, self.host, self.show_id, self.sku_id = shop, host, show_id, sku_id

    async def member(self, name: str) -> Account:
        return await make_account(
            self.shop.server, tenant=self.shop.slug, name=name, consents=("payment", "marketing")
        )

    async def sale(self, client: httpx.AsyncClient, stock: int) -> int:
        made = await client.post(
            f"/api/v1/shows/{self.show_id}/flash-sales",
            json={
                "sku_id": self.sku_id,
                "price_cents": 990,
                "stock": stock,
                "per_user_limit": 1,
                "duration_s": 600,
            },
            headers=self.host.headers,
        )
        assert made.status_code == 201, made.text
        return int(made.json()["sale_id"])

    async def buy(self, client: httpx.AsyncClient, who: Account, sale_id: int) -> httpx.Response:
        return await order(client, who, sku_id=self.sku_id, flash_sale_id=sale_id)


async def flash_shop(server: RunningServer, client: httpx.AsyncClient) -> FlashShop:
    slug = f"fm{uuid.uuid4().hex[:10]}"
    operator = await make_account(server, role=Role.OPERATOR, tenant=slug, name="运营", consents=())
    host = await make_account(server, role=Role.HOST, tenant=slug, name="主播", consents=())
    room = await make_room(client, host)
    show = await client.post(
        f"/api/v1/rooms/{room['id']}/shows", json={"title": "秒杀专场"}, headers=host.headers
    )
    assert show.status_code == 201, show.text
    product = await client.post(
        "/api/v1/products",
        json={
            "name": "桂花乌龙",
            "description": "限量",
            "skus": [{"name": "250g", "price_cents": 9900, "stock": 50}],
        },
        headers=operator.headers,
    )
    assert product.status_code == 201, product.text
    sku = product.json()["skus"][0]["id"]
    attached = await client.put(
        f"/api/v1/shows/{show.json()['id']}/products",
        json={"product_id": product.json()["id"], "prices": [{"sku_id": sku, "live_price_cents": 6900}]},
        headers=host.headers,
    )
    assert attached.status_code == 204, attached.text
    async with server.db.unit_of_work() as session:
        tenant = await identity_service.get_tenant_by_slug(session, slug)
    return FlashShop(Shop(server, slug, tenant.id, operator), host, show.json()["id"], sku)


async def misses(server: RunningServer, tenant_id: int) -> Counter[tuple[int, int]]:
    """Stored ``flash_sale_missed`` events of the tenant: (member, sale) -> how many, after
    the node's buffer is flushed (the events do not wait for the next analytics step)."""
    await server.app.state.analytics_node.buffer.flush()
    async with server.db.unit_of_work() as session:
        rows = await session.execute(
            select(AnalyticsEvent.user_id, AnalyticsEvent.props).where(
                AnalyticsEvent.tenant_id == tenant_id, AnalyticsEvent.type == "flash_sale_missed"
            )
        )
        return Counter((int(user), int(props["flash_sale_id"])) for user, props in rows)


async def sold_out(client: httpx.AsyncClient, shop: FlashShop, who: Account, sale_id: int) -> None:
    refused = await shop.buy(client, who, sale_id)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "sold_out"


async def test_a_sold_out_refusal_is_recorded_once_per_member_and_sale(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    shop = await flash_shop(server, client)
    buyer, late, later = [await shop.member(name) for name in ("抢到了", "晚一步", "又晚一步")]
    first = await shop.sale(client, stock=1)
    assert (await shop.buy(client, buyer, first)).status_code == 201
    for _ in range(3):  # retries of a refused member
        await sold_out(client, shop, late, first)
    await sold_out(client, shop, later, first)
    assert await misses(server, shop.shop.tenant_id) == Counter(
        {(late.user_id, first): 1, (later.user_id, first): 1}
    )

    # Another sale is another miss; a refusal for the limit (not sold out) is none.
    second = await shop.sale(client, stock=2)
    assert (await shop.buy(client, late, second)).status_code == 201
    over = await shop.buy(client, late, second)
    assert over.json()["code"] == "purchase_limit_reached"
    assert (await shop.buy(client, buyer, second)).status_code == 201
    for _ in range(2):
        await sold_out(client, shop, later, second)
        await sold_out(client, shop, late, first)
    assert await misses(server, shop.shop.tenant_id) == Counter(
        {(late.user_id, first): 1, (later.user_id, first): 1, (later.user_id, second): 1}
    )


async def coupons_of(server: RunningServer, campaign_id: int) -> Counter[int]:
    async with server.db.unit_of_work() as session:
        rows = await session.scalars(select(Coupon.user_id).where(Coupon.source == f"campaign:{campaign_id}"))
        return Counter(int(user) for user in rows)


async def enrolled(server: RunningServer, campaign_id: int) -> dict[int, str]:
    async with server.db.unit_of_work() as session:
        rows = await session.execute(
            select(Enrolment.user_id, Enrolment.entry_key).where(Enrolment.campaign_id == campaign_id)
        )
        return {int(user): str(key) for user, key in rows}


async def test_a_flash_sale_miss_campaign_enrols_who_missed_and_consoles_them_once(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    shop = await flash_shop(server, client)
    buyer, missed_one, missed_two, bystander = [
        await shop.member(n) for n in ("买到", "错过甲", "错过乙", "路人")
    ]
    sale = await shop.sale(client, stock=1)
    assert (await shop.buy(client, buyer, sale)).status_code == 201
    for who in (missed_one, missed_two, missed_two):
        await sold_out(client, shop, who, sale)
    no_sale = await shop.buy(client, bystander, 10**9)  # another refusal (no such sale): no miss
    assert no_sale.status_code == 404, no_sale.text
    coupon = await template(shop.shop, name="安慰券", per_user=5)
    body: dict[str, Any] = {
        "trigger": {"type": "flash_sale_miss", "hours": 48},
        "steps": [{"type": "coupon", "template_id": coupon}],
    }
    campaign = await create(client, shop.shop, **body)
    await misses(server, shop.shop.tenant_id)  # flushed before the pass reads the replica

    first = await run(server, NOON)
    assert await enrolled(server, campaign["id"]) == {
        missed_one.user_id: f"flash:{sale}",
        missed_two.user_id: f"flash:{sale}",
    }
    assert await coupons_of(server, campaign["id"]) == Counter({missed_one.user_id: 1, missed_two.user_id: 1})
    assert sum(first.values()) >= 2
    await run(server, NOON)  # a rerun enrols nobody again and sends nothing more
    assert await coupons_of(server, campaign["id"]) == Counter({missed_one.user_id: 1, missed_two.user_id: 1})
    assert len(await enrolled(server, campaign["id"])) == 2

    bad = await client.post(
        "/api/v1/campaigns",
        json={**body, "name": "坏", "trigger": {"type": "flash_sale_miss", "hours": 0}},
        headers=shop.shop.operator.headers,
    )
    assert bad.status_code == 422
