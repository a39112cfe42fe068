"""Child processes for the bench: own process group, stderr to a log, always reaped."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

LOOPBACK = "127.0.0.1"


class BenchError(RuntimeError):
    """A setup did not come up; the message carries the log tail."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.5):
            return True
    except OSError:
        return False


def tail(path: Path, lines: int = 20) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


async def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not port_open(port):
        if process.poll() is not None:
            raise BenchError(f"{process.args!r} exited with {process.returncode}:\n{tail(log)}")
        if time.monotonic() > deadline:
            raise BenchError(f"port {port} not open after {timeout:g}s:\n{tail(log)}")
        await asyncio.sleep(0.05)


def stop(process: subprocess.Popen[bytes], sig: signal.Signals = signal.SIGTERM, grace: float = 10) -> None:
    """``sig`` to the child, then SIGKILL to its whole group (ffmpeg children of the app included)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(grace)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@contextlib.contextmanager
def spawn(
    command: Sequence[str],
    log: Path,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    stop_signal: signal.Signals = signal.SIGTERM,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` in its own process group until the block exits (also on Ctrl-C)."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        stop(process, stop_signal)


def run(command: Sequence[str], *, env: Mapping[str, str], cwd: Path, timeout: float = 120) -> str:
    """Run a one-shot command; its stdout, or BenchError with its output."""
    result = subprocess.run(
        command, env=dict(env), cwd=cwd, capture_output=True, text=True, check=False, timeout=timeout
    )
    if result.returncode != 0:
        raise BenchError(f"{' '.join(command)} failed ({result.returncode}): {result.stderr[-2000:]}")
    return result.stdout
