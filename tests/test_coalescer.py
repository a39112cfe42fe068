"""kit.background.Coalescer: runs of one key never overlap, so the last thing published is
the newest state (a snapshot read before a change cannot land after the one read after it)."""

from __future__ import annotations

import asyncio

from livecircle.kit.background import Coalescer


async def test_a_slow_run_cannot_publish_over_the_newer_one() -> None:
    state = {"value": 1}
    published: list[int] = []
    first_read = asyncio.Event()

    async def snapshot(key: str) -> None:
        seen = state["value"]  # read...
        if not first_read.is_set():
            first_read.set()
            await asyncio.sleep(0.2)  # ...then a slow publish, as under load
        published.append(seen)

    coalescer: Coalescer[str] = Coalescer(snapshot, every=0.01)
    coalescer.touch("room:1")
    await first_read.wait()
    state["value"] = 2  # the show ends while the first snapshot is on its way
    coalescer.touch("room:1")
    for _ in range(100):
        if len(published) == 2:
            break
        await asyncio.sleep(0.01)
    assert published == [1, 2]
    assert coalescer._locks == {}  # nothing kept once the key is idle


async def test_touches_while_pending_are_one_run_and_keys_run_apart() -> None:
    runs: list[str] = []

    async def act(key: str) -> None:
        runs.append(key)

    coalescer: Coalescer[str] = Coalescer(act, every=0.02)
    for _ in range(5):
        coalescer.touch("a")
    coalescer.touch("b")
    for _ in range(100):
        if len(runs) == 2:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    assert sorted(runs) == ["a", "b"]
