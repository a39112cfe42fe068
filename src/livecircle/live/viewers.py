"""Peak online per show: the hub reports room totals (all nodes), kept here and
written every ``every`` seconds with a conditional UPDATE that only raises it."""

from __future__ import annotations

from livecircle.kit.background import Periodic
from livecircle.kit.db import Database
from livecircle.live import service


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
