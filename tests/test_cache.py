"""kit.cache.LoadingCache: one load per key however many ask, stale served while refreshing."""

from __future__ import annotations

import asyncio

import pytest

from livecircle.kit.cache import LoadingCache


class Source:
    """A slow loader that counts its calls and returns the current version."""

    def __init__(self) -> None:
        self.calls = 0
        self.version = 1
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail = False

    async def load(self) -> int:
        self.calls += 1
        version = self.version
        await self.gate.wait()
        if self.fail:
            raise RuntimeError("database down")
        return version


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_concurrent_misses_share_one_load() -> None:
    cache: LoadingCache[str, int] = LoadingCache(5, clock=Clock())
    source = Source()
    source.gate.clear()
    waiting = [asyncio.create_task(cache.get("room", source.load)) for _ in range(200)]
    await asyncio.sleep(0)
    source.gate.set()
    assert await asyncio.gather(*waiting) == [1] * 200
    assert source.calls == 1


async def test_an_old_value_is_served_at_once_while_one_refresh_runs() -> None:
    clock = Clock()
    cache: LoadingCache[str, int] = LoadingCache(5, clock=clock)
    source = Source()
    assert await cache.get("room", source.load) == 1
    clock.now = 6
    source.version = 2
    source.gate.clear()
    # Past its age: every caller gets the old value without waiting, and one refresh starts.
    assert [await cache.get("room", source.load) for _ in range(50)] == [1] * 50
    await asyncio.sleep(0.01)
    assert source.calls == 2
    source.gate.set()
    await asyncio.sleep(0.01)
    assert await cache.get("room", source.load) == 2
    assert source.calls == 2


async def test_forget_loads_afresh_and_an_older_load_stores_nothing() -> None:
    cache: LoadingCache[str, int] = LoadingCache(5, clock=Clock())
    source = Source()
    source.gate.clear()
    early = asyncio.create_task(cache.get("sender", source.load))
    await asyncio.sleep(0.01)
    assert source.calls == 1
    cache.forget("sender")  # e.g. a mute committed while the load read the old standing
    source.version = 2
    late = asyncio.create_task(cache.get("sender", source.load))
    await asyncio.sleep(0)
    source.gate.set()
    assert await early == 1  # its own caller still gets an answer
    assert await late == 2
    assert source.calls == 2
    assert cache.peek("sender") == 2


async def test_forget_where_drops_matching_keys() -> None:
    cache: LoadingCache[tuple[int, int], int] = LoadingCache(5, clock=Clock())
    source = Source()
    for key in ((1, 1), (1, 2), (2, 1)):
        await cache.get(key, source.load)
    cache.forget_where(lambda key: key[0] == 1)
    assert cache.peek((1, 1)) is None
    assert cache.peek((1, 2)) is None
    assert cache.peek((2, 1)) == 1


async def test_a_failed_load_reaches_its_callers_and_a_failed_refresh_keeps_the_old_value() -> None:
    clock = Clock()
    cache: LoadingCache[str, int] = LoadingCache(5, clock=clock)
    source = Source()
    source.fail = True
    with pytest.raises(RuntimeError):
        await cache.get("room", source.load)
    source.fail = False
    assert await cache.get("room", source.load) == 1  # nothing stored: loads again
    clock.now = 6
    source.fail = True
    assert await cache.get("room", source.load) == 1
    await asyncio.sleep(0.01)
    assert cache.peek("room") == 1
    source.fail = False
    source.version = 3
    assert await cache.get("room", source.load) == 1  # still old: the next refresh starts now
    await asyncio.sleep(0.01)
    assert await cache.get("room", source.load) == 3


async def test_with_a_bound_the_key_loaded_longest_ago_goes_first() -> None:
    clock = Clock()
    cache: LoadingCache[str, int] = LoadingCache(5, clock=clock, max_entries=3)
    source = Source()
    for key in ("a", "b", "c"):
        await cache.get(key, source.load)
    clock.now = 6  # "a" is refreshed: loaded last now
    await cache.get("a", source.load)
    await asyncio.sleep(0.01)
    for key in ("d", "e"):
        await cache.get(key, source.load)
    assert len(cache) == 3
    assert [cache.peek(key) for key in ("a", "b", "c", "d", "e")] == [1, None, None, 1, 1]
    calls = source.calls
    for n in range(1000):  # a flood of new keys stays within the bound
        await cache.get(f"flood-{n}", source.load)
    assert len(cache) == 3
    assert source.calls == calls + 1000
