"""Rooms, stream keys, tenancy and the show lifecycle (publish decisions)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from livecircle.config import Settings
from livecircle.identity.schemas import Role
from livecircle.live import service
from livecircle.live.errors import AlreadyPublishing, PublishRefused
from tests.conftest import Account, RunningServer, make_account, make_room


async def stream_key(client: httpx.AsyncClient, owner: Account, room_id: int) -> str:
    response = await client.get(f"/api/v1/rooms/{room_id}/stream-key", headers=owner.headers)
    assert response.status_code == 200, response.text
    key: str = response.json()["stream_key"]
    return key


async def test_members_cannot_create_rooms_hosts_can(
    client: httpx.AsyncClient, viewer: Account, host: Account
) -> None:
    refused = await client.post("/api/v1/rooms", json={"title": "x"}, headers=viewer.headers)
    assert refused.status_code == 403
    assert refused.json()["code"] == "cannot_create_room"
    room = await make_room(client, host, title="新品直播")
    assert room["title"] == "新品直播"
    assert room["owner_id"] == host.user_id


async def test_stream_key_is_for_the_host_only(
    client: httpx.AsyncClient, host: Account, viewer: Account
) -> None:
    room = await make_room(client, host)
    key = await stream_key(client, host, room["id"])
    assert key.startswith("lc_")
    response = await client.get(f"/api/v1/rooms/{room['id']}/stream-key", headers=viewer.headers)
    assert response.status_code == 403
    assert response.json()["code"] == "not_room_owner"
    anonymous = await client.get(f"/api/v1/rooms/{room['id']}/stream-key")
    assert anonymous.status_code == 401


async def test_rotate_and_revoke_refuse_the_old_key(
    client: httpx.AsyncClient, server: RunningServer, host: Account
) -> None:
    room = await make_room(client, host)
    old = await stream_key(client, host, room["id"])
    rotated = (
        await client.post(f"/api/v1/rooms/{room['id']}/stream-key/rotate", headers=host.headers)
    ).json()
    assert rotated["stream_key"] not in (None, old)
    assert rotated["publish_url"].endswith(f"/ingest/{rotated['stream_key']}")
    async with server.db.unit_of_work() as session:
        with pytest.raises(PublishRefused):
            await service.check_publish(session, key=old)
    revoked = (await client.delete(f"/api/v1/rooms/{room['id']}/stream-key", headers=host.headers)).json()
    assert revoked["stream_key"] is None
    async with server.db.unit_of_work() as session:
        with pytest.raises(PublishRefused):
            await service.check_publish(session, key=rotated["stream_key"])
        with pytest.raises(PublishRefused):
            await service.check_publish(session, key="")


async def test_private_rooms_stay_inside_their_tenant(
    client: httpx.AsyncClient, server: RunningServer, host: Account, viewer: Account
) -> None:
    room = await make_room(client, host, title="内部培训", visibility="private")
    outsider = await make_account(server, tenant="other-brand")
    assert (await client.get(f"/api/v1/rooms/{room['id']}", headers=viewer.headers)).status_code == 200
    for headers in (outsider.headers, {}):
        response = await client.get(f"/api/v1/rooms/{room['id']}", headers=headers)
        assert response.status_code == 404
        assert response.json()["code"] == "room_not_found"
        listed = (await client.get("/api/v1/rooms", headers=headers)).json()
        assert room["id"] not in [r["id"] for r in listed]
        assert (await client.get(f"/hls/{room['id']}/index.m3u8", headers=headers)).status_code == 404
        assert (await client.get(f"/rooms/{room['id']}", headers=headers)).status_code == 404


async def test_outsider_operator_cannot_manage(
    client: httpx.AsyncClient, server: RunningServer, host: Account
) -> None:
    room = await make_room(client, host)
    operator_elsewhere = await make_account(server, tenant="other-brand", role=Role.OPERATOR)
    operator_here = await make_account(server, role=Role.OPERATOR)
    refused = await client.get(f"/api/v1/rooms/{room['id']}/stream-key", headers=operator_elsewhere.headers)
    assert refused.status_code == 403
    allowed = await client.get(f"/api/v1/rooms/{room['id']}/stream-key", headers=operator_here.headers)
    assert allowed.status_code == 200


async def test_scheduled_show_goes_live_on_publish(
    client: httpx.AsyncClient, server: RunningServer, host: Account
) -> None:
    room = await make_room(client, host)
    created = await client.post(
        f"/api/v1/rooms/{room['id']}/shows",
        json={"title": "周五上新", "scenario": "product_seeding"},
        headers=host.headers,
    )
    assert created.status_code == 201
    assert created.json()["status"] == "scheduled"
    key = await stream_key(client, host, room["id"])
    async with server.db.unit_of_work() as session:
        grant = await service.check_publish(session, key=key)
    assert grant.show_id == created.json()["id"]
    assert grant.stream_name == f"r{room['id']}"
    assert key not in grant.stream_name
    state = (await client.get(f"/api/v1/rooms/{room['id']}/state")).json()
    assert state["mode"] == "live"
    assert state["show"]["status"] == "live"
    assert state["show"]["scenario"] == "product_seeding"
    assert key not in state["playback_url"]


async def test_second_encoder_is_refused_while_one_publishes(
    client: httpx.AsyncClient, server: RunningServer, host: Account
) -> None:
    room = await make_room(client, host)
    key = await stream_key(client, host, room["id"])
    async with server.db.unit_of_work() as session:
        await service.check_publish(session, key=key)
    async with server.db.unit_of_work() as session:
        with pytest.raises(AlreadyPublishing):
            await service.check_publish(session, key=key)


async def test_reconnect_within_grace_continues_the_same_show(
    client: httpx.AsyncClient, server: RunningServer, host: Account
) -> None:
    room = await make_room(client, host)
    key = await stream_key(client, host, room["id"])
    async with server.db.unit_of_work() as session:
        first = await service.check_publish(session, key=key)
    async with server.db.unit_of_work() as session:
        await service.do_unpublish(session, show_id=first.show_id)
    await asyncio.sleep(0.5)  # well inside the 2 s grace configured for tests
    async with server.db.unit_of_work() as session:
        again = await service.check_publish(session, key=key)
    assert again.show_id == first.show_id
    assert again.resumed is True
    assert again.part == first.part + 1


async def test_show_ends_when_publisher_stays_away_past_grace(
    client: httpx.AsyncClient, server: RunningServer, host: Account
) -> None:
    room = await make_room(client, host)
    key = await stream_key(client, host, room["id"])
    async with server.db.unit_of_work() as session:
        grant = await service.check_publish(session, key=key)
    async with server.db.unit_of_work() as session:
        await service.do_unpublish(session, show_id=grant.show_id)
    grace = server.settings.media.reconnect_grace_seconds
    await asyncio.sleep(grace + 2)  # the sweeper runs every second
    shows = (await client.get(f"/api/v1/rooms/{room['id']}/shows")).json()
    assert shows[0]["id"] == grant.show_id
    assert shows[0]["status"] == "ended"
    async with server.db.unit_of_work() as session:
        later = await service.check_publish(session, key=key)
    assert later.show_id != grant.show_id
    assert later.resumed is False


def test_default_reconnect_grace_is_30_seconds() -> None:
    assert Settings().media.reconnect_grace_seconds == 30.0


async def test_host_ends_a_live_show(
    client: httpx.AsyncClient, server: RunningServer, host: Account, viewer: Account
) -> None:
    room = await make_room(client, host)
    key = await stream_key(client, host, room["id"])
    async with server.db.unit_of_work() as session:
        grant = await service.check_publish(session, key=key)
    refused = await client.post(f"/api/v1/shows/{grant.show_id}/end", headers=viewer.headers)
    assert refused.status_code == 403
    ended = await client.post(f"/api/v1/shows/{grant.show_id}/end", headers=host.headers)
    assert ended.status_code == 200
    assert ended.json()["status"] == "ended"
    assert (await client.get(f"/api/v1/rooms/{room['id']}/state")).json()["mode"] == "offline"


async def test_nginx_publish_hook_relays_good_keys_and_refuses_others(
    client: httpx.AsyncClient, host: Account, server: RunningServer
) -> None:
    room = await make_room(client, host)
    key = await stream_key(client, host, room["id"])
    form = {"app": "ingest", "call": "publish", "addr": "127.0.0.1", "clientid": "1", "type": "live"}
    wrong = await client.post("/hooks/rtmp/publish", data={**form, "name": "lc_wrong"})
    assert wrong.status_code == 403
    good = await client.post("/hooks/rtmp/publish", data={**form, "name": key})
    assert good.status_code == 302
    location = good.headers["location"]
    assert location == f"rtmp://127.0.0.1:{server.settings.media.rtmp_port}/show/r{room['id']}"
    assert key not in location
    update = await client.post("/hooks/rtmp/update", data={**form, "call": "update_publish", "name": key})
    assert update.status_code == 200
    await client.post(f"/api/v1/rooms/{room['id']}/stream-key/rotate", headers=host.headers)
    kicked = await client.post("/hooks/rtmp/update", data={**form, "call": "update_publish", "name": key})
    assert kicked.status_code == 403
    done = await client.post("/hooks/rtmp/publish_done", data={**form, "name": f"r{room['id']}"})
    assert done.status_code == 200
    state = (await client.get(f"/api/v1/rooms/{room['id']}/state")).json()
    assert state["show"]["publishing"] is False
