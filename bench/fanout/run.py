"""One system, one load: ramp, measured send window, drain, and the figures."""

from __future__ import annotations

import asyncio
import gc
import math
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.fanout.client import Load, Plan, Window
from bench.fanout.procstat import CpuSnapshot, cpu_report, rss_kib, starved
from bench.fanout.systems import HOST, LOAD_CPU, SERVER_CPU, Options, Starter, Target


@dataclass(frozen=True, slots=True)
class Params:
    viewers: int
    rate: float
    seconds: float
    tick_ms: int
    drain: float
    senders: int
    sample_every: int
    ramp_rate: float
    ramp_inflight: int
    ramp_timeout: float
    py_spy: str | None = None  # record livecircle's server during the window into this file


def senders_for(rate: float, viewers: int, per_sender_rate: float) -> int:
    """Enough accounts that none sends more than ``per_sender_rate`` lines/s (the coming rate limit)."""
    return max(1, min(viewers, math.ceil(rate / per_sender_rate)))


def log(message: str) -> None:
    print(f"[fanout] {message}", file=sys.stderr, flush=True)


async def measure(name: str, start: Starter, params: Params, opts: Options) -> dict[str, Any]:
    log(f"{name}: starting server")
    async with start(opts) as target:
        load = Load(_plan(target, params))
        rss_before = rss_kib(target.pid)
        try:
            ramp = await load.connect()
            log(f"{name}: {params.viewers} connected in {ramp:.1f} s; settling")
            await asyncio.sleep(1.0)
            rss_after = rss_kib(target.pid)
            gc.collect()
            gc.freeze()  # nothing the hot path allocates needs the collector during the window
            gc.disable()
            log(f"{name}: sending {params.rate:g}/s for {params.seconds:g} s")
            profiler = _py_spy(target, params)
            before = CpuSnapshot.take()
            window = await load.send(rate=params.rate, seconds=params.seconds)
            after = CpuSnapshot.take()
            if profiler is not None:
                await asyncio.to_thread(profiler.wait)
            await asyncio.sleep(params.drain)
            figure = _figure(load, window, params, rss_before, rss_after)
            cpu = cpu_report(
                before,
                after,
                server_pid=target.pid,
                load_pid=os.getpid(),
                pins={SERVER_CPU: target.pid, LOAD_CPU: os.getpid()},
                helpers=(profiler.pid,) if profiler is not None else (),
            )
            figure["diag"] |= {
                "ramp_s": round(ramp, 1),
                "join_retries": load.tally.retries,
                "cpu": cpu,
                "cpu_starved": starved(cpu),
            }
            figure["diag"] |= target.info
        finally:
            gc.enable()
            gc.unfreeze()
            load.abort()
    log(f"{name}: {_summary(figure)}")
    return figure


def _py_spy(target: Target, params: Params) -> subprocess.Popen[bytes] | None:
    """Sample the Python server (100 Hz, without pausing it) for the send window."""
    if params.py_spy is None or target.name != "livecircle":
        return None
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    argv = [py_spy, "record", "-p", str(target.pid), "-d", str(math.ceil(params.seconds)), "-r", "100"]
    argv += ["--nonblocking", "-f", "raw", "-o", params.py_spy]
    log(f"py-spy: {' '.join(argv)}")
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=sys.stderr)


def _plan(target: Target, params: Params) -> Plan:
    return Plan(
        host=HOST,
        port=target.port,
        room_id=target.room_id,
        dialect=target.dialect,
        viewers=params.viewers,
        tokens=target.tokens[: params.senders],
        sample_every=params.sample_every,
        ramp_rate=params.ramp_rate,
        ramp_inflight=params.ramp_inflight,
        ramp_timeout=params.ramp_timeout,
    )


def _figure(load: Load, window: Window, params: Params, rss_before: int, rss_after: int) -> dict[str, Any]:
    tally = load.tally
    latencies = sorted(tally.latencies_ms)
    return {
        "delivered_per_s": round(window.delivered / window.seconds),
        "frames_per_s": round(window.frames / window.seconds),
        "p50_ms": _percentile(latencies, 0.50),
        "p99_ms": _percentile(latencies, 0.99),
        "max_ms": round(latencies[-1], 1) if latencies else None,
        "lost": load.lost(window.sent),
        "rss_kib_per_conn": round((rss_after - rss_before) / params.viewers, 1),
        "diag": {
            "sent": window.sent,
            "unsent": window.unsent,
            "sent_per_s": round(window.sent / window.seconds, 1),
            "expected_deliveries": window.sent * params.viewers,
            "received_deliveries": sum(conn.received for conn in load.conns),
            "latency_samples": len(latencies),
            "dups_in_samples": tally.dups,
            "closed_by_server": tally.closed_by_server,
            "close_codes": {str(code): count for code, count in sorted(tally.close_codes.items())},
            "error_frames": tally.errors,
            "rss_kib": {"before": rss_before, "after": rss_after},
        },
    }


def _percentile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def _summary(figure: dict[str, Any]) -> str:
    keys = ("delivered_per_s", "frames_per_s", "p50_ms", "p99_ms", "max_ms", "lost", "rss_kib_per_conn")
    return " ".join(f"{key}={figure[key]}" for key in keys)
