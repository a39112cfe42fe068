"""Where the server's time went: ``python -m bench.fanout.spy FILE`` on ``--py-spy FILE`` output.

py-spy's raw format is one ``frame;frame;...;frame count`` line per distinct stack.
Each sample is charged to the first bucket (in BUCKETS order) whose function appears in
its stack, so the shares add up to 100 %; then the top functions, inclusive and self.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

# (bucket, substrings of a frame "function (file)"), first match wins, most specific first.
BUCKETS: list[tuple[str, tuple[str, ...]]] = [
    ("chat op: DB unit of work (SQLAlchemy + aiosqlite)", ("interaction/sockets.py", "kit/db.py")),
    ("admission of a new socket", ("Gateway._welcome", "make_admit")),
    ("hub flush: encode + offer to queues", ("Hub.flush", "Hub._run")),
    # py-spy's non-blocking samples sometimes lose a coroutine's outer frames; the inner
    # send calls identify the path on their own.
    (
        "per-connection send path (write_loop -> ASGI -> websockets)",
        ("Connection.write_loop", "WebSocketsSansIOProtocol.send ", "WebSocket.send", "Protocol.send_frame"),
    ),
    ("inbound frames (read loop, parse)", ("Gateway._read_loop", "Gateway._handle")),
    ("keepalive pings", ("send_keepalive_ping", "handle_pong")),
    ("aiosqlite worker thread", ("_connection_worker_thread",)),
    ("uvicorn protocol callbacks", ("uvicorn/protocols",)),
    ("event loop (idle or scheduling)", ("Runner.run",)),
]


def load(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            stacks.append(([re.sub(r":\d+\)$", ")", f) for f in stack.split(";")], int(count)))
    return stacks


def bucket_of(frames: list[str]) -> str:
    for name, needles in BUCKETS:
        if any(needle in frame for frame in frames for needle in needles):
            return name
    return "other"


def summarize(stacks: list[tuple[list[str], int]], top: int = 25) -> str:
    total = sum(count for _, count in stacks) or 1
    buckets: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for frames, count in stacks:
        buckets[bucket_of(frames)] += count
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    lines = [f"{total} samples"]
    for title, counter in (("buckets", buckets), ("inclusive", inclusive), ("self", own)):
        lines.append(f"--- {title}")
        lines += [f"{100 * n / total:5.1f}%  {name}" for name, n in counter.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    print(summarize(load(Path(sys.argv[1])), top=int(sys.argv[2]) if len(sys.argv) > 2 else 25))


if __name__ == "__main__":
    main()
