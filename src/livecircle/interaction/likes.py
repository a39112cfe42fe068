"""Likes at any rate: counted in memory, one event per room per interval, one UPDATE per second.

A viewer's taps arrive as ``like`` ops with a count; each node sums them per
room and publishes ``{"type": "likes", "delta": d, "total": t}`` once per
``interval``. Totals live in ``live_show.like_count``: every ``persist_every``
seconds each node adds its share with one atomic UPDATE and learns the new
total, so all nodes converge on the same number.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field

from livecircle.kit import tracking
from livecircle.kit.background import Periodic
from livecircle.kit.db import Database
from livecircle.live import service as live_service
from livecircle.realtime.hub import Hub

Liker = tuple[int | None, str | None]  # (user id, anonymous id)


@dataclass(slots=True)
class _Room:
    room_id: int
    show_id: int
    tenant_id: int
    taps: dict[Liker, int] = field(default_factory=dict)  # since the last write, per viewer
    to_publish: int = 0
    to_store: int = 0
    stored_total: int = 0
    loaded: bool = False  # stored_total is known (after the first UPDATE)


class LikeCounter:
    def __init__(self, db: Database, hub: Hub, *, interval: float = 0.2, persist_every: float = 1.0) -> None:
        self.db = db
        self.hub = hub
        self.interval = interval
        self.persist_every = persist_every
        self.rooms: dict[int, _Room] = {}
        self._per_conn: defaultdict[int, tuple[float, int]] = defaultdict(lambda: (0.0, 0))
        self._last_persist = time.monotonic()
        self._loop = Periodic("like-counter", interval, self._step, final=self.persist)

    def add(self, room_id: int, show_id: int, count: int, *, tenant_id: int, liker: Liker) -> None:
        room = self.rooms.get(room_id)
        if room is None or room.show_id != show_id:
            room = self.rooms[room_id] = _Room(room_id=room_id, show_id=show_id, tenant_id=tenant_id)
        room.to_publish += count
        room.to_store += count
        room.taps[liker] = room.taps.get(liker, 0) + count

    def allow(self, conn_key: int, count: int, per_second: int) -> int:
        """How many of ``count`` likes one connection may add this second (taps beyond are dropped)."""
        second, used = self._per_conn[conn_key]
        now = int(time.monotonic())
        if second != now:
            used = 0
        granted = max(0, min(count, per_second - used))
        self._per_conn[conn_key] = (now, used + granted)
        if len(self._per_conn) > 50_000:  # forget connections idle for a second or more
            for key in [k for k, (s, _) in self._per_conn.items() if s != now]:
                del self._per_conn[key]
        return granted

    def forget_connection(self, conn_key: int) -> None:
        self._per_conn.pop(conn_key, None)

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def publish(self) -> None:
        for room_id, room in list(self.rooms.items()):
            if room.to_publish:
                if not room.loaded:
                    await self._persist_room(room)
                delta, room.to_publish = room.to_publish, 0
                total = room.stored_total + room.to_store
                await self.hub.publish(f"room:{room_id}", {"type": "likes", "delta": delta, "total": total})

    async def persist(self) -> None:
        for room in list(self.rooms.values()):
            if room.to_store:
                await self._persist_room(room)

    async def _persist_room(self, room: _Room) -> None:
        count, room.to_store = room.to_store, 0
        taps, room.taps = room.taps, {}
        try:
            async with self.db.unit_of_work() as session:
                room.stored_total = await live_service.do_add_likes(
                    session, show_id=room.show_id, count=count
                )
                await tracking.insert_rows(
                    session, [_like_event(room, liker, n) for liker, n in taps.items()]
                )
            room.loaded = True
        except Exception:
            room.to_store += count  # keep them for the next attempt
            for liker, n in taps.items():
                room.taps[liker] = room.taps.get(liker, 0) + n
            raise

    async def _step(self) -> None:
        await self.publish()
        if time.monotonic() - self._last_persist >= self.persist_every:
            self._last_persist = time.monotonic()
            await self.persist()


def _like_event(room: _Room, liker: Liker, taps: int) -> tracking.Row:
    """One viewer's taps since the last write, stored with the show's new total."""
    user_id, anon_id = liker
    return tracking.event_row(
        "like",
        tenant_id=room.tenant_id,
        user_id=user_id,
        anon_id=anon_id,
        room_id=room.room_id,
        show_id=room.show_id,
        amount=taps,
    )
