"""Co-host subscribers: the room hears every change (``cohost_update`` at once, the ordered
``cohost_queue`` snapshot at most every ``rules.QUEUE_EVERY_S``); a show that ends ends its
requests; an applicant whose last tab left the room drops out after ``rules.LEAVE_GRACE_S``."""

from __future__ import annotations

from typing import Any

from livecircle.interaction.cohost import queue, rules, service
from livecircle.interaction.cohost.events import CohostRequestChanged
from livecircle.kit.background import Coalescer
from livecircle.kit.db import Database
from livecircle.kit.jobs import JobRunner
from livecircle.live.events import ShowEnded
from livecircle.live.schemas import RoomViewer
from livecircle.realtime.hub import Connection, Hub


def subscribe(db: Database, hub: Hub) -> None:
    relay = QueueRelay(db, hub)
    departures = Departures(db, hub)

    async def show_ended(event: ShowEnded) -> None:
        async with db.unit_of_work() as session:
            await service.do_end_show(session, show_id=event.show_id)

    db.bus.subscribe(CohostRequestChanged, relay.changed)
    db.bus.subscribe(ShowEnded, show_ended)
    hub.leave_listeners.append(departures.left)
    hub.event_listeners.append(departures.observe)


def register_jobs(runner: JobRunner) -> None:
    """None: nothing here must survive a restart (a dropped grace check is redone by the
    show's end, which ends every request)."""


class QueueRelay:
    """Tells the room about changes: one ``cohost_update`` per change, then the queue
    snapshot once for a burst of changes."""

    def __init__(self, db: Database, hub: Hub) -> None:
        self.db, self.hub = db, hub
        self.rooms: dict[int, int] = {}  # show id → its room
        self.snapshots = Coalescer(self._snapshot, every=lambda: rules.QUEUE_EVERY_S)

    async def changed(self, event: CohostRequestChanged) -> None:
        await self.hub.publish(f"room:{event.room_id}", update_event(event))
        self.rooms[event.show_id] = event.room_id
        self.snapshots.touch(event.show_id)

    async def _snapshot(self, show_id: int) -> None:
        room_id = self.rooms.pop(show_id)
        async with self.db.unit_of_work() as session:
            snapshot = await queue.get_snapshot(session, show_id)
        await self.hub.publish(f"room:{room_id}", {"type": "cohost_queue", **snapshot})


def update_event(event: CohostRequestChanged) -> dict[str, Any]:
    return {
        "type": "cohost_update",
        "show_id": event.show_id,
        "request_id": event.request_id,
        "user_id": event.user_id,
        "display_name": event.display_name,
        "status": event.status,
        "previous": event.previous,
        "source": event.source,
    }


class Departures:
    """Drops a pending applicant (or invitee) once none of this node's connections to the room
    is theirs for ``rules.LEAVE_GRACE_S`` (a reload reconnects well within it).

    Checking costs nothing for users who are not pending: the room's latest ``cohost_queue``
    snapshot (seen through ``hub.event_listeners``) names everyone who is; only where this node
    has not seen one since it started watching the room does the check ask the database. Only
    this node's connections count: with several nodes, a tab on another node does not keep the
    applicant in line.
    """

    def __init__(self, db: Database, hub: Hub) -> None:
        self.db, self.hub = db, hub
        self.pending: dict[str, set[int]] = {}  # channel → user ids applied or invited
        self.rooms: dict[tuple[str, int], int] = {}  # (channel, user) → room, while a check waits
        self.checks = Coalescer(self._after_grace, every=lambda: rules.LEAVE_GRACE_S)

    def observe(self, channel: str, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "cohost_queue":
            self.pending[channel] = {seat["user_id"] for seat in event["queue"]} | set(event["invited"])
        elif kind == "watch":  # this node missed the room's events until now
            self.pending.pop(channel, None)

    def left(self, conn: Connection) -> None:
        viewer = conn.context
        if not self.hub.channels.get(conn.channel):
            self.pending.pop(conn.channel, None)  # unwatched from now on: the snapshot would go stale
        if not isinstance(viewer, RoomViewer) or viewer.principal.user_id is None:
            return
        key = (conn.channel, viewer.principal.user_id)
        self.rooms[key] = viewer.room_id
        self.checks.touch(key)

    async def _after_grace(self, key: tuple[str, int]) -> None:
        channel, user_id = key
        room_id = self.rooms.pop(key)
        if await self._pending(channel, room_id, user_id) and not self._present(channel, user_id):
            async with self.db.unit_of_work() as session:
                await service.do_drop_departed(session, room_id=room_id, user_id=user_id)

    async def _pending(self, channel: str, room_id: int, user_id: int) -> bool:
        known = self.pending.get(channel)
        if known is not None:
            return user_id in known
        async with self.db.unit_of_work() as session:
            return await queue.is_pending(session, room_id=room_id, user_id=user_id)

    def _present(self, channel: str, user_id: int) -> bool:
        return any(
            isinstance(c.context, RoomViewer) and c.context.principal.user_id == user_id
            for c in self.hub.channels.get(channel, ())
        )
