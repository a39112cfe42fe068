"""The node's analytics machinery, started and stopped with the app."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from livecircle.analytics import capture
from livecircle.analytics.store import EventStore
from livecircle.config import Settings
from livecircle.kit.background import Periodic
from livecircle.kit.db import Database
from livecircle.kit.tracking import TrackBuffer, Tracker
from livecircle.realtime.gateway import Gateway
from livecircle.realtime.hub import Hub

AfterSync = Callable[[], Awaitable[None]]


def install_tracking(db: Database) -> Tracker:
    """Domain events become analytics rows in their own transaction from now on."""
    tracker = Tracker()
    capture.register(tracker)
    db.before_commit.append(tracker.before_commit)
    return tracker


log = logging.getLogger(__name__)


class Analytics:
    """Buffers the socket-level events, samples live viewers and keeps the replica in step
    (every ``sync_seconds``: live shows → viewings → flush → replica → listeners)."""

    def __init__(self, db: Database, settings: Settings, hub: Hub, gateway: Gateway) -> None:
        self.store = EventStore(db, settings.analytics_replica)
        self.buffer = TrackBuffer(db)
        self.shows = capture.LiveShows(db)
        self.views = capture.ViewTracker(self.buffer, self.shows)
        self.sampler = capture.OnlineSampler(
            self.buffer,
            self.shows,
            every=settings.analytics.online_sample_seconds,
            sole_node=not settings.redis_url,
        )
        self.after_sync: list[AfterSync] = []
        hub.presence_listeners.append(self.sampler.observe)
        gateway.on_open.append(self.views.opened)
        gateway.on_close.append(self.views.closed)
        self._loop = Periodic("analytics.sync", settings.analytics.sync_seconds, self.step)

    async def step(self) -> None:
        await self.shows.refresh()
        self.views.reconcile()
        await self.buffer.flush()
        await self.store.sync()
        for listener in self.after_sync:  # one failing judge must not starve the others
            try:
                await listener()
            except Exception:
                log.exception("after-sync listener %s failed", getattr(listener, "__qualname__", listener))

    async def start(self) -> None:
        await self.shows.refresh()
        self.sampler.start()
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
        await self.sampler.stop()
        self.views.end_all()
        await self.buffer.stop()
        await self.store.close()
