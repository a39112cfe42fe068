"""What the room sockets tell about viewers: peak online per show (the hub reports room
totals of all nodes, written every ``every`` seconds with a conditional UPDATE that only
raises it) and watch time per signed-in viewer."""

from __future__ import annotations

from livecircle.config import EconomySettings
from livecircle.economy import points
from livecircle.kit.background import Periodic
from livecircle.kit.db import Database
from livecircle.live import audience, service
from livecircle.live.models import Show
from livecircle.live.schemas import RoomViewer
from livecircle.realtime.hub import Hub


class PeakRecorder:
    def __init__(self, db: Database, *, every: float = 2.0) -> None:
        self.db = db
        self.every = every
        self.peaks: dict[int, int] = {}
        self._loop = Periodic("peak-recorder", every, self.flush, final=self.flush)

    async def observe(self, channel: str, online: int) -> None:
        if not channel.startswith("room:"):
            return
        room_id = int(channel.removeprefix("room:"))
        if online > self.peaks.get(room_id, 0):
            self.peaks[room_id] = online

    async def flush(self) -> None:
        peaks, self.peaks = self.peaks, {}
        for room_id, online in peaks.items():
            async with self.db.unit_of_work() as session:
                await service.do_note_viewers(session, room_id=room_id, online=online)

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()


class WatchClock:
    """Watch time per signed-in viewer and show, from the room sockets of this node: every
    ``every`` seconds a viewer seen at this tick and the one before is credited the interval
    (never more than they watched: a viewer who joins between ticks counts from the next one).
    The conditional upsert in ``do_credit_watch`` keeps two tabs or two nodes from crediting
    the same interval twice."""

    def __init__(
        self, db: Database, hub: Hub, *, every: float = 30.0, rules: EconomySettings | None = None
    ) -> None:
        self.db = db
        self.hub = hub
        self.every = every
        self.rules = rules  # with it, the ``watch`` points rule pays per ``watch_minutes`` watched
        self.seen: set[tuple[int, int]] = set()  # (room, user) at the last tick
        self._loop = Periodic("watch-clock", every, self.tick)

    def present(self) -> set[tuple[int, int]]:
        now: set[tuple[int, int]] = set()
        for channel, connections in list(self.hub.channels.items()):
            if not channel.startswith("room:"):
                continue
            for conn in list(connections):
                viewer = conn.context
                if isinstance(viewer, RoomViewer) and viewer.principal.user_id is not None:
                    now.add((viewer.room_id, viewer.principal.user_id))
        return now

    async def tick(self) -> None:
        present = self.present()
        stayed, self.seen = present & self.seen, present
        by_room: dict[int, list[int]] = {}
        for room_id, user_id in stayed:
            by_room.setdefault(room_id, []).append(user_id)
        step = int(self.every)
        for room_id, user_ids in by_room.items():
            async with self.db.unit_of_work() as session:
                credited = await audience.do_credit_watch(
                    session, room_id=room_id, user_ids=user_ids, seconds=step
                )
            if credited is not None:
                await self.pay(*credited, step=step)

    async def pay(self, show: Show, totals: dict[int, int], *, step: int) -> None:
        """One ``watch`` earning each time a viewer's total passes a multiple of the period
        (the key names the period: a retry or a second node pays nothing twice)."""
        if self.rules is None or "watch" not in self.rules.points.earn:
            return
        period = self.rules.points.watch_minutes * 60
        for user_id, total in totals.items():
            reached = total // period
            if reached == 0 or reached == (total - step) // period:
                continue
            await points.award(
                self.db,
                self.rules,
                tenant_id=show.tenant_id,
                user_id=user_id,
                rule="watch",
                key=f"watch:{show.id}:{user_id}:{reached}",
                room_id=show.room_id,
                show_id=show.id,
            )

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
