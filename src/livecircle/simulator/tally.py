"""The simulated clock and what a run counted: totals and per simulated minute."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Per-minute columns, in the order the report prints them.
COLUMNS = (
    "arrivals",
    "departures",
    "chat",
    "likes",
    "shares",
    "follows",
    "community_joins",
    "product_clicks",
    "orders",
    "paid",
    "gifts",
)


@dataclass(slots=True)
class Clock:
    """Simulated minutes since the start; ``speed`` simulated minutes per real minute."""

    speed: float
    start: float = field(default_factory=time.monotonic)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def minute(self) -> float:
        return (time.monotonic() - self.start) * self.speed / 60.0

    def real_seconds(self, minutes: float) -> float:
        """How long ``minutes`` simulated minutes take in real time."""
        return minutes * 60.0 / self.speed

    def until(self, minute: float) -> float:
        """Real seconds from now until simulated ``minute`` (0 when past)."""
        return max(0.0, self.start + self.real_seconds(minute) - time.monotonic())


@dataclass(slots=True)
class Tally:
    """Counts of what the server accepted, with the simulated minute each happened in."""

    clock: Clock
    totals: Counter[str] = field(default_factory=Counter)
    minutes: dict[int, Counter[str]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)

    def add(self, name: str, n: int = 1, *, minute: float | None = None) -> None:
        if n == 0:
            return
        at = int(self.clock.minute() if minute is None else minute)
        self.totals[name] += n
        self.minutes.setdefault(at, Counter())[name] += n

    def error(self, code: str) -> None:
        self.errors[code] += 1

    def per_minute(self, minutes: int) -> list[dict[str, int]]:
        """One row per simulated minute, with the viewers online at its end."""
        rows, online = [], 0
        last = max([minutes - 1, *self.minutes])
        for minute in range(last + 1):
            seen = self.minutes.get(minute, Counter())
            online += seen["arrivals"] - seen["departures"]
            row = {"minute": minute, **{c: seen[c] for c in COLUMNS}, "online": online}
            row.update({k: v for k, v in seen.items() if k not in row})
            rows.append(row)
        return rows

    def report(self, minutes: int) -> dict[str, Any]:
        return {
            "totals": dict(sorted(self.totals.items())),
            "per_minute": self.per_minute(minutes),
            "errors": dict(sorted(self.errors.items())),
        }
