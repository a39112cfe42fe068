"""Time-ordered 53-bit ids made in the process, so a row can be broadcast before it is stored.

Layout: milliseconds since 2026-01-01 (41 bits, 69 years) | node (5 bits) | sequence (7 bits).
53 bits keep ids exact as JavaScript numbers. A node makes up to 128 ids per
millisecond; beyond that it waits for the next millisecond.
"""

from __future__ import annotations

import time

EPOCH_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
NODE_BITS = 5
SEQUENCE_BITS = 7
MAX_NODE = (1 << NODE_BITS) - 1


class IdMaker:
    def __init__(self, node: int = 0) -> None:
        if not 0 <= node <= MAX_NODE:
            raise ValueError(f"node must be 0..{MAX_NODE}")
        self.node = node
        self._last_ms = 0
        self._sequence = 0

    def next_id(self) -> int:
        now = int(time.time() * 1000)
        if now < self._last_ms:  # the clock stepped back: keep ids increasing
            now = self._last_ms
        if now == self._last_ms:
            self._sequence += 1
            if self._sequence >> SEQUENCE_BITS:
                while now <= self._last_ms:
                    now = int(time.time() * 1000)
                self._sequence = 0
        else:
            self._sequence = 0
        self._last_ms = now
        return (
            ((now - EPOCH_MS) << (NODE_BITS + SEQUENCE_BITS)) | (self.node << SEQUENCE_BITS) | self._sequence
        )


def id_time_ms(value: int) -> int:
    """Wall-clock milliseconds at which an id was made."""
    return (value >> (NODE_BITS + SEQUENCE_BITS)) + EPOCH_MS
