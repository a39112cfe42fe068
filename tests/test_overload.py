"""Overload policy: ordinary danmaku past the room's budget is folded; priority events never are."""

from __future__ import annotations

import orjson

from livecircle.realtime.broker import MemoryBroker
from livecircle.realtime.hub import Connection, Hub
from livecircle.realtime.overload import RoomBudget, shape


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_budget_spreads_a_second_over_its_ticks() -> None:
    clock = Clock()
    budget = RoomBudget(per_second=60, tick_seconds=0.1, clock=clock)
    assert budget.take(100) == 6  # the first tick's share
    clock.now += 0.5
    assert budget.take(100) == 30  # what earlier ticks left, up to the elapsed share
    clock.now += 0.6
    assert budget.take(3) == 3  # a new second


def test_every_priority_event_survives_and_the_rest_is_summarised() -> None:
    events = []
    for n in range(200):
        events.append({"type": "chat", "text": "链接" if n % 2 else f"普通{n}", "n": n})
        if n % 20 == 0:
            events.append({"type": "chat", "text": f"主播{n}", "pri": 1, "n": n})
    events.append({"type": "likes", "delta": 5})
    events.append({"type": "gift", "name": "火箭", "pri": 1})
    out = shape(events, RoomBudget(per_second=50, tick_seconds=1.0, clock=Clock()))
    priority = [e for e in events if e.get("pri")]
    assert [e for e in out if e.get("pri")] == priority
    assert {"type": "likes", "delta": 5} in out
    ordinary_kept = [e for e in out if e["type"] == "chat" and not e.get("pri")]
    assert len(ordinary_kept) == 50
    [summary] = [e for e in out if e["type"] == "chat_summary"]
    assert summary["folded"] == 150
    assert summary["top"][0]["text"] == "链接"
    assert len(ordinary_kept) + summary["folded"] == 200
    # The kept sample spans the whole tick, not only its start.
    assert max(e["n"] for e in ordinary_kept) > 150


def test_under_the_budget_nothing_changes() -> None:
    events = [{"type": "chat", "text": str(n)} for n in range(10)]
    assert shape(events, RoomBudget(per_second=50, tick_seconds=1.0, clock=Clock())) == events


async def test_hub_folds_ordinary_chat_once_over_the_rate() -> None:
    hub = Hub(MemoryBroker(), tick_ms=100, queue_limit=16, chat_per_second=20)
    await hub.broker.start(hub._deliver)
    conn = Connection(object(), channel="room:1", identity=None, context=None, queue_limit=16)  # type: ignore[arg-type]
    hub.join(conn)
    for n in range(100):
        await hub.publish("room:1", {"type": "chat", "text": "666", "n": n})
    await hub.publish("room:1", {"type": "chat", "text": "欢迎大家", "pri": 1})
    await hub.flush()
    events = orjson.loads(conn.queue.get_nowait() or "")["events"]
    chats = [e for e in events if e["type"] == "chat"]
    assert [e["text"] for e in chats if e.get("pri")] == ["欢迎大家"]
    [summary] = [e for e in events if e["type"] == "chat_summary"]
    assert summary["folded"] + len(chats) == 101
    assert summary["top"] == [{"text": "666", "count": summary["folded"]}]


def test_fast_path_accepts_uvloop_style_transports() -> None:
    """`livecircle serve` runs on uvloop, whose transports do not subclass asyncio.Transport."""
    from livecircle.realtime.fastpath import RAW_SEND, text_frame, transport_of

    class DuckTransport:
        def __init__(self) -> None:
            self.written: list[bytes] = []

        def write(self, data: bytes) -> None:
            self.written.append(data)

        def is_closing(self) -> bool:
            return False

        def get_write_buffer_size(self) -> int:
            return 0

    class WebSocketsSansIOProtocol:  # the name uvicorn's protocol has
        def __init__(self) -> None:
            self.transport = DuckTransport()
            self.close_sent = False

        async def asgi_send(self, message: dict[str, object]) -> None:
            raise AssertionError("the fast path must not go through ASGI")

    protocol = WebSocketsSansIOProtocol()
    raw = transport_of({RAW_SEND: protocol.asgi_send})
    assert raw is not None
    raw.write(text_frame("弹幕".encode()))
    assert protocol.transport.written == [b"\x81\x06" + "弹幕".encode()]
    assert transport_of({RAW_SEND: print}) is None


def test_text_frames_use_the_right_length_encoding() -> None:
    from livecircle.realtime.fastpath import text_frame

    assert text_frame(b"x" * 125)[:2] == b"\x81\x7d"
    assert text_frame(b"x" * 126)[:4] == b"\x81\x7e\x00\x7e"
    assert text_frame(b"x" * 70_000)[:10] == b"\x81\x7f" + (70_000).to_bytes(8, "big")
