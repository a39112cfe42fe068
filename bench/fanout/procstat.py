"""What /proc says about the run: a server's RSS, and who used each CPU during the window.

The machine may be shared: per-CPU busy time minus our own process's time shows
whether something else ran on the server's or the load client's core.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TICKS = os.sysconf("SC_CLK_TCK")
CPU_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def _process_ticks(pid: int | str) -> tuple[str, int]:
    """(command name, utime + stime of all its threads) in clock ticks."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return name, int(fields[11]) + int(fields[12])


def _cpu_ticks() -> dict[int, list[int]]:
    cpus = {}
    for line in Path("/proc/stat").read_text().splitlines():
        head, *values = line.split()
        if head.startswith("cpu") and head != "cpu":
            cpus[int(head[3:])] = [int(v) for v in values[: len(CPU_FIELDS)]]
    return cpus


def _all_processes() -> dict[int, tuple[str, int]]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found[int(entry.name)] = _process_ticks(entry.name)
            except (OSError, ValueError):
                continue
    return found


@dataclass(frozen=True, slots=True)
class CpuSnapshot:
    at: float
    cpus: dict[int, list[int]]
    processes: dict[int, tuple[str, int]]

    @classmethod
    def take(cls) -> CpuSnapshot:
        return cls(at=time.monotonic(), cpus=_cpu_ticks(), processes=_all_processes())


def cpu_report(
    before: CpuSnapshot,
    after: CpuSnapshot,
    *,
    server_pid: int,
    load_pid: int,
    pins: dict[int, int],
    helpers: tuple[int, ...] = (),
) -> dict[str, Any]:
    """Percent of one core over the window: our server, our load client, each CPU's split,
    and the busiest other processes. ``pins`` maps a CPU to the pid pinned on it; a CPU's
    ``others_pct`` is its busy time that neither that process nor softirq explains (a
    shared machine shows up there)."""
    wall = after.at - before.at

    def pct(ticks: int) -> float:
        return round(100 * ticks / TICKS / wall, 1)

    usage = {
        pid: (name, ticks - before.processes[pid][1])
        for pid, (name, ticks) in after.processes.items()
        if pid in before.processes
    }
    others = sorted(
        (
            (name, ticks)
            for pid, (name, ticks) in usage.items()
            if pid not in (server_pid, load_pid, *helpers)
        ),
        key=lambda item: -item[1],
    )
    report: dict[str, Any] = {
        "server_pct": pct(usage.get(server_pid, ("", 0))[1]),
        "load_client_pct": pct(usage.get(load_pid, ("", 0))[1]),
        "other_processes": [{"name": name, "pct": pct(ticks)} for name, ticks in others[:3] if ticks],
    }
    for cpu, ticks in after.cpus.items():
        delta = [b - a for a, b in zip(before.cpus[cpu], ticks, strict=True)]
        total = sum(delta) or 1
        split = dict(zip(CPU_FIELDS, delta, strict=True))
        busy = 100 * (total - split["idle"] - split["iowait"]) / total
        irq = 100 * (split["softirq"] + split["irq"]) / total
        ours = pct(usage[pins[cpu]][1]) if pins.get(cpu) in usage else 0.0
        if pins.get(cpu) == load_pid:  # the bench's own helpers (py-spy) run beside the load client
            ours += sum(pct(usage[pid][1]) for pid in helpers if pid in usage)
        report[f"cpu{cpu}"] = {
            "busy_pct": round(busy, 1),
            "softirq_pct": round(irq, 1),
            "steal_pct": round(100 * split["steal"] / total, 1),
            "others_pct": round(max(0.0, busy - irq - ours), 1),
        }
    return report


def starved(report: dict[str, Any], threshold: float = 10.0) -> bool:
    """Did something else take a real share of the server's or the load client's core?"""
    cpus = [value for key, value in report.items() if key.startswith("cpu")]
    return any(cpu["others_pct"] > threshold or cpu["steal_pct"] > threshold / 2 for cpu in cpus)
