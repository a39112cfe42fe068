"""Real video through the embedded adapter: ffmpeg → pyrtmp ingest → ffmpeg HLS → our HTTP layer."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from tests import services
from tests.conftest import Account, RunningServer, make_room
from tests.media_tools import start_encoder, stop_encoder

pytestmark = pytest.mark.media


@pytest.fixture(autouse=True)
def _needs_ffmpeg() -> None:
    services.require("ffmpeg", services.have_ffmpeg(), "ffmpeg is not installed")


async def publish_url(client: httpx.AsyncClient, host: Account, room_id: int) -> str:
    key = (await client.get(f"/api/v1/rooms/{room_id}/stream-key", headers=host.headers)).json()
    url: str = key["publish_url"]
    return url


async def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


async def live_playlist(client: httpx.AsyncClient, room_id: int, sid: str = "t1") -> str | None:
    response = await client.get(f"/hls/{room_id}/index.m3u8?sid={sid}")
    return response.text if response.status_code == 200 and ".ts" in response.text else None


async def test_push_plays_as_hls_and_ends_as_a_replay(
    client: httpx.AsyncClient, server: RunningServer, host: Account
) -> None:
    room = await make_room(client, host)
    encoder = await start_encoder(await publish_url(client, host, room["id"]))
    try:
        playlist = await wait_for(lambda: live_playlist(client, room["id"]), 20, "the live playlist")
        segment = next(line for line in playlist.splitlines() if line.endswith(".ts"))
        media = await client.get(f"/hls/{room['id']}/{segment}")
        assert media.status_code == 200
        assert media.content[:1] == b"\x47"  # MPEG-TS sync byte
        assert "#EXT-X-TARGETDURATION:1" in playlist or "#EXT-X-TARGETDURATION:2" in playlist
        state = (await client.get(f"/api/v1/rooms/{room['id']}/state")).json()
        assert state["mode"] == "live"
        await asyncio.sleep(3)
    finally:
        await stop_encoder(encoder)

    async def replay_state() -> dict[str, Any] | None:
        state: dict[str, Any] = (await client.get(f"/api/v1/rooms/{room['id']}/state")).json()
        return state if state["mode"] == "replay" else None

    state = await wait_for(replay_state, 15, "the show to end with a replay")
    assert state["show"]["status"] == "ended"
    replay = await client.get(state["playback_url"])
    assert replay.status_code == 200
    assert "#EXT-X-ENDLIST" in replay.text
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in replay.text
    first = next(line for line in replay.text.splitlines() if line.endswith(".ts"))
    assert (await client.get(first)).content[:1] == b"\x47"
    assert (await client.get(f"/hls/{room['id']}/index.m3u8")).status_code == 404


async def test_wrong_key_cannot_publish(
    client: httpx.AsyncClient, server: RunningServer, host: Account
) -> None:
    room = await make_room(client, host)
    port = server.settings.media.rtmp_port
    encoder = await start_encoder(f"rtmp://127.0.0.1:{port}/ingest/lc_not-the-key", seconds=5)
    code = await asyncio.wait_for(encoder.wait(), 20)
    assert code != 0
    state = (await client.get(f"/api/v1/rooms/{room['id']}/state")).json()
    assert state["mode"] == "offline"
    assert not (server.settings.hls_dir / f"r{room['id']}").exists()


async def test_revoking_the_key_kicks_the_live_publisher(
    client: httpx.AsyncClient, server: RunningServer, host: Account
) -> None:
    room = await make_room(client, host)
    encoder = await start_encoder(await publish_url(client, host, room["id"]))
    try:
        await wait_for(lambda: live_playlist(client, room["id"]), 20, "the live playlist")
        await client.delete(f"/api/v1/rooms/{room['id']}/stream-key", headers=host.headers)
        code = await asyncio.wait_for(encoder.wait(), 15)
        assert code != 0
    finally:
        await stop_encoder(encoder)


async def test_reconnect_within_grace_continues_the_show_and_replay(
    client: httpx.AsyncClient, server: RunningServer, host: Account
) -> None:
    room = await make_room(client, host)
    url = await publish_url(client, host, room["id"])
    first = await start_encoder(url)
    await wait_for(lambda: live_playlist(client, room["id"]), 20, "the live playlist")
    await asyncio.sleep(2)
    await stop_encoder(first)
    show_id = (await client.get(f"/api/v1/rooms/{room['id']}/state")).json()["show"]["id"]
    second = await start_encoder(url)
    try:
        await asyncio.sleep(4)
        state = (await client.get(f"/api/v1/rooms/{room['id']}/state")).json()
        assert state["mode"] == "live"
        assert state["show"]["id"] == show_id
        assert await live_playlist(client, room["id"])
    finally:
        await stop_encoder(second)

    async def replay() -> str | None:
        response = await client.get(f"/replay/{show_id}/index.m3u8")
        ok = response.status_code == 200 and "#EXT-X-DISCONTINUITY" in response.text
        return response.text if ok else None

    text = await wait_for(replay, 15, "a replay with both parts")
    assert f"/replay/{show_id}/1/" in text
    assert f"/replay/{show_id}/2/" in text


async def test_playlist_fetches_count_playback_sessions(
    client: httpx.AsyncClient, server: RunningServer, host: Account
) -> None:
    room = await make_room(client, host)
    encoder = await start_encoder(await publish_url(client, host, room["id"]))
    try:
        await wait_for(lambda: live_playlist(client, room["id"]), 20, "the live playlist")
        for sid in ("a1", "b2", "b2", "c3"):
            await client.get(f"/hls/{room['id']}/index.m3u8?sid={sid}")
        viewers = (await client.get(f"/api/v1/rooms/{room['id']}/viewers")).json()
        assert viewers["playback_sessions"] == 4  # t1 (from waiting), a1, b2, c3
        metrics = (await client.get("/metrics")).text
        assert "livecircle_hls_viewers " in metrics
        bad = await client.get(f"/hls/{room['id']}/index.m3u8?sid=../../x")
        assert bad.status_code == 422
    finally:
        await stop_encoder(encoder)
