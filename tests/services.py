"""Real services for the test suite: PostgreSQL, Redis and nginx-rtmp on loopback.

Every service is started here, in a temporary directory and on a free port, and
stopped (and its directory removed) when its context manager exits — also on
errors. Nothing is ever assumed to be running already.

Standard library only (pytest for :func:`require`), so conftest files and
plain scripts can both import it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest

LOOPBACK = "127.0.0.1"
PG_SUPERUSER = "livecircle"
PG_DATABASE = "livecircle_test"
NGINX_RTMP_MODULE = Path("/usr/share/nginx/modules/ngx_rtmp_module.so")
CHROMIUM = Path("/usr/bin/chromium")
_PG_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


class ServiceError(RuntimeError):
    """A service did not start (or died); the message carries its log tail."""


# ---------------------------------------------------------------------------
# Policy: skip locally, fail in CI


def require(name: str, available: bool, why: str) -> None:
    """Skip the test when ``name`` is unavailable — or fail it when ``CI=true``."""
    if available:
        return
    message = f"{name} is required but unavailable: {why}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: missing services fail the run)")
    pytest.skip(message)


# ---------------------------------------------------------------------------
# Ports, waiting, logs, processes


def free_port() -> int:
    """A TCP port that was free on loopback a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, timeout: float = 15.0) -> None:
    """Block until ``host:port`` accepts TCP; :class:`ServiceError` after ``timeout`` seconds."""
    _wait_until(lambda: port_open(host, port), timeout=timeout, what=f"{host}:{port}")


def _wait_until(
    probe: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    process: subprocess.Popen[bytes] | None = None,
    logs: Sequence[Path] = (),
) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if process is not None and process.poll() is not None:
            raise ServiceError(f"{what} exited with code {process.returncode}{_tails(logs)}")
        if time.monotonic() > deadline:
            raise ServiceError(f"{what} not ready after {timeout:g}s{_tails(logs)}")
        time.sleep(0.05)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as error:
        return f"(cannot read: {error})"
    return "\n".join(text.splitlines()[-lines:]) or "(empty)"


def _tails(logs: Sequence[Path]) -> str:
    return "".join(f"\n--- {path} ---\n{_tail(path)}" for path in logs if path.exists())


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the child's whole process group (it leads one: start_new_session=True), then reap it."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _stop_process(process: subprocess.Popen[bytes], sig: signal.Signals, timeout: float) -> None:
    """Send ``sig``; if the process is still alive after ``timeout`` seconds, kill its group."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout)
    _kill_group(process)


@contextlib.contextmanager
def _spawn(command: Sequence[str], stderr_log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A child in its own process group, stderr to ``stderr_log``; always reaped on exit."""
    with stderr_log.open("wb") as stderr:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr, start_new_session=True
        )
    try:
        yield process
    finally:
        _kill_group(process)


# ---------------------------------------------------------------------------
# Detection


def _version_key(directory: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", directory.name)) or (0,)


def _has_server_binaries(bindir: Path) -> bool:
    return all(os.access(bindir / name, os.X_OK) for name in ("initdb", "pg_ctl", "postgres", "createdb"))


def _pg_config_bindir() -> Path | None:
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        return None
    result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False, timeout=10)
    return Path(result.stdout.strip()) if result.returncode == 0 and result.stdout.strip() else None


@functools.cache
def find_postgres_bindir() -> Path | None:
    """Highest ``/usr/lib/postgresql/<ver>/bin``, else ``pg_config --bindir``, else ``initdb`` on PATH."""
    root = Path("/usr/lib/postgresql")
    versions = sorted(root.glob("*/bin"), key=lambda bindir: _version_key(bindir.parent), reverse=True)
    initdb = shutil.which("initdb")
    candidates = [*versions, _pg_config_bindir(), Path(initdb).parent if initdb else None]
    return next((bindir for bindir in candidates if bindir and _has_server_binaries(bindir)), None)


def _unprivileged_user() -> pwd.struct_passwd | None:
    """Who runs initdb/pg_ctl when we are root (initdb refuses root): postgres, else nobody."""
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    return None


def _user_switch(user: pwd.struct_passwd) -> list[str] | None:
    if shutil.which("runuser"):
        return ["runuser", "-u", user.pw_name, "--"]
    if shutil.which("setpriv"):
        return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups", "--"]
    return None


def have_postgres() -> bool:
    if find_postgres_bindir() is None:
        return False
    if os.geteuid() != 0:
        return True
    user = _unprivileged_user()
    return user is not None and _user_switch(user) is not None


def have_redis() -> bool:
    return shutil.which("redis-server") is not None


def find_nginx() -> str | None:
    if os.access("/usr/sbin/nginx", os.X_OK):
        return "/usr/sbin/nginx"
    return shutil.which("nginx")


def have_nginx_rtmp() -> bool:
    return find_nginx() is not None and NGINX_RTMP_MODULE.is_file()


def have_ffmpeg() -> bool:
    """ffmpeg on PATH, or the binary of the imageio-ffmpeg wheel (the app's own fallback)."""
    if shutil.which("ffmpeg"):
        return True
    try:
        import imageio_ffmpeg  # optional: the app's fallback binary

        return Path(imageio_ffmpeg.get_ffmpeg_exe()).is_file()
    except (ImportError, RuntimeError):
        return False


def have_chromium() -> bool:
    return os.access(CHROMIUM, os.X_OK)


# ---------------------------------------------------------------------------
# PostgreSQL


def plain_dsn(url: str) -> str:
    """``postgresql+asyncpg://…`` → the libpq/asyncpg DSN ``postgresql://…``."""
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)


def _traversable(path: Path) -> bool:
    """Can any user reach ``path`` (o+x on it and every ancestor)?"""
    return all(parent.stat().st_mode & 0o001 for parent in (path, *path.parents))


def _pg_workdir(user: pwd.struct_passwd | None) -> Path:
    base = Path(tempfile.gettempdir())
    if user is not None and not _traversable(base):
        base = Path("/tmp")
    workdir = Path(tempfile.mkdtemp(prefix="livecircle-pg-", dir=base))
    if user is not None:
        os.chown(workdir, user.pw_uid, user.pw_gid)
    return workdir


def _pg_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    return {**env, "LC_ALL": "C", "LANG": "C"}


def _run(command: Sequence[str], what: str, cwd: Path, timeout: float, logs: Sequence[Path] = ()) -> None:
    result = subprocess.run(
        command, cwd=cwd, env=_pg_env(), capture_output=True, text=True, check=False, timeout=timeout
    )
    if result.returncode != 0:
        output = f"{result.stdout}{result.stderr}".strip()
        raise ServiceError(f"{what} failed ({result.returncode}): {output}{_tails(logs)}")


def _pg_conf_line(key: str, value: str | int) -> str:
    quoted = str(value).replace("'", "''")
    return f"{key} = '{quoted}'\n"


def _write_pg_conf(data: Path, workdir: Path, port: int, extra: Mapping[str, str]) -> None:
    settings: dict[str, str | int] = {
        "listen_addresses": LOOPBACK,
        "port": port,
        "unix_socket_directories": str(workdir),
        **extra,
    }
    with (data / "postgresql.conf").open("a") as conf:  # appending keeps the file's owner
        conf.writelines(_pg_conf_line(key, value) for key, value in settings.items())


def _kill_postmaster(data: Path) -> None:
    """Last resort if ``pg_ctl stop`` failed: SIGKILL the pid in postmaster.pid."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int((data / "postmaster.pid").read_text().splitlines()[0])
        os.kill(pid, signal.SIGKILL)


def _pg_stop(as_user: list[str], bindir: Path, data: Path, workdir: Path) -> None:
    if not (data / "postmaster.pid").exists():
        return
    try:
        _run(
            [*as_user, str(bindir / "pg_ctl"), "stop", "-D", str(data), "-m", "immediate", "-w", "-t", "20"],
            "pg_ctl stop",
            workdir,
            timeout=30,
        )
    except (ServiceError, subprocess.TimeoutExpired):
        _kill_postmaster(data)


@contextlib.contextmanager
def postgres_server(database: str = PG_DATABASE, timeout: float = 30.0) -> Iterator[str]:
    """A throw-away PostgreSQL cluster; yields ``postgresql+asyncpg://livecircle@127.0.0.1:PORT/<database>``.

    Use :func:`plain_dsn` for the libpq form. Durability is off (fsync etc.): test data only.
    """
    with postgres_cluster(database, timeout=timeout) as (url, _data):
        yield url


@contextlib.contextmanager
def postgres_cluster(
    database: str = PG_DATABASE, *, settings: Mapping[str, str] = _PG_SETTINGS, timeout: float = 30.0
) -> Iterator[tuple[str, Path]]:
    """:func:`postgres_server` with the ``postgresql.conf`` settings given; yields the URL and the
    data directory (whose ``postmaster.pid`` names the server process)."""
    bindir = find_postgres_bindir()
    if bindir is None:
        raise ServiceError("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found")
    user = _unprivileged_user() if os.geteuid() == 0 else None
    as_user = _user_switch(user) if user is not None else []
    if as_user is None:
        raise ServiceError("running as root and neither runuser nor setpriv is available")
    workdir = _pg_workdir(user)
    data, log, port = workdir / "data", workdir / "postgres.log", free_port()
    try:
        initdb = [str(bindir / "initdb"), "-D", str(data), "-U", PG_SUPERUSER, "--auth=trust", "-E", "UTF8"]
        _run([*as_user, *initdb, "--locale=C", "--no-sync"], "initdb", workdir, timeout=120)
        _write_pg_conf(data, workdir, port, settings)
        try:
            _run(
                [
                    *as_user,
                    str(bindir / "pg_ctl"),
                    "start",
                    "-D",
                    str(data),
                    "-l",
                    str(log),
                    "-w",
                    "-t",
                    str(int(timeout)),
                ],
                "pg_ctl start",
                workdir,
                timeout=timeout + 10,
                logs=[log],
            )
            wait_for_port(LOOPBACK, port, timeout)
            _run(
                [str(bindir / "createdb"), "-h", LOOPBACK, "-p", str(port), "-U", PG_SUPERUSER, database],
                "createdb",
                workdir,
                timeout=timeout,
                logs=[log],
            )
            yield f"postgresql+asyncpg://{PG_SUPERUSER}@{LOOPBACK}:{port}/{database}", data
        finally:
            _pg_stop(as_user, bindir, data, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------------------
# Redis


def _redis_pong(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def redis_server(timeout: float = 15.0) -> Iterator[str]:
    """A throw-away, non-persistent redis-server; yields ``redis://127.0.0.1:PORT/0``."""
    executable = shutil.which("redis-server")
    if executable is None:
        raise ServiceError("redis-server not found on PATH")
    with tempfile.TemporaryDirectory(prefix="livecircle-redis-") as tmp:
        workdir, port = Path(tmp), free_port()
        log = workdir / "redis.log"
        command = [
            executable,
            "--port",
            str(port),
            "--bind",
            LOOPBACK,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
            "--logfile",
            str(log),
            "--daemonize",
            "no",
        ]
        with _spawn(command, workdir / "stderr.log") as process:
            _wait_until(
                lambda: _redis_pong(port),
                timeout=timeout,
                what="redis-server",
                process=process,
                logs=[log, workdir / "stderr.log"],
            )
            try:
                yield f"redis://{LOOPBACK}:{port}/0"
            finally:
                _stop_process(process, signal.SIGTERM, 10.0)


# ---------------------------------------------------------------------------
# nginx (+ libnginx-mod-rtmp)


def _nginx_logs(conf_path: Path, prefix: Path) -> list[Path]:
    """error.log files nginx may have written: the conf's ``error_log`` targets and the default."""
    named = re.findall(r"^\s*error_log\s+([^\s;]+)", conf_path.read_text(errors="replace"), re.MULTILINE)
    files = [name for name in named if name not in ("stderr", "off") and not name.startswith("syslog:")]
    return [*(prefix / name for name in files), prefix / "logs" / "error.log"]


@contextlib.contextmanager
def nginx_server(
    conf_path: Path, prefix: Path, rtmp_port: int, timeout: float = 15.0, stop_timeout: float = 10.0
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``nginx -p PREFIX -c CONF`` (the conf must say ``daemon off;``) until ``rtmp_port`` accepts TCP.

    Yields the master process. On exit: SIGQUIT (graceful), then SIGKILL to the process group.
    """
    executable = find_nginx()
    if executable is None:
        raise ServiceError("nginx not found (/usr/sbin/nginx or PATH)")
    with tempfile.TemporaryDirectory(prefix="livecircle-nginx-") as tmp:
        stderr_log = Path(tmp) / "stderr.log"
        command = [executable, "-p", str(prefix), "-c", str(conf_path)]
        with _spawn(command, stderr_log) as process:
            logs = [stderr_log, *_nginx_logs(conf_path, prefix)]
            _wait_until(
                lambda: port_open(LOOPBACK, rtmp_port),
                timeout=timeout,
                what="nginx",
                process=process,
                logs=logs,
            )
            try:
                yield process
            finally:
                _stop_process(process, signal.SIGQUIT, stop_timeout)


@dataclasses.dataclass
class Node:
    """One ``livecircle serve`` process on loopback."""

    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def kill(self) -> None:
        """``kill -9`` the whole process group, as a crash or the OOM killer would."""
        _kill_group(self.process)


@contextlib.contextmanager
def livecircle_node(database_url: str, var_dir: Path, timeout: float = 30.0, **env: str) -> Iterator[Node]:
    """``livecircle serve`` (HTTP only, no media) on a free port, until it listens. ``env`` adds
    LIVECIRCLE_* variables; on exit SIGTERM, then SIGKILL."""
    port = free_port()
    variables = {
        **os.environ,
        "LIVECIRCLE_DATABASE_URL": database_url,
        "LIVECIRCLE_VAR_DIR": str(var_dir),
        "LIVECIRCLE_HTTP__PORT": str(port),
        "LIVECIRCLE_MEDIA__ADAPTER": "none",
        "LIVECIRCLE_LOG_LEVEL": "WARNING",
        **env,
    }
    executable = str(Path(sys.executable).parent / "livecircle")
    log = var_dir / f"node-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [executable, "serve"],
            env=variables,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            start_new_session=True,
        )
    try:
        _wait_until(
            lambda: port_open(LOOPBACK, port), timeout=timeout, what="livecircle", process=process, logs=[log]
        )
        yield Node(process=process, base_url=f"http://{LOOPBACK}:{port}", log=log)
    finally:
        _stop_process(process, signal.SIGTERM, 20)
