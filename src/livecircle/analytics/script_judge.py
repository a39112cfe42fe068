"""The analytics side of run-of-show: after each replica sync, every live show's armed
conditional steps are measured with the alert window logic (analytics/alerts/window.py) and
fired through interaction's run-of-show service when their condition has held long enough.

Firing is exactly once whoever gets there first (service.do_fire's conditional claim): two
nodes judging the same moment, or the host's click, fire a step once. The judge also records
what it saw on each armed step (the console shows the live value against the threshold).

It registers the ``community`` action (push the community's join card), which interaction
cannot run itself: community sits beside it.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.analytics.alerts.service import COMPARATORS
from livecircle.analytics.alerts.window import window_figures
from livecircle.analytics.capture import LiveShows
from livecircle.analytics.store import EventStore
from livecircle.community import service as community_service
from livecircle.community.events import CommunityCardPushed
from livecircle.interaction.models import ShowStep
from livecircle.interaction.runofshow import actions
from livecircle.interaction.runofshow import service as runofshow
from livecircle.interaction.runofshow.errors import StepTargetInvalid
from livecircle.kit.clock import utcnow
from livecircle.kit.db import Database
from livecircle.kit.events import emit
from livecircle.live import service as live_service
from livecircle.live.models import Room, Show

log = logging.getLogger(__name__)
# Measured over the whole show or at the latest sample: no window to fill first.
UNWINDOWED = frozenset({"online", "online_vs_peak", "click_to_order", "payment_success"})


class ScriptJudge:
    """Every ``every`` seconds, each live show's armed conditions against its figures."""

    def __init__(
        self, db: Database, store: EventStore, shows: LiveShows, *, every: float, limits: actions.Limits
    ) -> None:
        self.db, self.store, self.shows, self.every, self.limits = db, store, shows, every, limits
        self._last = 0.0

    async def after_sync(self) -> None:
        if time.monotonic() - self._last < self.every:
            return
        self._last = time.monotonic()
        live = [show_id for show_id, _tenant_id in self.shows.by_room.values()]
        if not live:
            return
        async with self.db.sessionmaker() as session:
            scripted = await runofshow.shows_with_armed_conditions(session, live)
        for show_id in live:
            if show_id in scripted:  # one query for all the shows, a look at each scripted one
                await self.judge(show_id)

    async def judge(self, show_id: int) -> list[int]:
        """Look at the show's armed conditions; fire those that hold. Returns the fired ids."""
        now = utcnow()
        async with self.db.unit_of_work() as session:
            show = await live_service.get_show(session, show_id)
            steps = await runofshow.armed_conditions(session, show_id)
            ready = await self._look(session, show, steps, now) if steps else []
        fired = []
        for step_id, value in ready:
            async with self.db.unit_of_work() as session:
                step = await runofshow.do_fire(
                    session, step_id, show_id=show_id, by="condition", value=value, limits=self.limits
                )
            if step is not None:
                fired.append(step_id)
        return fired

    async def _look(
        self, session: AsyncSession, show: Show, steps: list[ShowStep], now: datetime
    ) -> list[tuple[int, float]]:
        lived = (now - show.started_at).total_seconds() if show.started_at else 0.0
        naive = now.replace(tzinfo=None)
        by_window: dict[int, dict[str, float]] = {}  # steps with the same window share one query
        ready = []
        for step in steps:
            windowed = step.metric not in UNWINDOWED
            value = None
            if not windowed or lived >= step.window_s:
                if step.window_s not in by_window:
                    by_window[step.window_s] = await self.store.run(
                        lambda con, s=step.window_s: window_figures(con, show.id, now=naive, seconds=s)  # type: ignore[misc]
                    )
                value = by_window[step.window_s].get(step.metric or "")
            holds = value is not None and lived >= step.offset_s and _holds(step, value)
            since = await runofshow.do_observe(session, step, value=value, holds=holds, now=now)
            if since is not None and value is not None and (now - since).total_seconds() >= step.hold_s:
                ready.append((step.id, value))
        return ready


def _holds(step: ShowStep, value: float) -> bool:
    compare = COMPARATORS.get(step.comparator or "")
    return compare is not None and step.threshold is not None and compare(value, step.threshold)


async def _check_community(session: AsyncSession, room: Room, community_id: int) -> None:
    community = await community_service.get_community(session, community_id)
    if community.tenant_id != room.tenant_id or community.room_id != room.id:
        raise StepTargetInvalid("The community must be this room's")


async def _push_community_card(session: AsyncSession, show: Show, step: ShowStep) -> dict[str, Any]:
    """As the host's push does (community.service.do_push_card), for the show's own room."""
    community = await community_service.get_community(session, step.tool_id)
    if community.room_id != show.room_id:
        raise StepTargetInvalid("The community is not this room's any more")
    emit(session, CommunityCardPushed(community.tenant_id, community.id, show.room_id, show.id))
    return {"community_id": community.id}


def install_actions() -> None:
    """Register the actions interaction cannot run itself (idempotent)."""
    actions.register_action("community", check=_check_community, launch=_push_community_card)
