"""The service helpers start real servers on loopback and leave nothing behind."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from tests import services

NO_NGINX_RTMP = "nginx with libnginx-mod-rtmp is not installed"


def rtmp_conf(prefix: Path, port: int) -> Path:
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"load_module {services.NGINX_RTMP_MODULE};\n"
        "daemon off;\n"
        f"pid {prefix}/nginx.pid;\n"
        f"error_log {prefix}/error.log warn;\n"
        "events {}\n"
        f"rtmp {{ server {{ listen 127.0.0.1:{port}; application live {{ live on; }} }} }}\n"
    )
    return conf


def redis_ping(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(64)


def test_free_port_is_bindable() -> None:
    port = services.free_port()
    assert 1024 <= port <= 65535
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_wait_for_port_times_out_on_a_closed_port() -> None:
    started = time.monotonic()
    with pytest.raises(services.ServiceError, match="not ready"):
        services.wait_for_port("127.0.0.1", services.free_port(), timeout=0.3)
    assert time.monotonic() - started < 3


def test_require_skips_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    services.require("present", True, "never raised")
    with pytest.raises(pytest.skip.Exception, match="widget is required but unavailable: no widget"):
        services.require("widget", False, "no widget")


def test_require_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        services.require("widget", False, "no widget")


def test_plain_dsn() -> None:
    url = "postgresql+asyncpg://livecircle@127.0.0.1:5432/livecircle_test"
    assert services.plain_dsn(url) == "postgresql://livecircle@127.0.0.1:5432/livecircle_test"


async def test_postgres_server_answers_select_1() -> None:
    services.require("postgresql", services.have_postgres(), "PostgreSQL server binaries not found")
    with services.postgres_server() as url:
        assert url.startswith("postgresql+asyncpg://livecircle@127.0.0.1:")
        assert url.endswith("/livecircle_test")
        connection = await asyncpg.connect(services.plain_dsn(url))
        try:
            assert await connection.fetchval("SELECT 1") == 1
            assert await connection.fetchval("SELECT current_database()") == "livecircle_test"
            assert await connection.fetchval("SHOW fsync") == "off"
        finally:
            await connection.close()
        port = urlsplit(url).port
        assert port is not None
    assert not services.port_open("127.0.0.1", port)


def test_redis_server_answers_ping() -> None:
    services.require("redis", services.have_redis(), "redis-server is not installed")
    with services.redis_server() as url:
        port = urlsplit(url).port
        assert port is not None
        assert url == f"redis://127.0.0.1:{port}/0"
        assert redis_ping(port).startswith(b"+PONG")
    assert not services.port_open("127.0.0.1", port)


def test_nginx_rtmp_accepts_tcp(tmp_path: Path) -> None:
    services.require(
        "nginx-rtmp", services.have_nginx_rtmp(), "nginx with libnginx-mod-rtmp is not installed"
    )
    port = services.free_port()
    with services.nginx_server(rtmp_conf(tmp_path, port), tmp_path, port) as process:
        assert process.poll() is None
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
    assert process.returncode is not None
    assert not services.port_open("127.0.0.1", port)


def test_nginx_with_a_broken_conf_fails_fast_with_its_log(tmp_path: Path) -> None:
    services.require(
        "nginx-rtmp", services.have_nginx_rtmp(), "nginx with libnginx-mod-rtmp is not installed"
    )
    port = services.free_port()
    conf = rtmp_conf(tmp_path, port)
    conf.write_text(conf.read_text() + "no_such_directive on;\n")
    started = time.monotonic()
    with (
        pytest.raises(services.ServiceError, match="no_such_directive") as raised,
        services.nginx_server(conf, tmp_path, port),
    ):
        pass
    assert "exited with code" in str(raised.value)
    assert time.monotonic() - started < 10


def test_postgres_failure_reports_the_log_and_cleans_up(monkeypatch: pytest.MonkeyPatch) -> None:
    services.require("postgresql", services.have_postgres(), "PostgreSQL server binaries not found")
    made: list[Path] = []
    real_workdir = services._pg_workdir

    def recorded(user: object) -> Path:
        made.append(real_workdir(user))  # type: ignore[arg-type]
        return made[-1]

    monkeypatch.setattr(services, "_pg_workdir", recorded)  # its own directory: other workers make theirs
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        monkeypatch.setattr(services, "free_port", lambda: squatter.getsockname()[1])
        with (
            pytest.raises(services.ServiceError, match="pg_ctl start failed") as raised,
            services.postgres_server(),
        ):
            pass
    assert "Address already in use" in str(raised.value)
    assert len(made) == 1
    assert not made[0].exists()
