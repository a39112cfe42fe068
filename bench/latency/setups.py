"""The three setups, each started on free loopback ports in its own directory and stopped on exit.

Each yields a :class:`Target`: where the encoder pushes and where the player reads HLS.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path

from bench.latency.procs import LOOPBACK, BenchError, free_port, run, spawn, wait_for_port

RTMP_MODULE = Path("/usr/share/nginx/modules/ngx_rtmp_module.so")


@dataclass(frozen=True)
class Target:
    rtmp_url: str
    http_base: str  # e.g. http://127.0.0.1:8000
    playlist_path: str  # e.g. /hls/1/index.m3u8?sid=bench
    description: str


Setup = Callable[[Path], AbstractAsyncContextManager[Target]]


def find_nginx() -> str:
    nginx = "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else shutil.which("nginx")
    if nginx is None or not RTMP_MODULE.is_file():
        raise BenchError("nginx with libnginx-mod-rtmp is not installed")
    return nginx


def _livecircle_bin() -> str:
    beside = Path(sys.executable).with_name("livecircle")
    found = str(beside) if beside.exists() else shutil.which("livecircle")
    if found is None:
        raise BenchError("the livecircle command is not installed (pip install -e .)")
    return found


def _livecircle_env(var: Path, adapter: str) -> dict[str, str]:
    """Default settings except where things live: SQLite and media under ``var``, free ports."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("LIVECIRCLE_")}
    return {
        **env,
        "PYTHONUNBUFFERED": "1",
        "LIVECIRCLE_VAR_DIR": str(var),
        "LIVECIRCLE_LOG_LEVEL": "WARNING",
        "LIVECIRCLE_HTTP__PORT": str(free_port()),
        "LIVECIRCLE_MEDIA__RTMP_PORT": str(free_port()),
        "LIVECIRCLE_MEDIA__ADAPTER": adapter,
    }


@contextlib.asynccontextmanager
async def _livecircle(workdir: Path, adapter: str) -> AsyncIterator[tuple[dict[str, str], dict[str, object]]]:
    """migrate, seed the demo, serve; yields the env and the demo info (rtmp_url, hls_url, …)."""
    lc, env = _livecircle_bin(), _livecircle_env(workdir / "var", adapter)
    run([lc, "migrate"], env=env, cwd=workdir)
    demo: dict[str, object] = json.loads(run([lc, "demo", "--json"], env=env, cwd=workdir))
    log = workdir / "serve.log"
    with spawn([lc, "serve"], log, env=env, cwd=workdir) as server:
        await wait_for_port(int(env["LIVECIRCLE_HTTP__PORT"]), server, log)
        yield env, demo


def _target_of(env: dict[str, str], demo: dict[str, object], description: str) -> Target:
    base = f"http://{LOOPBACK}:{env['LIVECIRCLE_HTTP__PORT']}"
    # ?sid= is optional (viewer counting only); a real player sends one, so do we.
    path = f"/hls/{demo['room_id']}/index.m3u8?sid=latencybench"
    return Target(rtmp_url=str(demo["rtmp_url"]), http_base=base, playlist_path=path, description=description)


@contextlib.asynccontextmanager
async def livecircle_embedded(workdir: Path) -> AsyncIterator[Target]:
    async with _livecircle(workdir, "embedded") as (env, demo):
        yield _target_of(env, demo, "livecircle serve, embedded adapter: pyrtmp → ffmpeg -c copy → HLS")


@contextlib.asynccontextmanager
async def livecircle_nginx(workdir: Path) -> AsyncIterator[Target]:
    nginx = find_nginx()
    async with _livecircle(workdir, "nginx") as (env, demo):
        work, conf = workdir / "nginx", workdir / "nginx" / "nginx.conf"
        user = ["--user", "root"] if os.geteuid() == 0 else []  # workers must write the HLS dir
        command = [_livecircle_bin(), "media", "nginx-conf", "-o", str(conf), "--work-dir", str(work)]
        run([*command, *user], env=env, cwd=workdir)
        log = workdir / "nginx.log"
        with spawn([nginx, "-p", str(work), "-c", str(conf)], log, stop_signal=signal.SIGQUIT) as proc:
            await wait_for_port(int(env["LIVECIRCLE_MEDIA__RTMP_PORT"]), proc, work / "error.log")
            yield _target_of(
                env, demo, "livecircle serve, nginx adapter: nginx-rtmp ingest → 302 relay → show app HLS"
            )


def stock_nginx_conf(work: Path, *, rtmp_port: int, http_port: int) -> str:
    """The nginx-rtmp README's HLS example; the HLS values are the module defaults, spelled out."""
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "".join(
        f"  {kind}_temp_path {work}/tmp/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""load_module {RTMP_MODULE};
{user}worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 1024; }}
rtmp {{
  server {{
    listen {LOOPBACK}:{rtmp_port};
    application live {{
      live on;
      hls on;
      hls_path {work}/hls;
      hls_fragment 5s;
      hls_playlist_length 30s;
    }}
  }}
}}
http {{
  access_log off;
{temp}  server {{
    listen {LOOPBACK}:{http_port};
    location /hls {{
      types {{ application/vnd.apple.mpegurl m3u8; video/mp2t ts; }}
      root {work};
      add_header Cache-Control no-cache;
    }}
  }}
}}
"""


@contextlib.asynccontextmanager
async def nginx_rtmp_stock(workdir: Path) -> AsyncIterator[Target]:
    nginx, work = find_nginx(), workdir / "nginx"
    (work / "tmp").mkdir(parents=True)
    (work / "hls").mkdir()
    rtmp_port, http_port = free_port(), free_port()
    conf = work / "nginx.conf"
    conf.write_text(stock_nginx_conf(work, rtmp_port=rtmp_port, http_port=http_port))
    log = workdir / "nginx.log"
    with spawn([nginx, "-p", str(work), "-c", str(conf)], log, stop_signal=signal.SIGQUIT) as proc:
        await wait_for_port(rtmp_port, proc, work / "error.log")
        await wait_for_port(http_port, proc, work / "error.log")
        yield Target(
            rtmp_url=f"rtmp://{LOOPBACK}:{rtmp_port}/live/stream",
            http_base=f"http://{LOOPBACK}:{http_port}",
            playlist_path="/hls/stream.m3u8",
            description="nginx 1.22 + libnginx-mod-rtmp, README HLS example, hls_fragment 5s, "
            "hls_playlist_length 30s (module defaults)",
        )


SETUPS: dict[str, Setup] = {
    "livecircle_embedded": livecircle_embedded,
    "livecircle_nginx": livecircle_nginx,
    "nginx_rtmp_stock": nginx_rtmp_stock,
}
PEERS = {"nginx_rtmp_stock"}
