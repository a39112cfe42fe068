"""Per-user message limits: a sliding window (20 per 30 s by default) and slow mode.

In memory on the node that holds the user's socket; a user's messages all pass
through one socket, so per-node counting is exact for chat.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class SlidingWindow:
    """At most ``limit`` events per ``window`` seconds per key."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._hits: dict[object, deque[float]] = {}

    def retry_after(self, key: object) -> float:
        """0 when ``key`` may act now (and the act is counted), else seconds to wait."""
        now = self.clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return hits[0] + self.window - now
        hits.append(now)
        if len(self._hits) > 100_000:
            self._forget_idle(now)
        return 0.0

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, h in self._hits.items() if not h or h[-1] <= now - self.window]:
            del self._hits[key]


class SlowModeGate:
    """One message per ``seconds`` per key, where ``seconds`` is given per call (rooms differ)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._last: dict[object, float] = {}

    def retry_after(self, key: object, seconds: float) -> float:
        if seconds <= 0:
            return 0.0
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < seconds:
            return seconds - (now - last)
        self._last[key] = now
        return 0.0
