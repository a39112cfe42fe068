"""The calendar: the tenant's shows of a month by scenario, against the month's targets.

A show belongs to the month of its start, else of its scheduled time, else of its creation
(UTC months). Planned = scheduled, not yet live; actual = live or ended. A target is met
when actual ≥ target, on track when actual + planned ≥ target. A month's targets are its
own, else the tenant's "default" month, else the seed (≥ 12 shows, ≥ 4 product-seeding,
≥ 6 user-service).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.analytics.planning.errors import BadMonth
from livecircle.analytics.planning.models import MonthTarget, PlannedShow, Topic
from livecircle.kit.db import one_sqlite_writer
from livecircle.live.models import Show
from livecircle.live.schemas import Scenario

DEFAULT_MONTH = "default"
SCOPES: tuple[str, ...] = ("all", *(s.value for s in Scenario))
SEED_MONTH: dict[str, int] = {"all": 12, Scenario.PRODUCT_SEEDING.value: 4, Scenario.USER_SERVICE.value: 6}
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def month_range(month: str) -> tuple[datetime, datetime]:
    """[first instant, first instant of the next month) in UTC. Raises BadMonth."""
    match = MONTH.match(month)
    if match is None or not 2000 <= int(match[1]) <= 2999:
        raise BadMonth()
    year, number = int(match[1]), int(match[2])
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return start, end


def shift(month: str, by: int) -> str:
    start, _ = month_range(month)
    index = start.year * 12 + start.month - 1 + by
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def check_month_key(month: str) -> str:
    if month != DEFAULT_MONTH:
        month_range(month)
    return month


async def month_targets(session: AsyncSession, *, tenant_id: int, month: str) -> tuple[dict[str, int], str]:
    """The month's targets and where they come from: "month", "default" or "seed"."""
    for key in (month, DEFAULT_MONTH):
        rows = await session.execute(
            select(MonthTarget.scenario, MonthTarget.shows).where(
                MonthTarget.tenant_id == tenant_id, MonthTarget.month == key
            )
        )
        found = {scope: int(shows) for scope, shows in rows.all()}
        if found:
            return found, "month" if key == month and month != DEFAULT_MONTH else "default"
    return dict(SEED_MONTH), "seed"


async def do_set_month_targets(
    session: AsyncSession, *, tenant_id: int, month: str, targets: dict[str, int]
) -> dict[str, int]:
    """Replace the month's (or the default month's) targets. Raises BadMonth."""
    check_month_key(month)
    await one_sqlite_writer(session)
    await session.execute(
        delete(MonthTarget).where(MonthTarget.tenant_id == tenant_id, MonthTarget.month == month)
    )
    session.add_all(
        MonthTarget(tenant_id=tenant_id, month=month, scenario=s, shows=n) for s, n in targets.items()
    )
    await session.flush()
    return targets


def when(show: Show) -> datetime:
    return show.started_at or show.scheduled_at or show.created_at


async def month_shows(session: AsyncSession, *, tenant_id: int, month: str) -> list[dict[str, Any]]:
    """The month's shows in time order, each with the topic it was planned from."""
    start, end = month_range(month)
    rows = await session.execute(
        select(Show, Topic.id, Topic.title)
        .outerjoin(PlannedShow, PlannedShow.show_id == Show.id)
        .outerjoin(Topic, Topic.id == PlannedShow.topic_id)
        .where(
            Show.tenant_id == tenant_id,
            or_(
                Show.started_at.between(start, end),
                Show.scheduled_at.between(start, end),
                Show.created_at.between(start, end),
            ),
        )
    )
    found = [
        {
            "id": show.id,
            "room_id": show.room_id,
            "title": show.title,
            "scenario": show.scenario,
            "status": show.status,
            "when": when(show),
            "date": when(show).date().isoformat(),
            "topic_id": topic_id,
            "topic_title": topic_title,
        }
        for show, topic_id, topic_title in rows.all()
        if start <= when(show) < end
    ]
    return sorted(found, key=lambda s: (s["when"], s["id"]))


def tally(shows: list[dict[str, Any]], targets: dict[str, int]) -> list[dict[str, Any]]:
    """One row per scope (all, then each scenario): target, planned, live, ended, actual, met."""
    rows = []
    for scope in SCOPES:
        mine = [s for s in shows if scope == "all" or s["scenario"] == scope]
        counts = {
            status: sum(1 for s in mine if s["status"] == status) for status in ("scheduled", "live", "ended")
        }
        actual = counts["live"] + counts["ended"]
        target = targets.get(scope)
        rows.append(
            {
                "scope": scope,
                "target": target,
                "planned": counts["scheduled"],
                "live": counts["live"],
                "ended": counts["ended"],
                "actual": actual,
                "met": None if target is None else actual >= target,
                "on_track": None if target is None else actual + counts["scheduled"] >= target,
            }
        )
    return rows


async def calendar(session: AsyncSession, *, tenant_id: int, month: str) -> dict[str, Any]:
    """The month's shows, targets and target vs actual. Raises BadMonth."""
    shows = await month_shows(session, tenant_id=tenant_id, month=month)
    targets, source = await month_targets(session, tenant_id=tenant_id, month=month)
    return {
        "month": month,
        "previous": shift(month, -1),
        "next": shift(month, 1),
        "targets": targets,
        "targets_source": source,
        "rows": tally(shows, targets),
        "shows": shows,
    }
