"""Keep the cyclic garbage collector off a crowd's connections.

Each WebSocket connection is some 60 container objects (uvicorn's protocol,
the websockets state machine, starlette's socket, our queue). CPython's
collector rescans every object in a generation when it collects it and stops
the event loop meanwhile, about 1 µs per object: with 5,000 viewers the first
collection after the crowd joined stopped the room for 0.8 s (measured with
``gc.callbacks`` under ``bench.fanout``), and every line in flight waited.

So, as joins accumulate (a big wave at most every couple of seconds, a small
one once it has settled), what is alive is frozen (``gc.freeze``: moved out of
the collector's sight in O(1)). Frozen objects
that die through reference counting are freed as usual; only cyclic garbage
of frozen connections stays until reclaimed. When enough frozen connections
have closed, one deliberate full collection reclaims it and the survivors
are frozen again: one pause per turnover of the crowd instead of one per wave.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class CrowdCollector:
    def __init__(
        self,
        *,
        settle_seconds: float = 2.0,
        min_joins: int = 200,
        reclaim_fraction: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        freeze: Callable[[], None] = gc.freeze,
        unfreeze: Callable[[], None] = gc.unfreeze,
        collect: Callable[[], int] = gc.collect,
    ) -> None:
        self.settle_seconds = settle_seconds
        self.min_joins = min_joins
        self.reclaim_fraction = reclaim_fraction
        self.clock = clock
        self._freeze, self._unfreeze, self._collect = freeze, unfreeze, collect
        self.joins = 0  # connections opened since the last freeze
        self.frozen = 0  # connections alive at the last freeze
        self.closed = 0  # connections closed since the last freeze
        self.last_join = 0.0
        self.last_freeze = 0.0
        self.freezes = 0
        self.reclaims = 0

    def joined(self) -> None:
        self.joins += 1
        self.last_join = self.clock()

    def left(self) -> None:
        self.closed += 1

    def step(self, alive: int) -> None:
        """Called by the hub once per tick with the number of connections on this node."""
        if self.frozen and self.closed >= max(self.min_joins, self.reclaim_fraction * self.frozen):
            started = self.clock()
            self._unfreeze()
            found = self._collect()
            self._freeze()
            self.reclaims += 1
            self._frozen_now(alive)
            log.info("reclaimed %d objects of closed connections in %.0f ms", found, self._ms(started))
        elif self._freeze_due():
            self._freeze()
            self.freezes += 1
            self._frozen_now(alive)

    def _freeze_due(self) -> bool:
        """A big wave at most every ``settle_seconds``; a small one once it has settled."""
        now = self.clock()
        if now - self.last_freeze < self.settle_seconds:
            return False
        settled = now - self.last_join >= self.settle_seconds
        return self.joins >= self.min_joins or (settled and self.joins >= self.min_joins // 10)

    def _frozen_now(self, alive: int) -> None:
        self.frozen, self.joins, self.closed = alive, 0, 0
        self.last_freeze = self.clock()

    def _ms(self, started: float) -> float:
        return (self.clock() - started) * 1000
