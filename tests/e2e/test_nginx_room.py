"""The same browser journey through Debian's nginx + libnginx-mod-rtmp, on PostgreSQL.

nginx (started here on loopback) calls our hooks: on_publish → 302 relay to the
internal ``show`` application, on_publish_done, on_record_done → replay.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser

from livecircle.demo import seed_demo
from livecircle.live.media.nginx import NginxLayout, render_conf
from tests import services
from tests.conftest import RunningServer, make_settings, migrate, run_server
from tests.e2e.journey import run_journey
from tests.media_tools import start_encoder, stop_encoder

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
async def nginx_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningServer]:
    services.require(
        "nginx-rtmp", services.have_nginx_rtmp(), "nginx with libnginx-mod-rtmp is not installed"
    )
    services.require("ffmpeg", services.have_ffmpeg(), "ffmpeg is not installed")
    services.require("postgresql", services.have_postgres(), "PostgreSQL server binaries not found")
    var = tmp_path_factory.mktemp("e2e-nginx")
    with services.postgres_server() as url:
        await asyncio.to_thread(migrate, url)
        settings = make_settings(url, var, adapter="nginx")
        work = var / "nginx"
        layout = NginxLayout(
            api_url=settings.http.base_url,
            rtmp_port=settings.media.rtmp_port,
            hls_dir=settings.hls_dir,
            record_dir=work / "rec",
            work_dir=work,
            segment_seconds=1,
            update_seconds=2,
            user="root" if os.geteuid() == 0 else None,
        )
        for directory in (work, layout.record_dir, layout.hls_dir):
            directory.mkdir(parents=True, exist_ok=True)
        conf = work / "nginx.conf"
        conf.write_text(render_conf(layout))
        async with run_server(settings) as server:
            with services.nginx_server(conf, work, settings.media.rtmp_port):
                yield server


async def test_journey_through_nginx_rtmp(browser: Browser, nginx_server: RunningServer) -> None:
    demo = await seed_demo(nginx_server.db, nginx_server.settings)
    hls_root = nginx_server.settings.hls_dir
    figures = await run_journey(browser, nginx_server.base_url, demo)
    assert figures["chat_seconds"] < 1.0
    # The secret key never names anything nginx wrote for HLS.
    assert not any(demo["stream_key"] in str(path) for path in hls_root.rglob("*"))


async def test_nginx_refuses_a_wrong_key(nginx_server: RunningServer) -> None:
    port = nginx_server.settings.media.rtmp_port
    encoder = await start_encoder(f"rtmp://127.0.0.1:{port}/ingest/lc_wrong-key", seconds=5)
    try:
        code = await asyncio.wait_for(encoder.wait(), 20)
    finally:
        await stop_encoder(encoder)
    assert code != 0
