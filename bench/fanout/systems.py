"""The three servers under test, each started as a subprocess pinned to cpu 0.

``livecircle``: ``livecircle migrate`` then ``livecircle serve`` on SQLite in a temp
dir (media adapter ``none``), with sender accounts seeded first. The peers
(bench/peers/): ``node_ws_batched`` speaks our protocol with the same tick batching;
``socketio`` is a plain socket.io 4 room broadcast.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.fanout.wire import LIVECIRCLE, SOCKETIO, Dialect

HOST = "127.0.0.1"
PEERS = Path(__file__).resolve().parents[1] / "peers"
SERVER_CPU = 0
LOAD_CPU = 1


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    dialect: Dialect
    port: int
    pid: int
    room_id: int
    tokens: list[str | None]  # one per sender; None where the server needs no account
    info: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Options:
    tick_ms: int
    senders: int
    workdir: Path
    livecircle_ref: str | None = None
    livecircle_loop: str = "default"
    livecircle_env: dict[str, str] = field(default_factory=dict)


Starter = Callable[[Options], contextlib.AbstractAsyncContextManager[Target]]


def pinned(argv: list[str]) -> list[str]:
    """``taskset -c 0 argv`` when there are two CPUs to split (server cpu0, load client cpu1)."""
    taskset = shutil.which("taskset")
    if taskset is None or (os.cpu_count() or 1) < 2:
        return argv
    return [taskset, "-c", str(SERVER_CPU), *argv]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def running(argv: list[str], *, env: dict[str, str], cwd: Path, port: int) -> AsyncIterator[int]:
    """Start ``argv``, wait for GET /healthz, yield its pid; terminate it on the way out."""
    log = (cwd / "server.log").open("wb")
    proc = subprocess.Popen(pinned(argv), env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    try:
        await _healthy(proc, port, cwd / "server.log")
        yield proc.pid
    finally:
        proc.terminate()
        try:
            await asyncio.to_thread(proc.wait, 15)
        except subprocess.TimeoutExpired:
            proc.kill()
            await asyncio.to_thread(proc.wait)
        log.close()


async def _healthy(proc: subprocess.Popen[bytes], port: int, log: Path, timeout: float = 60) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        with contextlib.suppress(OSError):
            reader, writer = await asyncio.open_connection(HOST, port)
            writer.write(f"GET /healthz HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
            status = await reader.readline()
            writer.close()
            if b" 200 " in status:
                return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"server not healthy after {timeout} s:\n{log.read_text()[-2000:]}")


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVECIRCLE_")}
    env.update(extra)
    return env


REPO = Path(__file__).resolve().parents[2]
CLI = "from livecircle.cli import main; main()"  # what the ``livecircle`` console script runs
# ``livecircle serve`` (cli.serve) word for word, but on the stdlib event loop instead of uvloop.
SERVE_ON_ASYNCIO = (
    "import uvicorn; from livecircle.config import get_settings; s = get_settings(); "
    "uvicorn.run('livecircle.main:create_app', factory=True, host=s.http.host, port=s.http.port, "
    "log_config=None, ws_per_message_deflate=False, proxy_headers=True, loop='asyncio')"
)


@contextlib.asynccontextmanager
async def livecircle(opts: Options) -> AsyncIterator[Target]:
    port = free_port()
    workdir = opts.workdir / "livecircle"
    workdir.mkdir()
    source, described = await asyncio.to_thread(_livecircle_source, opts.livecircle_ref, workdir)
    env = _clean_env(
        PYTHONPATH=os.pathsep.join([str(source), str(REPO)]),
        LIVECIRCLE_ENV="development",
        LIVECIRCLE_VAR_DIR=str(workdir / "var"),
        LIVECIRCLE_DATABASE_URL=f"sqlite+aiosqlite:///{workdir / 'livecircle.db'}",
        LIVECIRCLE_HTTP__HOST=HOST,
        LIVECIRCLE_HTTP__PORT=str(port),
        LIVECIRCLE_MEDIA__ADAPTER="none",
        LIVECIRCLE_REALTIME__TICK_MS=str(opts.tick_ms),
        LIVECIRCLE_LOG_LEVEL="WARNING",
        **opts.livecircle_env,
    )
    await _check_output([sys.executable, "-c", CLI, "migrate"], env=env, cwd=workdir)
    seeded = json.loads(
        await _check_output(
            [sys.executable, "-m", "bench.fanout.seed", env["LIVECIRCLE_DATABASE_URL"], str(opts.senders)],
            env=env,
            cwd=workdir,
        )
    )
    serve = [sys.executable, "-c", CLI, "serve"]
    if opts.livecircle_loop == "asyncio":
        serve = [sys.executable, "-c", SERVE_ON_ASYNCIO]
    async with running(serve, env=env, cwd=workdir, port=port) as pid:
        yield Target(
            name="livecircle",
            dialect=LIVECIRCLE,
            port=port,
            pid=pid,
            room_id=seeded["room_id"],
            tokens=list(seeded["tokens"]),
            info={
                "server": _python_server_info(pid),
                "source": described,
                "serve": "livecircle serve"
                if serve[2] == CLI
                else "cli.serve's uvicorn.run with loop='asyncio'",
                "env": opts.livecircle_env,
            },
        )


def _livecircle_source(ref: str | None, workdir: Path) -> tuple[Path, str]:
    """The ``src`` dir to run and what it is: the working tree's, or ``ref`` exported with
    ``git archive`` (the working tree may be half-edited by others while the bench runs).
    The ref is resolved once, so a commit landing meanwhile cannot mislabel the run."""
    sha = _rev_parse(ref or "HEAD")
    if ref is None:
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "src"], cwd=REPO, capture_output=True, check=False
        )
        changes = " (with uncommitted changes in src/)" if dirty.stdout else ""
        return REPO / "src", f"working tree on {sha[:7]}{changes}"
    export = workdir / "source"
    export.mkdir()
    archive = subprocess.run(
        ["git", "archive", "--format=tar", sha, "src", "migrations"],
        cwd=REPO,
        capture_output=True,
        check=True,
    )
    subprocess.run(["tar", "-x", "-C", str(export)], input=archive.stdout, check=True)
    return export / "src", f"{ref} = {sha[:7]}"


def _rev_parse(ref: str) -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--verify", f"{ref}^{{commit}}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


async def _check_output(argv: list[str], *, env: dict[str, str], cwd: Path) -> str:
    done = await asyncio.to_thread(subprocess.run, argv, env=env, cwd=cwd, capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{argv[1:4]} failed:\n{done.stderr.decode()[-2000:]}")
    return done.stdout.decode()


def _python_server_info(pid: int) -> dict[str, Any]:
    """Which event loop, HTTP parser and WebSocket implementation ``livecircle serve`` runs on."""
    from uvicorn.protocols.websockets.auto import AutoWebSocketsProtocol

    maps = Path(f"/proc/{pid}/maps").read_text()
    return {
        "uvloop": "/uvloop/loop." in maps,
        "httptools": "/httptools/parser/" in maps,
        "ws_protocol": getattr(AutoWebSocketsProtocol, "__name__", None),
    }


def ensure_node_modules() -> None:
    if (PEERS / "node_modules").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm not found: the Node peers need Node 20+ and npm")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=PEERS, check=True, stdout=sys.stderr)


def _node_peer(script: str, name: str, dialect: Dialect) -> Starter:
    @contextlib.asynccontextmanager
    async def start(opts: Options) -> AsyncIterator[Target]:
        await asyncio.to_thread(ensure_node_modules)
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node not found")
        port = free_port()
        workdir = opts.workdir / name
        workdir.mkdir()
        env = _clean_env(PORT=str(port), HOST=HOST, TICK_MS=str(opts.tick_ms), NODE_ENV="production")
        async with running([node, str(PEERS / script)], env=env, cwd=workdir, port=port) as pid:
            yield Target(
                name=name,
                dialect=dialect,
                port=port,
                pid=pid,
                room_id=1,
                tokens=[None] * opts.senders,
                info={"server": {"node": _node_version(node), "script": f"bench/peers/{script}"}},
            )

    return start


def _node_version(node: str) -> str:
    return subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()


SYSTEMS: dict[str, Starter] = {
    "livecircle": livecircle,
    "node_ws_batched": _node_peer("ws_batched.js", "node_ws_batched", LIVECIRCLE),
    "socketio": _node_peer("socketio_rooms.js", "socketio", SOCKETIO),
}


def workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="lc-fanout-"))
