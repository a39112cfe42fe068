"""The livecircle command: migrate, demo --json (idempotent), user create, media nginx-conf."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import services

CLI = str(Path(sys.executable).with_name("livecircle"))


def run(
    args: list[str], var: Path, *extra_env: tuple[str, str], input_text: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LIVECIRCLE_VAR_DIR": str(var), **dict(extra_env)}
    env.pop("LIVECIRCLE_DATABASE_URL", None)
    return subprocess.run(
        [CLI, *args], env=env, capture_output=True, text=True, timeout=120, check=False, input=input_text
    )


@pytest.fixture(scope="module")
def var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli")
    migrated = run(["migrate"], path)
    assert migrated.returncode == 0, migrated.stderr
    return path


def test_demo_json_is_idempotent_and_complete(var: Path) -> None:
    first = run(["demo", "--json"], var)
    second = run(["demo", "--json"], var)
    assert first.returncode == second.returncode == 0, first.stderr
    one, two = json.loads(first.stdout), json.loads(second.stdout)
    assert one == two
    for key in ("viewer_url", "host_url", "rtmp_url", "hls_url", "accounts"):
        assert one[key], key
    assert one["rtmp_url"].startswith("rtmp://127.0.0.1:1935/ingest/lc_")
    assert one["rtmp_url"].endswith(one["stream_key"])
    assert one["viewer_url"] == f"http://127.0.0.1:8000/rooms/{one['room_id']}"
    assert one["stream_key"] not in one["hls_url"]
    assert {a["role"] for a in one["accounts"]} >= {"host", "member"}
    assert all(a["password"] for a in one["accounts"])


def test_user_create_and_clear_errors(var: Path) -> None:
    ok = run(["user", "create", "ops@example.com", "--password", "s3cret-pass", "--role", "operator"], var)
    assert ok.returncode == 0, ok.stderr
    assert "as operator" in ok.stdout
    duplicate = run(["user", "create", "ops@example.com", "--password", "s3cret-pass"], var)
    assert duplicate.returncode == 2
    assert "already exists" in duplicate.stderr
    bad_role = run(["user", "create", "x@example.com", "--password", "s3cret-pass", "--role", "king"], var)
    assert bad_role.returncode == 2
    assert "role must be one of" in bad_role.stderr
    short = run(["user", "create", "y@example.com", "--password", "short"], var)
    assert short.returncode == 2
    assert "at least 8 characters" in short.stderr


def test_nginx_conf_is_accepted_by_nginx(var: Path, tmp_path: Path) -> None:
    services.require(
        "nginx-rtmp", services.have_nginx_rtmp(), "nginx with libnginx-mod-rtmp is not installed"
    )
    conf = tmp_path / "nginx.conf"
    result = run(["media", "nginx-conf", "-o", str(conf), "--work-dir", str(tmp_path / "work")], var)
    assert result.returncode == 0, result.stderr
    text = conf.read_text()
    assert "on_publish http://127.0.0.1:8000/hooks/rtmp/publish;" in text
    assert "application show" in text
    ingest = text.split("application ingest", 1)[1].split("}", 1)[0]
    assert "wait_key on;" in ingest  # the relay starts on a keyframe: the first fragment has video
    assert "wait_video on;" in ingest
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    checked = subprocess.run(
        [nginx, "-t", "-c", str(conf), "-p", str(tmp_path / "work")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr


def test_production_refuses_the_placeholder_secret(var: Path) -> None:
    result = run(["demo", "--json"], var, ("LIVECIRCLE_ENV", "production"))
    assert result.returncode != 0
    assert "LIVECIRCLE_SECRET_KEY" in result.stderr
