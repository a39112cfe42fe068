"""Communities over the real API, on SQLite and PostgreSQL: create, the host's join card in a
live room (the join counted once and credited to the show), concurrent joins counted exactly,
member-only groups by tier, invite-link attribution, leave, roles, and the pages."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import select

from livecircle.community.models import Community, CommunityMember
from livecircle.identity.schemas import Role
from tests.conftest import Account, RunningServer, make_account, make_room
from tests.room_kit import go_live, sock, wait_for

Json = dict[str, Any]


def problem(answer: httpx.Response, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == code


async def create(client: httpx.AsyncClient, who: Account, **fields: Any) -> Json:
    body = {
        "name": "品牌茶友会",
        "description": "喝茶、聊茶、抢福利",
        "rules": "友善发言，不发广告",
        **fields,
    }
    answer = await client.post("/api/v1/communities", json=body, headers=who.headers)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def join(client: httpx.AsyncClient, who: Account, community_id: int, **body: Any) -> httpx.Response:
    return await client.post(f"/api/v1/communities/{community_id}/join", json=body, headers=who.headers)


async def member_row(server: RunningServer, community_id: int, user_id: int) -> CommunityMember | None:
    async with server.db.unit_of_work() as session:
        return await session.get(CommunityMember, (community_id, user_id))


async def stored_count(server: RunningServer, community_id: int) -> tuple[int, int]:
    """The group's kept counter and the number of member rows: they must agree."""
    async with server.db.unit_of_work() as session:
        community = await session.get(Community, community_id)
        assert community is not None
        rows = (
            await session.scalars(select(CommunityMember).where(CommunityMember.community_id == community_id))
        ).all()
        return community.member_count, len(rows)


async def test_host_creates_a_community_and_a_member_cannot(
    server: RunningServer, client: httpx.AsyncClient, host: Account, viewer: Account
) -> None:
    room = await make_room(client, host)
    community = await create(client, host, room_id=room["id"])
    assert (community["member_count"], community["my_role"], community["room_id"]) == (1, "owner", room["id"])
    problem(
        await client.post("/api/v1/communities", json={"name": "x"}, headers=viewer.headers),
        403,
        "not_a_member",
    )
    problem(
        await client.post("/api/v1/communities", json={"name": ""}, headers=host.headers),
        422,
        "validation_error",
    )
    other_host = await make_account(server, role=Role.HOST, name="另一位主播")
    answer = await client.post(
        "/api/v1/communities", json={"name": "借用直播间", "room_id": room["id"]}, headers=other_host.headers
    )
    assert answer.status_code == 403, answer.text  # a room the caller does not manage


async def test_a_viewer_joins_from_the_pushed_card_once_and_the_show_is_credited(
    server: RunningServer, client: httpx.AsyncClient, host: Account, viewer: Account
) -> None:
    room = await make_room(client, host, title="社群直播间")
    community = await create(client, host, room_id=room["id"])
    problem(
        await client.post(f"/api/v1/communities/{community['id']}/card", headers=host.headers),
        409,
        "show_not_live",
    )
    show_id = await go_live(client, host, room["id"])
    async with sock(server, room["id"], viewer) as ws:
        problem(
            await client.post(f"/api/v1/communities/{community['id']}/card", headers=viewer.headers),
            403,
            "not_room_owner",
        )
        pushed = await client.post(f"/api/v1/communities/{community['id']}/card", headers=host.headers)
        assert pushed.json() == {"community_id": community["id"], "show_id": show_id}
        card = await wait_for(ws, lambda e: e.get("type") == "community_card")
        assert card["show_id"] == show_id
        assert card["community"]["name"] == "品牌茶友会"
        assert card["community"]["member_count"] == 1
        assert "owner_id" not in card["community"]

        problem(await join(client, viewer, community["id"], show_id=show_id + 1000), 409, "show_not_live")
        first = await join(client, viewer, community["id"], show_id=show_id)
        assert first.status_code == 200, first.text
        assert (first.json()["member_count"], first.json()["my_role"]) == (2, "member")
        count = await wait_for(ws, lambda e: e.get("type") == "community_count")
        assert count["community"] == {"id": community["id"], "member_count": 2}

    again = await join(client, viewer, community["id"], show_id=show_id)
    assert again.json()["member_count"] == 2  # joining twice counts once
    row = await member_row(server, community["id"], viewer.user_id)
    assert row is not None
    assert (row.source, row.show_id, row.inviter_id) == ("room", show_id, None)
    assert await stored_count(server, community["id"]) == (2, 2)

    mine = (await client.get("/api/v1/me/communities", headers=viewer.headers)).json()
    assert [(c["id"], c["my_role"]) for c in mine][:1] == [(community["id"], "member")]
    members = (
        await client.get(f"/api/v1/communities/{community['id']}/members", headers=viewer.headers)
    ).json()
    assert [(m["display_name"], m["role"], m["source"]) for m in members] == [
        ("主播", "owner", "page"),
        ("观众甲", "member", "room"),
    ]
    assert (await client.post("/api/v1/communities/1/join", headers={})).status_code == 401


async def test_a_burst_of_joins_is_counted_exactly(
    server: RunningServer, client: httpx.AsyncClient, host: Account
) -> None:
    community = await create(client, host)
    crowd = await asyncio.gather(*(make_account(server, name=f"粉丝{n}") for n in range(12)))
    # Every viewer clicks twice at once: 12 members, not 24, and the counter agrees with the rows.
    answers = await asyncio.gather(*(join(client, who, community["id"]) for who in crowd + crowd))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers if a.status_code != 200]
    assert await stored_count(server, community["id"]) == (13, 13)


async def test_a_member_only_community_refuses_lower_tiers(
    server: RunningServer, client: httpx.AsyncClient, host: Account, viewer: Account
) -> None:
    premium = await create(client, host, name="高级会员俱乐部", min_tier="premium")
    problem(await join(client, viewer, premium["id"]), 403, "community_tier_required")
    assert await member_row(server, premium["id"], viewer.user_id) is None
    open_group = await create(client, host, name="开放群", min_tier=None)
    assert (await join(client, viewer, open_group["id"])).status_code == 200


async def test_an_invite_link_attributes_the_join_to_the_inviter(
    server: RunningServer, client: httpx.AsyncClient, host: Account, viewer: Account, other_viewer: Account
) -> None:
    community = await create(client, host)
    assert (await join(client, viewer, community["id"])).status_code == 200
    code = (await client.get("/api/v1/me/invite", headers=viewer.headers)).json()["code"]
    assert (await join(client, other_viewer, community["id"], invite_code=code.lower())).status_code == 200
    row = await member_row(server, community["id"], other_viewer.user_id)
    assert row is not None
    assert (row.source, row.inviter_id, row.show_id) == ("invite", viewer.user_id, None)
    # One's own code attributes nothing; an unknown code is ignored rather than refused.
    third = await make_account(server, name="丙")
    own = (await client.get("/api/v1/me/invite", headers=third.headers)).json()["code"]
    assert (await join(client, third, community["id"], invite_code=own)).status_code == 200
    row = await member_row(server, community["id"], third.user_id)
    assert row is not None
    assert (row.source, row.inviter_id) == ("page", None)


async def test_leave_roles_and_who_may_do_what(
    server: RunningServer, client: httpx.AsyncClient, host: Account, viewer: Account, other_viewer: Account
) -> None:
    community = await create(client, host)
    cid = community["id"]
    problem(
        await client.get(f"/api/v1/communities/{cid}/members", headers=viewer.headers),
        403,
        "not_community_member",
    )
    await join(client, viewer, cid)
    await join(client, other_viewer, cid)
    role_url = f"/api/v1/communities/{cid}/members/{other_viewer.user_id}/role"
    problem(
        await client.put(role_url, json={"role": "admin"}, headers=viewer.headers), 403, "not_community_admin"
    )
    made = await client.put(
        f"/api/v1/communities/{cid}/members/{viewer.user_id}/role",
        json={"role": "admin"},
        headers=host.headers,
    )
    assert made.json()["role"] == "admin"
    patched = await client.patch(
        f"/api/v1/communities/{cid}", json={"description": "新简介"}, headers=viewer.headers
    )
    assert patched.json()["description"] == "新简介"  # admins edit the group
    problem(
        await client.put(
            f"/api/v1/communities/{cid}/members/{host.user_id}/role",
            json={"role": "member"},
            headers=viewer.headers,
        ),
        409,
        "community_role_refused",
    )
    problem(
        await client.delete(f"/api/v1/communities/{cid}/join", headers=host.headers),
        409,
        "community_owner_cannot_leave",
    )
    assert (
        await client.delete(f"/api/v1/communities/{cid}/join", headers=other_viewer.headers)
    ).status_code == 204
    assert (
        await client.delete(f"/api/v1/communities/{cid}/join", headers=other_viewer.headers)
    ).status_code == 204
    assert await stored_count(server, cid) == (2, 2)
    problem(await client.get("/api/v1/communities/999999"), 404, "community_not_found")


async def test_the_pages_list_my_communities_first(
    client: httpx.AsyncClient, host: Account, viewer: Account
) -> None:
    joined = await create(client, host, name="我加入的群")
    other = await create(client, host, name="还没加入的群")
    await join(client, viewer, joined["id"])
    page = await client.get("/communities", headers=viewer.headers)
    assert page.status_code == 200
    mine, _, rest = page.text.partition('id="other-communities"')
    assert "我加入的群" in mine
    assert "还没加入的群" not in mine
    assert "还没加入的群" in rest
    detail = await client.get(f"/communities/{other['id']}", headers=viewer.headers)
    assert 'id="community-join"' in detail.text
    assert "友善发言，不发广告" in detail.text
