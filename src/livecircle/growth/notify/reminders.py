"""Show reminders (预约): viewers sign up for a scheduled show; a durable job
``growth.remind_show`` at ``starts_at - lead`` notifies the host's followers and the show's
sign-ups, each once.

The live domain emits no event when a show is given a start time or a new one, so every
node re-plans from the database (``do_sync_reminders``, every few seconds): a show whose
start time has no plan yet, or another one, gets its job, and the job planned for the old
time is cancelled. The plan and the job commit together, so a restart loses nothing; the
job checks the show again when it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.growth.notify import service
from livecircle.growth.notify.errors import ShowNotRemindable
from livecircle.growth.notify.models import ShowReminderPlan, ShowSignup
from livecircle.growth.notify.schemas import Kind, ReminderOut, RoomReminderOut, UpcomingShowOut
from livecircle.identity import service as identity_service
from livecircle.identity.schemas import Principal
from livecircle.kit import jobs
from livecircle.kit.clock import utcnow
from livecircle.kit.db import dialect_insert, one_sqlite_writer
from livecircle.live import service as live_service
from livecircle.live.models import Follow, Room, Show
from livecircle.live.schemas import ShowStatus, Visibility

REMIND_JOB = "growth.remind_show"
# A reminder that comes due this long after the planned start (nodes were down) is dropped.
STALE_AFTER = timedelta(hours=1)
Translate = Callable[[str], str]


def _upcoming(show: Show, now: datetime) -> bool:
    return (
        show.status == ShowStatus.SCHEDULED.value
        and show.scheduled_at is not None
        and show.scheduled_at > now
    )


async def access_upcoming_show(session: AsyncSession, principal: Principal, show_id: int) -> Show:
    """A show of a room ``principal`` may see, with its start still ahead.
    Raises ShowNotFound, RoomNotFound, ShowNotRemindable."""
    show = await live_service.get_show(session, show_id)
    await live_service.access_room(session, principal, show.room_id)
    if not _upcoming(show, utcnow()):
        raise ShowNotRemindable()
    return show


async def do_sign_up(session: AsyncSession, *, show: Show, user_id: int, lead: timedelta) -> None:
    """Remind ``user_id`` of ``show`` (idempotent); makes sure the show's reminder is planned."""
    await session.execute(
        dialect_insert(session, ShowSignup)
        .values(show_id=show.id, user_id=user_id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["show_id", "user_id"])
    )
    await _ensure_planned(session, show, lead=lead, now=utcnow())


async def do_cancel_sign_up(session: AsyncSession, *, show_id: int, user_id: int) -> None:
    signup = await session.get(ShowSignup, (show_id, user_id))
    if signup is not None:
        await session.delete(signup)
        await session.flush()


async def reminder_state(session: AsyncSession, *, show: Show, user_id: int | None) -> ReminderOut:
    signed_up = user_id is not None and await session.get(ShowSignup, (show.id, user_id)) is not None
    return ReminderOut(
        show_id=show.id,
        signed_up=signed_up,
        starts_at=show.scheduled_at,
        signups=await _count_signups(session, show.id),
    )


async def room_reminder(session: AsyncSession, *, principal: Principal, room_id: int) -> RoomReminderOut:
    """The room's next scheduled show and the caller's sign-up. Raises RoomNotFound."""
    room = await live_service.access_room(session, principal, room_id)
    show = await session.scalar(
        select(Show)
        .where(
            Show.room_id == room.id, Show.status == ShowStatus.SCHEDULED.value, Show.scheduled_at > utcnow()
        )
        .order_by(Show.scheduled_at, Show.id)
        .limit(1)
    )
    if show is None or show.scheduled_at is None:
        return RoomReminderOut(show=None, signed_up=False, signups=0)
    state = await reminder_state(session, show=show, user_id=principal.user_id)
    upcoming = UpcomingShowOut(id=show.id, title=show.title, starts_at=show.scheduled_at)
    return RoomReminderOut(show=upcoming, signed_up=state.signed_up, signups=state.signups)


async def _count_signups(session: AsyncSession, show_id: int) -> int:
    query = select(func.count()).select_from(ShowSignup).where(ShowSignup.show_id == show_id)
    return int(await session.scalar(query) or 0)


# Planning


async def do_sync_reminders(session: AsyncSession, *, lead: timedelta, now: datetime) -> int:
    """Plan the reminder of every upcoming show whose start time is new or changed; returns how
    many were (re)planned. Reads only when there is nothing to do."""
    plan = ShowReminderPlan
    rows = await session.execute(
        select(Show.id, Show.scheduled_at, plan.job_key)
        .outerjoin(plan, plan.show_id == Show.id)
        .where(
            Show.status == ShowStatus.SCHEDULED.value,
            Show.scheduled_at > now,
            or_(plan.show_id.is_(None), plan.starts_at != Show.scheduled_at),
        )
        .order_by(Show.scheduled_at)
        .limit(500)
    )
    todo = rows.all()
    if todo:
        await one_sqlite_writer(session)
    for show_id, starts_at, old_key in todo:
        assert starts_at is not None  # the query asked for scheduled_at > now
        await _plan(session, show_id=show_id, starts_at=starts_at, old_key=old_key, lead=lead, now=now)
    return len(todo)


async def _ensure_planned(session: AsyncSession, show: Show, *, lead: timedelta, now: datetime) -> None:
    if show.scheduled_at is None:
        return
    current = await session.get(ShowReminderPlan, show.id)
    if current is None or current.starts_at != show.scheduled_at:
        old_key = current.job_key if current is not None else None
        await _plan(
            session, show_id=show.id, starts_at=show.scheduled_at, old_key=old_key, lead=lead, now=now
        )


def reminder_key(show_id: int, starts_at: datetime) -> str:
    return f"{REMIND_JOB}:{show_id}:{int(starts_at.timestamp() * 1000)}"


async def _plan(
    session: AsyncSession,
    *,
    show_id: int,
    starts_at: datetime,
    old_key: str | None,
    lead: timedelta,
    now: datetime,
) -> None:
    """Cancel the reminder of the old start time, schedule the new one (at once when the lead
    time has begun already) and remember it."""
    key = reminder_key(show_id, starts_at)
    if old_key is not None and old_key != key:
        await jobs.cancel(session, old_key)
    payload = {"show_id": show_id, "starts_at": starts_at.isoformat()}
    await jobs.schedule(session, REMIND_JOB, key=key, run_at=max(starts_at - lead, now), payload=payload)
    insert = dialect_insert(session, ShowReminderPlan).values(
        show_id=show_id, starts_at=starts_at, job_key=key, planned_at=now
    )
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=["show_id"],
            set_={"starts_at": starts_at, "job_key": key, "planned_at": now},
        )
    )


# The job


async def on_remind_job(
    session: AsyncSession, payload: dict[str, Any], *, translate: Translate, email: bool
) -> int:
    """Notify the show's audience, unless the show went live, ended, disappeared or moved
    since the job was planned. Returns how many users were notified."""
    show = await session.get(Show, int(payload["show_id"]))
    starts_at = datetime.fromisoformat(str(payload["starts_at"]))
    now = utcnow()
    if show is None or show.scheduled_at != starts_at or not _upcoming(show, now - STALE_AFTER):
        return 0
    room = await live_service.get_room(session, show.room_id)
    audience = await _audience(session, show, room)
    if not audience:
        return 0
    host = await identity_service.get_user(session, room.owner_id)
    await service.do_notify(
        session,
        tenant_id=show.tenant_id,
        user_ids=audience,
        kind=Kind.SHOW_REMINDER,
        title=translate("Starting soon: %(title)s") % {"title": show.title},
        body=_body(translate, host.display_name if host else room.title, starts_at, now),
        link=f"/rooms/{room.id}",
        dedupe_key=f"show_reminder:{show.id}:{int(starts_at.timestamp() * 1000)}",
        data={
            "show": {
                "id": show.id,
                "room_id": room.id,
                "title": show.title,
                "starts_at": payload["starts_at"],
            }
        },
        email=email,
    )
    return len(audience)


async def _audience(session: AsyncSession, show: Show, room: Room) -> list[int]:
    """The host's followers and the show's sign-ups, once each; never the host; for a
    private room only members of its tenant."""
    followers = await session.scalars(select(Follow.user_id).where(Follow.host_id == room.owner_id))
    signups = await session.scalars(select(ShowSignup.user_id).where(ShowSignup.show_id == show.id))
    audience = (set(followers) | set(signups)) - {room.owner_id}
    if room.visibility != Visibility.PUBLIC.value and audience:
        audience = await identity_service.members_among(
            session, tenant_id=room.tenant_id, user_ids=sorted(audience)
        )
    return sorted(audience)


def _body(translate: Translate, host: str, starts_at: datetime, now: datetime) -> str:
    minutes = round((starts_at - now).total_seconds() / 60)
    when = starts_at.strftime("%Y-%m-%d %H:%M")
    if minutes >= 1:
        return translate("%(host)s goes live in %(minutes)s min (%(time)s UTC).") % {
            "host": host,
            "minutes": minutes,
            "time": when,
        }
    return translate("%(host)s is going live now (%(time)s UTC).") % {"host": host, "time": when}
