"""The load: W workers, each sending gifts one unit of work at a time, and the figures."""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
import traceback
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bench.ledger.seed import Cast
from livecircle.config import EconomySettings
from livecircle.economy import ledger
from livecircle.economy.gift_send import GiftSend, gift_legs
from livecircle.economy.ledger import Posted
from livecircle.economy.models import Gift
from livecircle.economy.service import do_send_gift
from livecircle.kit.db import Database

TICKS = os.sysconf("SC_CLK_TCK")
# The product's rules except the limits, which must never refuse a bench send.
BENCH_RULES = EconomySettings(
    max_gift_send=10**12, daily_cap=10**15, daily_points_cap=10**15, daily_reminder=10**15
)


def log(message: str) -> None:
    print(f"[ledger] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True, slots=True)
class Params:
    seconds: float
    warmup: float
    workers: int
    hosts: int
    viewers: int
    coins: int
    points: int
    seed: int


@dataclass(slots=True)
class Tally:
    """Successes and failures; latencies only inside the measured window."""

    recording: bool = False
    window_ok: int = 0
    window_errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    committed: int = 0  # every gift committed, warm-up included (the audit must find them all)
    errors: Counter[str] = field(default_factory=Counter)
    samples: dict[str, dict[str, str]] = field(default_factory=dict)  # the first of each error type
    by_gift: Counter[str] = field(default_factory=Counter)

    def ok(self, seconds: float, gift: str) -> None:
        self.committed += 1
        if self.recording:
            self.window_ok += 1
            self.latencies.append(seconds)
            self.by_gift[gift] += 1

    def failed(self, error: BaseException) -> None:
        name = type(error).__name__
        self.errors[name] += 1
        if self.recording:
            self.window_errors[name] += 1
        if name not in self.samples:
            self.samples[name] = {"message": str(error).split("\n")[0][:300], "where": _where(error)}
            log(f"first {name}:\n{''.join(traceback.format_exception(error))}")


def _where(error: BaseException) -> str:
    """The innermost frame of the product's own code (src/livecircle) that the error passed through."""
    frames = [
        frame for frame in traceback.extract_tb(error.__traceback__) if "/livecircle/" in frame.filename
    ]
    if not frames:
        return "?"
    frame = frames[-1]
    return f"{frame.filename.split('/src/')[-1]}:{frame.lineno} in {frame.name}: {frame.line}"


async def single_gift(session: AsyncSession, send: GiftSend) -> Posted:
    """The peer: the same gift as one transfer in the caller's own transaction (``ledger.post``),
    as the gift path posted it before batching, and as most applications post a payment."""
    gift = await session.get(Gift, send.gift_id)
    assert gift is not None
    total = gift.price * send.count
    return await ledger.post(
        session,
        tenant_id=send.tenant_id,
        key=send.key,
        kind="gift",
        legs=gift_legs(BENCH_RULES, send, gift.currency, total),
        request=send.request(),
        result_of=lambda transfer_id, balances: {"transfer_id": transfer_id},
        actor_id=send.user_id,
        subject=f"gift:{gift.id}",
    )


async def _worker(
    db: Database, cast: Cast, tally: Tally, stop: asyncio.Event, rng: random.Random, path: str
) -> None:
    while not stop.is_set():
        gift = rng.choice(cast.gifts)
        send = GiftSend(
            tenant_id=cast.tenant_id,
            user_id=rng.choice(cast.viewers),
            host_id=rng.choice(cast.hosts),
            gift_id=gift.id,
            count=1,
            key=str(uuid.uuid4()),
        )
        started = time.perf_counter()
        try:
            async with db.unit_of_work() as session:
                if path == "single":
                    await single_gift(session, send)
                else:
                    await do_send_gift(session, BENCH_RULES, send)
        except Exception as error:  # counted by type; the load goes on
            tally.failed(error)
            await asyncio.sleep(0)  # a failing path must not starve the loop
        else:
            tally.ok(time.perf_counter() - started, gift.name)


def _percentile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 2)


def _children_ticks(parent: int | None) -> int:
    """CPU ticks (user + system) of ``parent`` and its direct children: a postmaster and its backends."""
    if parent is None:
        return 0
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        if int(entry.name) == parent or int(fields[1]) == parent:
            total += int(fields[11]) + int(fields[12])
    return total


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) ticks over all CPUs."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


@dataclass(frozen=True, slots=True)
class CpuMark:
    at: float
    own: float
    server: int
    machine: tuple[int, int]

    @classmethod
    def take(cls, server_pid: int | None) -> CpuMark:
        times = os.times()
        return cls(time.monotonic(), times.user + times.system, _children_ticks(server_pid), _machine_ticks())

    def since(self, before: CpuMark, server_pid: int | None) -> dict[str, Any]:
        """Percent of one core over the window (100 = one full core; the machine has os.cpu_count())."""
        wall = self.at - before.at
        busy, total = (a - b for a, b in zip(self.machine, before.machine, strict=True))
        cpus = os.cpu_count() or 1
        report: dict[str, Any] = {
            "bench_process_pct": round(100 * (self.own - before.own) / wall, 1),
            "machine_busy_pct": round(100 * cpus * busy / max(total, 1), 1),
        }
        if server_pid is not None:
            report["postgres_pct"] = round(100 * (self.server - before.server) / TICKS / wall, 1)
        return report


async def measure(
    db: Database,
    cast: Cast,
    params: Params,
    *,
    server_pid: int | None = None,
    path: str = "batched",
    prior: int = 0,
) -> dict[str, Any]:
    """Warm up, then count the gifts committed in a ``params.seconds`` window; audit the ledger.

    ``path``: "batched" (the product: ``do_send_gift``) or "single" (the peer, ``single_gift``);
    ``prior``: gifts an earlier measurement committed to the same database."""
    tally = Tally()
    stop = asyncio.Event()
    rng = random.Random(params.seed)
    workers = [
        asyncio.create_task(_worker(db, cast, tally, stop, random.Random(rng.random()), path))
        for _ in range(params.workers)
    ]
    try:
        await asyncio.sleep(params.warmup)
        log(f"warm-up done ({tally.committed} gifts, {sum(tally.errors.values())} errors); measuring")
        cpu_before = CpuMark.take(server_pid)
        tally.recording = True
        started = time.perf_counter()
        await asyncio.sleep(params.seconds)
        tally.recording = False
        elapsed = time.perf_counter() - started
        cpu_after = CpuMark.take(server_pid)
        cpu = cpu_after.since(cpu_before, server_pid)
        if tally.window_ok:  # what one transfer costs this (single, asyncio) Python process
            spent = cpu_after.own - cpu_before.own
            cpu["bench_cpu_ms_per_transfer"] = round(1000 * spent / tally.window_ok, 2)
    finally:
        stop.set()
        await asyncio.gather(*workers, return_exceptions=True)
    log(f"{tally.window_ok} gifts in {elapsed:.2f} s; auditing")
    async with db.unit_of_work() as session:
        audit = await ledger.audit(session)
    ordered = sorted(tally.latencies)
    expected_transfers = 2 * len(cast.viewers) + prior + tally.committed  # two grants per viewer, gifts
    return {
        "path": path,
        "committed": tally.committed,
        "transfers_per_s": round(tally.window_ok / elapsed, 1),
        "transfers": tally.window_ok,
        "window_s": round(elapsed, 3),
        "workers": params.workers,
        "latency_ms": {
            "p50": _ms(_percentile(ordered, 0.50)),
            "p90": _ms(_percentile(ordered, 0.90)),
            "p99": _ms(_percentile(ordered, 0.99)),
            "max": _ms(ordered[-1] if ordered else None),
            "mean": _ms(sum(ordered) / len(ordered) if ordered else None),
        },
        "errors": dict(tally.window_errors),
        "errors_whole_run": dict(tally.errors),
        "error_samples": tally.samples,
        "gifts_sent": dict(tally.by_gift),
        "cpu": cpu,
        "audit": {
            "balanced": audit.balanced,
            "transfers": audit.transfers,
            "entries": audit.entries,
            "expected_transfers": expected_transfers,
            "total": audit.total,
            "unbalanced_transfers": len(audit.unbalanced_transfers),
            "drifted_accounts": len(audit.drifted_accounts),
            "negative_wallets": len(audit.negative_wallets),
        },
    }
