"""`livecircle serve` as `make run` starts it: HTTP + RTMP listening, demo room ready, JSON logs."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from tests import services

BIN = Path(sys.executable).parent


def test_serve_runs_the_demo_room_with_rtmp_and_json_logs(tmp_path: Path) -> None:
    http_port, rtmp_port = services.free_port(), services.free_port()
    env = {
        **os.environ,
        "LIVECIRCLE_VAR_DIR": str(tmp_path),
        "LIVECIRCLE_HTTP__PORT": str(http_port),
        "LIVECIRCLE_MEDIA__RTMP_PORT": str(rtmp_port),
    }
    env.pop("LIVECIRCLE_DATABASE_URL", None)
    for step in (["migrate"], ["demo"]):
        done = subprocess.run(
            [str(BIN / "livecircle"), *step],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
    demo = json.loads(
        subprocess.run(
            [str(BIN / "livecircle"), "demo", "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    )
    server = subprocess.Popen(
        [str(BIN / "livecircle"), "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        services.wait_for_port("127.0.0.1", http_port, 30)
        services.wait_for_port("127.0.0.1", rtmp_port, 10)
        base = f"http://127.0.0.1:{http_port}"
        assert httpx.get(f"{base}/readyz").json() == {"status": "ready"}
        room = httpx.get(demo["viewer_url"].replace("http://127.0.0.1:8000", base))
        assert room.status_code == 200
        assert "livecircle 演示直播间" in room.text
        with socket.create_connection(("127.0.0.1", rtmp_port), timeout=5):
            pass  # the embedded RTMP ingest accepts connections
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output, _ = server.communicate(timeout=20)
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines
    for line in lines:
        entry = json.loads(line)  # every log line is one JSON object
        assert {"ts", "level", "logger", "msg"} <= entry.keys()
