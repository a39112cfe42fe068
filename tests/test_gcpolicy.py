"""realtime.gcpolicy.CrowdCollector: when a crowd's connections are frozen and when reclaimed."""

from __future__ import annotations

import gc
import weakref

from livecircle.realtime.gcpolicy import CrowdCollector


class Recorder:
    def __init__(self) -> None:
        self.now = 100.0
        self.calls: list[str] = []

    def collector(self) -> CrowdCollector:
        return CrowdCollector(
            settle_seconds=2.0,
            min_joins=200,
            reclaim_fraction=0.5,
            clock=lambda: self.now,
            freeze=lambda: self.calls.append("freeze"),
            unfreeze=lambda: self.calls.append("unfreeze"),
            collect=lambda: self.calls.append("collect") or 0,
        )


def join(collector: CrowdCollector, count: int) -> None:
    for _ in range(count):
        collector.joined()


def test_a_big_wave_is_frozen_at_most_every_settle_period() -> None:
    r = Recorder()
    collector = r.collector()
    join(collector, 250)
    collector.step(alive=250)
    assert r.calls == ["freeze"]
    join(collector, 250)  # still arriving, 0 s later: not yet
    collector.step(alive=500)
    assert r.calls == ["freeze"]
    r.now += 2.0
    join(collector, 1)
    collector.step(alive=501)
    assert r.calls == ["freeze", "freeze"]
    assert collector.frozen == 501


def test_a_small_wave_waits_until_it_has_settled_and_a_trickle_of_one_never_freezes() -> None:
    r = Recorder()
    collector = r.collector()
    join(collector, 30)
    collector.step(alive=30)
    assert r.calls == []
    r.now += 2.5
    collector.step(alive=30)
    assert r.calls == ["freeze"]
    join(collector, 1)
    r.now += 10
    collector.step(alive=31)
    assert r.calls == ["freeze"]  # one join is not worth freezing young garbage with it


def test_closed_frozen_connections_are_reclaimed_by_one_full_collection() -> None:
    r = Recorder()
    collector = r.collector()
    join(collector, 1000)
    collector.step(alive=1000)
    r.calls.clear()
    for _ in range(499):
        collector.left()
    collector.step(alive=501)
    assert r.calls == []
    collector.left()
    collector.step(alive=500)
    assert r.calls == ["unfreeze", "collect", "freeze"]
    assert (collector.frozen, collector.closed, collector.reclaims) == (500, 0, 1)


def test_the_real_collector_gets_back_the_cycles_of_frozen_objects() -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self  # a cycle: reference counting alone never frees it

    gc.collect()
    collector = CrowdCollector(min_joins=1, reclaim_fraction=0.5, settle_seconds=0)
    try:
        crowd = [Node() for _ in range(1000)]
        watch = [weakref.ref(node) for node in crowd]
        join(collector, 1000)
        collector.step(alive=1000)
        del crowd  # the crowd leaves: its cycles sit frozen, out of the collector's sight
        gc.collect()
        assert sum(ref() is not None for ref in watch) == 1000
        for _ in range(1000):
            collector.left()
        collector.step(alive=0)
        assert collector.reclaims == 1
        assert sum(ref() is not None for ref in watch) == 0
    finally:
        gc.unfreeze()
