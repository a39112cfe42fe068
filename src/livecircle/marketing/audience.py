"""Who enters a campaign now: each trigger gives (member, entry key) pairs at ``now``.

Segments, events and unpaid orders are read from the analytics replica (DuckDB,
``analytics.store``: ``person_events`` counts an anonymous viewer merged into an account as
the account); scheduled shows, follows, sign-ups and tags from the database. Pseudonymised
ids (negative) name nobody and never enter. Profiling-based triggers (segments, tags) keep
only members who allow profiling, read at this moment.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.analytics.segments import churn, lifecycle, rfm
from livecircle.analytics.segments.lifecycle import naive_utc
from livecircle.analytics.store import EventStore
from livecircle.analytics.tags.models import UserTag
from livecircle.growth.notify.models import ShowSignup
from livecircle.live.models import Follow, Room, Show
from livecircle.marketing.models import CampaignTag
from livecircle.marketing.schemas import (
    ACTIVITY,
    CartMissTrigger,
    EventTrigger,
    FlashMissTrigger,
    SegmentTrigger,
    ShowSoonTrigger,
    Trigger,
)
from livecircle.privacy import consent

Entry = tuple[int, str]  # (user id, entry key)


async def entrants(
    session: AsyncSession, store: EventStore, *, tenant_id: int, trigger: Trigger, now: datetime
) -> list[Entry]:
    """The members ``trigger`` holds for at ``now``, sorted (enrolled or not yet)."""
    if isinstance(trigger, SegmentTrigger):
        members = await _segment(session, store, tenant_id, trigger, now)
        allowed = await consent.allowed_among(session, members, consent.Purpose.PROFILING)
        found = [(user, "") for user in members if user in allowed]
    elif isinstance(trigger, EventTrigger):
        found = [(user, "") for user in await store.run(lambda con: _event(con, tenant_id, trigger, now))]
    elif isinstance(trigger, ShowSoonTrigger):
        found = await _show_soon(session, tenant_id, trigger, now)
    elif isinstance(trigger, FlashMissTrigger):
        found = await store.run(lambda con: _flash_miss(con, tenant_id, trigger, now))
    else:
        found = await store.run(lambda con: _cart_miss(con, tenant_id, trigger, now))
    return sorted({(user, key) for user, key in found if user > 0})


async def _segment(
    session: AsyncSession, store: EventStore, tenant_id: int, trigger: SegmentTrigger, now: datetime
) -> set[int]:
    if trigger.segment != "tag":
        return await store.run(lambda con: segment_members(con, tenant_id, trigger, now))
    computed = await session.scalars(
        select(UserTag.user_id).where(UserTag.tenant_id == tenant_id, UserTag.tag == trigger.value)
    )
    given = await session.scalars(
        select(CampaignTag.user_id).where(
            CampaignTag.tenant_id == tenant_id, CampaignTag.tag == trigger.value
        )
    )
    return set(computed) | set(given)


def segment_members(
    con: duckdb.DuckDBPyConnection, tenant_id: int, trigger: SegmentTrigger, now: datetime
) -> set[int]:
    """The members of a lifecycle stage or an RFM tier at ``now``, from the replica (before
    the consent filter). Tags live in the database: not here."""
    if trigger.segment == "lifecycle" and trigger.value == "churn_risk":
        return _churn_risk(con, tenant_id, now, with_model=trigger.model)
    if trigger.segment == "lifecycle":
        stages = lifecycle.lifecycle_stages(con, tenant_id=tenant_id, as_of=now)
        return {user for user, stage in stages.items() if stage == trigger.value}
    if trigger.segment == "rfm":
        code = rfm.TIER_ORDER.index(trigger.value)
        found = rfm.rfm_arrays(con, tenant_id=tenant_id, as_of=now)
        return {int(user) for user in found["user_id"][found["tier_code"] == code]}
    raise ValueError("tags are read from the database")


_ACTIVITY_LIST = ", ".join(f"'{name}'" for name in churn.ACTIVITY)

# The lifecycle's first rule on the member's own activity (churn.ACTIVITY, as the churn model
# counts it): an account event (a sign-in, points paid) does not make a churner active.
_CHURN_RISK = f"""
SELECT person_id FROM person_events
WHERE tenant_id = $tenant AND person_id > 0 AND ts <= $now AND type IN ({_ACTIVITY_LIST})
GROUP BY person_id
HAVING max(ts) < $since
"""  # noqa: S608 - a constant list of event types; every value is a bound parameter


def _churn_risk(
    con: duckdb.DuckDBPyConnection, tenant_id: int, now: datetime, *, with_model: bool
) -> set[int]:
    """Idle for more than ``lifecycle.CHURN_DAYS`` days, or (``with_model``) scored at least
    ``lifecycle.CHURN_SCORE`` by the churn model trained at ``now``."""
    when = naive_utc(now)
    params = {"tenant": tenant_id, "now": when, "since": when - timedelta(days=lifecycle.CHURN_DAYS)}
    found = {int(row[0]) for row in con.execute(_CHURN_RISK, params).fetchall()}
    if with_model:
        model = churn.train_churn_model(con, tenant_id=tenant_id, as_of=now)
        found |= {user for user, score in model.scores.items() if score >= lifecycle.CHURN_SCORE}
    return found


_DID = """
SELECT DISTINCT person_id FROM person_events
WHERE tenant_id = $tenant AND person_id > 0 AND type = $type AND ts > $since AND ts <= $now
"""
_DID_NOT = f"""
SELECT person_id FROM person_events
WHERE tenant_id = $tenant AND person_id > 0 AND ts <= $now AND type IN ({_ACTIVITY_LIST})
GROUP BY person_id
HAVING min(ts) <= $since AND count(*) FILTER (WHERE type = $type AND ts > $since) = 0
"""  # noqa: S608 - a constant list of event types; every value is a bound parameter


def _event(con: duckdb.DuckDBPyConnection, tenant_id: int, trigger: EventTrigger, now: datetime) -> list[int]:
    when = naive_utc(now)
    params = {
        "tenant": tenant_id,
        "type": trigger.event,
        "now": when,
        "since": when - timedelta(days=trigger.days),
    }
    rows = con.execute(_DID if trigger.did else _DID_NOT, params).fetchall()
    return [int(row[0]) for row in rows]


_CART_MISS = """
SELECT p.person_id, json_extract_string(p.props, '$.order_id') AS order_id
FROM person_events p
WHERE p.tenant_id = $tenant AND p.type = 'order_placed' AND p.person_id > 0
  AND p.ts <= $due AND p.ts > $oldest
  AND json_extract_string(p.props, '$.order_id') IS NOT NULL
  AND NOT EXISTS (
      SELECT 1 FROM events q
      WHERE q.tenant_id = p.tenant_id AND q.type = 'order_paid' AND q.ts <= $now
        AND json_extract_string(q.props, '$.order_id') = json_extract_string(p.props, '$.order_id'))
"""


def _cart_miss(
    con: duckdb.DuckDBPyConnection, tenant_id: int, trigger: CartMissTrigger, now: datetime
) -> list[tuple[int, str]]:
    when = naive_utc(now)
    params = {
        "tenant": tenant_id,
        "now": when,
        "due": when - timedelta(minutes=trigger.minutes),
        "oldest": when - timedelta(hours=trigger.lookback_hours),
    }
    return [(int(user), f"order:{order}") for user, order in con.execute(_CART_MISS, params).fetchall()]


_FLASH_MISS = """
SELECT DISTINCT person_id, json_extract_string(props, '$.flash_sale_id') AS sale_id
FROM person_events
WHERE tenant_id = $tenant AND type = 'flash_sale_missed' AND person_id > 0
  AND ts > $since AND ts <= $now AND json_extract_string(props, '$.flash_sale_id') IS NOT NULL
"""


def _flash_miss(
    con: duckdb.DuckDBPyConnection, tenant_id: int, trigger: FlashMissTrigger, now: datetime
) -> list[tuple[int, str]]:
    when = naive_utc(now)
    params = {"tenant": tenant_id, "now": when, "since": when - timedelta(hours=trigger.hours)}
    return [(int(user), f"flash:{sale}") for user, sale in con.execute(_FLASH_MISS, params).fetchall()]


async def _show_soon(
    session: AsyncSession, tenant_id: int, trigger: ShowSoonTrigger, now: datetime
) -> list[Entry]:
    shows = (
        await session.execute(
            select(Show.id, Room.owner_id)
            .join(Room, Room.id == Show.room_id)
            .where(
                Show.tenant_id == tenant_id,
                Show.status == "scheduled",
                Show.scheduled_at > now,
                Show.scheduled_at <= now + timedelta(minutes=trigger.minutes),
            )
        )
    ).all()
    found: list[Entry] = []
    for show_id, owner_id in shows:
        followers = await session.scalars(select(Follow.user_id).where(Follow.host_id == owner_id))
        signups = await session.scalars(select(ShowSignup.user_id).where(ShowSignup.show_id == show_id))
        audience = (set(followers) | set(signups)) - {owner_id}
        found.extend((user, f"show:{show_id}") for user in audience)
    return found


def did_since_sql(events: list[str]) -> tuple[str, list[str]]:
    """The replica query of a branch: did the member do one of ``events`` in (since, now]?"""
    types = list(churn.ACTIVITY) if ACTIVITY in events else []
    types += [e for e in events if e != ACTIVITY]
    marks = ", ".join("?" for _ in types)
    sql = (
        "SELECT count(*) > 0 FROM person_events WHERE tenant_id = ? AND person_id = ? "  # noqa: S608
        f"AND ts > ? AND ts <= ? AND type IN ({marks})"
    )
    return sql, types


async def did_since(
    store: EventStore, *, tenant_id: int, user_id: int, events: list[str], since: datetime, now: datetime
) -> bool:
    sql, types = did_since_sql(events)
    params = [tenant_id, user_id, naive_utc(since), naive_utc(now), *types]
    return bool(await store.run(lambda con: con.execute(sql, params).fetchall()[0][0]))
