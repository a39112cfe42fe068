"""Overload policy for one room's tick: ordinary danmaku beyond a budget is aggregated.

Events marked ``"pri"`` (host, moderators, gifts, pinned or paid lines, high
tiers) and every non-chat event always go out. Ordinary ``chat`` events past
the tick's budget are dropped from the frame and replaced by one
``chat_summary`` event: how many were folded and the most repeated texts
("+37 said 链接"). Storage and analytics saw every line before this point.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

Event = dict[str, Any]
TOP_TEXTS = 3


class RoomBudget:
    """Ordinary chat lines allowed per second in one room, spread over the second's
    ticks: each tick may use its share plus whatever earlier ticks left."""

    def __init__(
        self, per_second: int, tick_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_second = per_second
        self.tick_seconds = tick_seconds
        self.clock = clock
        self.window_start = clock()
        self.used = 0

    def take(self, wanted: int) -> int:
        now = self.clock()
        elapsed = now - self.window_start
        if elapsed >= 1.0:
            self.window_start, self.used, elapsed = now, 0, 0.0
        share = self.per_second * min(1.0, elapsed + self.tick_seconds)
        granted = max(0, min(wanted, int(share) - self.used))
        self.used += granted
        return granted


def shape(events: list[Event], budget: RoomBudget) -> list[Event]:
    ordinary = [i for i, e in enumerate(events) if e.get("type") == "chat" and not e.get("pri")]
    allowed = budget.take(len(ordinary))
    if allowed >= len(ordinary):
        return events
    # Keep an even sample across the tick rather than only its first lines.
    step = len(ordinary) / allowed if allowed else 0.0
    kept = {ordinary[int(k * step)] for k in range(allowed)}
    folded = [events[i] for i in ordinary if i not in kept]
    out = [e for i, e in enumerate(events) if i in kept or not (e.get("type") == "chat" and not e.get("pri"))]
    texts = Counter(str(e.get("text", "")) for e in folded)
    out.append(
        {
            "type": "chat_summary",
            "folded": len(folded),
            "top": [{"text": text, "count": count} for text, count in texts.most_common(TOP_TEXTS)],
        }
    )
    return out
