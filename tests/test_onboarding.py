"""The room's first-visit guide over the real API, on SQLite and PostgreSQL: the rules as the
room's chat policy and communities set them, the new-user coupon and the follow gift of the
room's tenant, and where the viewer stands (a follow hands out the gift, and the guide says so)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from livecircle.identity.schemas import Role
from tests.conftest import Account, RunningServer, make_account, make_room

Json = dict[str, Any]


async def template(client: httpx.AsyncClient, operator: Account, **fields: Any) -> Json:
    answer = await client.post("/api/v1/coupon-templates", json=fields, headers=operator.headers)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def guide(client: httpx.AsyncClient, room_id: int, who: Account | None = None) -> Json:
    answer = await client.get(f"/api/v1/rooms/{room_id}/guide", headers=who.headers if who else None)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def until_following_gift(client: httpx.AsyncClient, room_id: int, who: Account) -> Json:
    """The follow gift is handed out after the follow commits (a domain event): wait for it."""
    for _ in range(100):
        seen = await guide(client, room_id, who)
        if seen["follow_gifts"][0]["held"]:
            return seen
        await asyncio.sleep(0.05)
    raise AssertionError("the follow gift never arrived")


async def test_the_guide_explains_rules_coupons_and_the_follow_gift(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    tenant = f"guide-{uuid.uuid4().hex[:8]}"  # a tenant of its own: no other test's coupons
    operator = await make_account(server, role=Role.OPERATOR, tenant=tenant, name="运营")
    host = await make_account(server, role=Role.HOST, tenant=tenant, name="主播")
    room = await make_room(client, host, title="新手直播间")
    await template(
        client, operator, name="新人立减券", kind="fixed", amount_off_cents=1000, channel="new_user"
    )
    gift = await template(
        client,
        operator,
        name="关注有礼",
        kind="percent",
        percent_off=10,
        min_spend_cents=5000,
        channel="follow",
    )
    await template(client, operator, name="已停用", kind="fixed", amount_off_cents=1, channel="follow")
    await client.patch(
        f"/api/v1/coupon-templates/{gift['id'] + 1}", json={"enabled": False}, headers=operator.headers
    )
    policy = {"mode": "followers", "slow_mode_seconds": 10}
    changed = await client.patch(f"/api/v1/rooms/{room['id']}/chat-policy", json=policy, headers=host.headers)
    assert changed.status_code == 200, changed.text
    community = {"name": "茶友会", "rules": "不发广告", "room_id": room["id"]}
    assert (await client.post("/api/v1/communities", json=community, headers=host.headers)).status_code == 201

    anonymous = await guide(client, room["id"])
    assert (anonymous["signed_in"], anonymous["following"]) == (False, False)
    rules = anonymous["rules"]
    assert (rules["chat_mode"], rules["slow_mode_seconds"]) == ("followers", 10)
    assert (rules["rate_limit_messages"], rules["rate_limit_seconds"]) == (20, 30.0)
    assert [(c["name"], c["rules"]) for c in rules["community_rules"]] == [("茶友会", "不发广告")]
    assert [(c["name"], c["amount_off_cents"], c["held"]) for c in anonymous["new_user_coupons"]] == [
        ("新人立减券", 1000, False)
    ]
    assert [(c["name"], c["percent_off"], c["min_spend_cents"]) for c in anonymous["follow_gifts"]] == [
        ("关注有礼", 10, 5000)
    ]  # the disabled template is not offered

    viewer = await make_account(server, tenant=tenant, name="新观众")
    assert (await client.put(f"/api/v1/rooms/{room['id']}/follow", headers=viewer.headers)).status_code == 204
    seen = await until_following_gift(client, room["id"], viewer)
    assert (seen["signed_in"], seen["following"], seen["is_host"]) == (True, True, False)
    assert (await guide(client, room["id"], host))["is_host"] is True
    assert (await client.get("/api/v1/rooms/999999/guide")).status_code == 404
