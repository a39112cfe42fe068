"""Activities and events (线上活动, AMA): admins schedule them, members sign up until they
start. ``signups`` never passes ``capacity``: a seat is one conditional update of the counter
in the same savepoint as the sign-up row, so a burst of sign-ups cannot overfill it on either
backend. Each activity's reminder is a durable job planned in the same transaction as its
start time (``REMIND_JOB``, run by the growth layer, which owns the channels)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.community import service as community_service
from livecircle.community.discussion.errors import (
    ActivityFull,
    ActivityNotFound,
    ActivityTimesInvalid,
    CapacityBelowSignups,
    SignupClosed,
)
from livecircle.community.discussion.events import (
    ActivityCancelled,
    ActivityScheduled,
    ActivitySignedUp,
    ActivitySignupCancelled,
)
from livecircle.community.discussion.models import Activity, ActivitySignup
from livecircle.community.discussion.schemas import ActivityCreate, ActivityUpdate
from livecircle.community.discussion.screening import Author, Screen, check_texts
from livecircle.identity.models import User
from livecircle.identity.schemas import Principal
from livecircle.kit import jobs
from livecircle.kit.clock import utcnow
from livecircle.kit.db import dialect_insert, one_sqlite_writer
from livecircle.kit.events import emit

SCHEDULED = "scheduled"
CANCELLED = "cancelled"
# Planned here with the start time, handled by growth/notify/activity_reminders.py (growth may
# import community, not the other way round): the reminder cannot be lost between the two.
REMIND_JOB = "growth.remind_activity"


def reminder_key(activity_id: int, starts_at: datetime) -> str:
    return f"{REMIND_JOB}:{activity_id}:{int(starts_at.timestamp() * 1000)}"


async def _plan_reminder(
    session: AsyncSession, activity: Activity, *, before: timedelta, old_starts_at: datetime | None = None
) -> None:
    """Remind those signed up ``before`` the start (at once if that has begun); a moved activity
    drops the reminder of its old time."""
    if old_starts_at is not None:
        await jobs.cancel(session, reminder_key(activity.id, old_starts_at))
    payload = {"activity_id": activity.id, "starts_at": activity.starts_at.isoformat()}
    run_at = max(activity.starts_at - before, utcnow())
    key = reminder_key(activity.id, activity.starts_at)
    await jobs.schedule(session, REMIND_JOB, key=key, run_at=run_at, payload=payload)


async def get_activity(session: AsyncSession, activity_id: int) -> Activity:
    activity = await session.get(Activity, activity_id)
    if activity is None:
        raise ActivityNotFound()
    return activity


async def access_activity(session: AsyncSession, principal: Principal, activity_id: int) -> Activity:
    """Raises ActivityNotFound, NotCommunityMember."""
    activity = await get_activity(session, activity_id)
    await community_service.check_member(session, principal, activity.community_id)
    return activity


def signup_open(activity: Activity, now: datetime | None = None) -> bool:
    return activity.state == SCHEDULED and activity.starts_at > (now or utcnow())


def seats_left(activity: Activity) -> int | None:
    return None if activity.capacity is None else max(activity.capacity - activity.signups, 0)


def _check_times(starts_at: datetime, ends_at: datetime) -> None:
    if starts_at <= utcnow() or ends_at <= starts_at:
        raise ActivityTimesInvalid()


async def _screened(screen: Screen, author: Author, title: str, description: str) -> tuple[str, str]:
    """Admins write activities: a blocked word refuses them, anything else is stored starred."""
    screened = await check_texts(screen, author, "activity", (title, description))
    if not screened.held:
        title, description = screened.texts
        return title, description
    word_filter = await screen.filters.get(author.tenant_id)
    return word_filter.check(title).text, word_filter.check(description).text


async def check_create_activity(
    session: AsyncSession,
    screen: Screen,
    principal: Principal,
    community_id: int,
    data: ActivityCreate,
    *,
    remind_before: timedelta,
) -> Activity:
    """Raises NotCommunityAdmin, ActivityTimesInvalid, MessageBlocked. Plans the reminder
    ``remind_before`` the start. Emits ActivityScheduled."""
    assert principal.user_id is not None
    community = await community_service.check_admin(session, principal, community_id)
    _check_times(data.starts_at, data.ends_at)
    author = Author(community.tenant_id, community.id, principal.user_id)
    title, description = await _screened(screen, author, " ".join(data.title.split()), data.description)
    activity = Activity(
        tenant_id=community.tenant_id,
        community_id=community.id,
        created_by=principal.user_id,
        title=title,
        description=description,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        capacity=data.capacity,
        signups=0,
        location=data.location,
        link=data.link,
        state=SCHEDULED,
        created_at=utcnow(),
    )
    session.add(activity)
    await session.flush()
    await _plan_reminder(session, activity, before=remind_before)
    emit(
        session, ActivityScheduled(activity.id, activity.community_id, activity.tenant_id, activity.starts_at)
    )
    return activity


async def check_update_activity(
    session: AsyncSession,
    screen: Screen,
    principal: Principal,
    activity_id: int,
    data: ActivityUpdate,
    *,
    remind_before: timedelta,
) -> Activity:
    """Edit or reschedule; a capacity below the sign-ups so far is refused.

    Raises ActivityNotFound, NotCommunityAdmin, ActivityTimesInvalid, CapacityBelowSignups,
    MessageBlocked, SignupClosed (a cancelled activity). Emits ActivityScheduled when it moved."""
    assert principal.user_id is not None
    activity = await get_activity(session, activity_id)
    await community_service.check_admin(session, principal, activity.community_id)
    if activity.state != SCHEDULED:
        raise SignupClosed("A cancelled activity cannot be changed")
    changes = data.model_dump(exclude_unset=True)
    starts_at, ends_at = (
        changes.get("starts_at", activity.starts_at),
        changes.get("ends_at", activity.ends_at),
    )
    moved = starts_at != activity.starts_at
    old_starts_at = activity.starts_at
    if moved or ends_at != activity.ends_at:
        _check_times(starts_at, ends_at)
    if "title" in changes or "description" in changes:
        author = Author(activity.tenant_id, activity.community_id, principal.user_id)
        title = " ".join(changes.get("title", activity.title).split())
        changes["title"], changes["description"] = await _screened(
            screen, author, title, changes.get("description", activity.description)
        )
    if "capacity" in changes:
        await _set_capacity(session, activity, changes.pop("capacity"))
    for field, value in changes.items():
        setattr(activity, field, value)
    await session.flush()
    if moved:
        await _plan_reminder(session, activity, before=remind_before, old_starts_at=old_starts_at)
        emit(
            session,
            ActivityScheduled(activity.id, activity.community_id, activity.tenant_id, activity.starts_at),
        )
    return activity


async def _set_capacity(session: AsyncSession, activity: Activity, capacity: int | None) -> None:
    """Conditional on the sign-ups at that moment, so a concurrent sign-up cannot slip past."""
    await one_sqlite_writer(session)
    statement = update(Activity).where(Activity.id == activity.id)
    if capacity is not None:
        statement = statement.where(Activity.signups <= capacity)
    done = await session.scalar(
        statement.values(capacity=capacity)
        .returning(Activity.id)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(activity)
    if done is None:
        raise CapacityBelowSignups(signups=activity.signups)


async def check_cancel_activity(session: AsyncSession, principal: Principal, activity_id: int) -> Activity:
    """Raises ActivityNotFound, NotCommunityAdmin. Emits ActivityCancelled (once)."""
    activity = await get_activity(session, activity_id)
    await community_service.check_admin(session, principal, activity.community_id)
    await one_sqlite_writer(session)
    done = await session.scalar(
        update(Activity)
        .where(Activity.id == activity.id, Activity.state == SCHEDULED)
        .values(state=CANCELLED)
        .returning(Activity.id)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(activity)
    if done is not None:
        await jobs.cancel(session, reminder_key(activity.id, activity.starts_at))
        emit(session, ActivityCancelled(activity.id, activity.community_id, activity.tenant_id))
    return activity


# ---- sign-up ----


async def check_sign_up(
    session: AsyncSession, principal: Principal, activity_id: int
) -> tuple[Activity, bool]:
    """Sign up; signing up again changes nothing. Returns the activity and whether this call
    took a seat. Raises ActivityNotFound, NotCommunityMember, SignupClosed, ActivityFull."""
    assert principal.user_id is not None
    activity = await access_activity(session, principal, activity_id)
    return activity, await do_sign_up(session, activity, user_id=principal.user_id)


async def do_sign_up(session: AsyncSession, activity: Activity, *, user_id: int) -> bool:
    """Emits ActivitySignedUp when this call took the seat."""
    await one_sqlite_writer(session)
    now = utcnow()
    async with session.begin_nested():
        added = await session.scalar(
            dialect_insert(session, ActivitySignup)
            .values(activity_id=activity.id, user_id=user_id, created_at=now)
            .on_conflict_do_nothing(index_elements=["activity_id", "user_id"])
            .returning(ActivitySignup.user_id)
        )
        if added is not None:
            seat = await session.scalar(
                update(Activity)
                .where(
                    Activity.id == activity.id,
                    Activity.state == SCHEDULED,
                    Activity.starts_at > now,
                    or_(Activity.capacity.is_(None), Activity.signups < Activity.capacity),
                )
                .values(signups=Activity.signups + 1)
                .returning(Activity.signups)
                .execution_options(synchronize_session=False)
            )
            if seat is None:
                await session.refresh(activity)
                raise SignupClosed() if not signup_open(activity, now) else ActivityFull()
    await session.refresh(activity)
    if added is None:
        return False
    emit(session, ActivitySignedUp(activity.id, activity.community_id, activity.tenant_id, user_id))
    return True


async def check_cancel_sign_up(session: AsyncSession, principal: Principal, activity_id: int) -> Activity:
    """Give the seat back (before the start); cancelling twice changes nothing.

    Raises ActivityNotFound, NotCommunityMember, SignupClosed (started)."""
    assert principal.user_id is not None
    activity = await access_activity(session, principal, activity_id)
    if activity.starts_at <= utcnow():
        raise SignupClosed("The activity has started")
    await do_cancel_sign_up(session, activity, user_id=principal.user_id)
    return activity


async def do_cancel_sign_up(session: AsyncSession, activity: Activity, *, user_id: int) -> bool:
    """Emits ActivitySignupCancelled when a seat was given back."""
    await one_sqlite_writer(session)
    gone = await session.scalar(
        delete(ActivitySignup)
        .where(ActivitySignup.activity_id == activity.id, ActivitySignup.user_id == user_id)
        .returning(ActivitySignup.user_id)
    )
    if gone is not None:
        await session.execute(
            update(Activity)
            .where(Activity.id == activity.id)
            .values(signups=Activity.signups - 1)
            .execution_options(synchronize_session=False)
        )
        emit(
            session, ActivitySignupCancelled(activity.id, activity.community_id, activity.tenant_id, user_id)
        )
    await session.refresh(activity)
    return gone is not None


# ---- reading ----


async def list_activities(
    session: AsyncSession, *, community_id: int, include_past: bool = False, limit: int = 100
) -> list[Activity]:
    """Soonest first; by default those not ended yet (cancelled ones included, marked)."""
    query = select(Activity).where(Activity.community_id == community_id)
    if not include_past:
        query = query.where(Activity.ends_at > utcnow())
    return list(await session.scalars(query.order_by(Activity.starts_at, Activity.id).limit(limit)))


async def signed_up_ids(
    session: AsyncSession, *, user_id: int | None, activity_ids: Sequence[int]
) -> set[int]:
    if user_id is None or not activity_ids:
        return set()
    rows = await session.scalars(
        select(ActivitySignup.activity_id).where(
            ActivitySignup.user_id == user_id, ActivitySignup.activity_id.in_(activity_ids)
        )
    )
    return set(rows)


async def list_signups(session: AsyncSession, *, activity_id: int) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(ActivitySignup.user_id, User.display_name, ActivitySignup.created_at)
        .join(User, User.id == ActivitySignup.user_id)
        .where(ActivitySignup.activity_id == activity_id)
        .order_by(ActivitySignup.created_at, ActivitySignup.user_id)
    )
    return [{"user_id": u, "display_name": n, "signed_up_at": at} for u, n, at in rows.all()]
