"""Live service: rooms, stream keys, shows and the publish decisions.

``access_room`` is the only way to fetch a room for a principal; media
adapters call ``check_publish`` / ``do_unpublish`` / ``do_register_recording``.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.identity.schemas import Principal, Role
from livecircle.kit.clock import utcnow
from livecircle.kit.events import emit
from livecircle.kit.ids import new_stream_key
from livecircle.live.errors import (
    AlreadyPublishing,
    CannotCreateRoom,
    NotRoomOwner,
    PublishRefused,
    RoomNotFound,
    ShowNotFound,
)
from livecircle.live.events import (
    PublisherDisconnected,
    ReplayReady,
    ShowEnded,
    ShowStarted,
    StreamKeyChanged,
)
from livecircle.live.models import Recording, Room, Show
from livecircle.live.schemas import RoomCreate, ShowCreate, ShowStatus, Visibility


@dataclass(frozen=True, slots=True)
class PublishGrant:
    """What a media adapter needs once a key is accepted."""

    tenant_id: int
    room_id: int
    show_id: int
    stream_name: str
    part: int
    resumed: bool


def can_see(principal: Principal, room: Room) -> bool:
    return may_see(principal, visibility=room.visibility, tenant_id=room.tenant_id)


def may_see(principal: Principal, *, visibility: str, tenant_id: int) -> bool:
    """Public rooms are for everyone; the others for members of their tenant."""
    return visibility == Visibility.PUBLIC or principal.tenant_id == tenant_id


def _can_manage(principal: Principal, room: Room) -> bool:
    return principal.user_id == room.owner_id or principal.has_role(room.tenant_id, Role.OPERATOR)


async def get_room(session: AsyncSession, room_id: int) -> Room:
    """Whoever asks. Raises RoomNotFound."""
    room = await session.get(Room, room_id)
    if room is None:
        raise RoomNotFound()
    return room


async def access_room(session: AsyncSession, principal: Principal, room_id: int) -> Room:
    """The room if ``principal`` may see it. Raises RoomNotFound (also for others' private rooms)."""
    room = await get_room(session, room_id)
    if not can_see(principal, room):
        raise RoomNotFound()
    return room


async def check_manage_room(session: AsyncSession, principal: Principal, room_id: int) -> Room:
    """The room if ``principal`` hosts it or operates its tenant. Raises RoomNotFound, NotRoomOwner."""
    room = await access_room(session, principal, room_id)
    if not _can_manage(principal, room):
        raise NotRoomOwner()
    return room


async def do_create_room(session: AsyncSession, principal: Principal, data: RoomCreate) -> Room:
    """Raises CannotCreateRoom unless the principal is a host, operator or admin."""
    if (
        principal.user_id is None
        or principal.tenant_id is None
        or not principal.has_role(principal.tenant_id, Role.HOST)
    ):
        raise CannotCreateRoom()
    room = Room(
        tenant_id=principal.tenant_id,
        owner_id=principal.user_id,
        title=data.title,
        description=data.description,
        visibility=data.visibility.value,
        stream_key=new_stream_key(),
        key_rotated_at=utcnow(),
    )
    session.add(room)
    await session.flush()
    return room


async def do_rotate_key(session: AsyncSession, room: Room) -> str:
    """Issue a new key; the old one stops working at once (a live publisher is kicked)."""
    room.stream_key = new_stream_key()
    room.key_rotated_at = utcnow()
    await session.flush()
    emit(session, StreamKeyChanged(tenant_id=room.tenant_id, room_id=room.id))
    return room.stream_key


async def do_revoke_key(session: AsyncSession, room: Room) -> None:
    room.stream_key = None
    room.key_rotated_at = utcnow()
    await session.flush()
    emit(session, StreamKeyChanged(tenant_id=room.tenant_id, room_id=room.id))


async def list_rooms(session: AsyncSession, principal: Principal) -> list[Room]:
    visible = or_(Room.visibility == Visibility.PUBLIC.value, Room.tenant_id == principal.tenant_id)
    return list(await session.scalars(select(Room).where(visible).order_by(Room.id)))


async def list_managed_rooms(session: AsyncSession, principal: Principal) -> list[Room]:
    rooms = await list_rooms(session, principal)
    return [room for room in rooms if _can_manage(principal, room)]


async def do_create_show(session: AsyncSession, room: Room, data: ShowCreate) -> Show:
    show = Show(
        room_id=room.id,
        tenant_id=room.tenant_id,
        title=data.title,
        scenario=data.scenario.value,
        scheduled_at=data.scheduled_at,
        status=ShowStatus.SCHEDULED.value,
    )
    session.add(show)
    await session.flush()
    return show


async def list_shows(session: AsyncSession, room_id: int) -> list[Show]:
    return list(await session.scalars(select(Show).where(Show.room_id == room_id).order_by(Show.id.desc())))


async def get_show(session: AsyncSession, show_id: int) -> Show:
    show = await session.get(Show, show_id)
    if show is None:
        raise ShowNotFound()
    return show


async def get_live_show(session: AsyncSession, room_id: int) -> Show | None:
    return await session.scalar(
        select(Show).where(Show.room_id == room_id, Show.status == ShowStatus.LIVE.value).limit(1)
    )


async def list_tenant_shows(session: AsyncSession, tenant_id: int, *, limit: int = 20) -> list[Show]:
    """The tenant's shows that went live, latest first."""
    rows = await session.scalars(
        select(Show)
        .where(Show.tenant_id == tenant_id, Show.started_at.is_not(None))
        .order_by(Show.started_at.desc())
        .limit(limit)
    )
    return list(rows)


async def live_show_ids(session: AsyncSession) -> dict[int, tuple[int, int]]:
    """Every live show: room id → (show id, tenant id)."""
    rows = await session.execute(
        select(Show.room_id, Show.id, Room.tenant_id)
        .join(Room, Room.id == Show.room_id)
        .where(Show.status == ShowStatus.LIVE.value)
    )
    return {room_id: (show_id, tenant_id) for room_id, show_id, tenant_id in rows}


async def get_current_show(session: AsyncSession, room_id: int) -> Show | None:
    """The live show, else the next scheduled one, else the latest ended one."""
    live = await get_live_show(session, room_id)
    if live is not None:
        return live
    upcoming = await session.scalar(
        select(Show)
        .where(Show.room_id == room_id, Show.status == ShowStatus.SCHEDULED.value)
        .order_by(Show.scheduled_at.is_(None), Show.scheduled_at, Show.id)
        .limit(1)
    )
    if upcoming is not None:
        return upcoming
    return await session.scalar(
        select(Show).where(Show.room_id == room_id).order_by(Show.ended_at.desc(), Show.id.desc()).limit(1)
    )


async def _room_by_key(session: AsyncSession, key: str) -> Room:
    room = await session.scalar(select(Room).where(Room.stream_key == key)) if key else None
    # The lookup is by unique index; compare again in constant time for good measure.
    if room is None or room.stream_key is None or not hmac.compare_digest(room.stream_key, key):
        raise PublishRefused()
    return room


async def check_publish(session: AsyncSession, *, key: str) -> PublishGrant:
    """Decide an encoder's publish attempt.

    A live show whose publisher dropped (within the grace window, enforced by
    ``do_end_stale_shows``) continues; otherwise the next scheduled show, or a
    new one, goes live. Raises PublishRefused, AlreadyPublishing. Emits ShowStarted.
    """
    room = await _room_by_key(session, key)
    show = await get_live_show(session, room.id)
    resumed = show is not None
    if show is not None and show.publishing:
        raise AlreadyPublishing()
    if show is None:
        show = await _next_show_to_start(session, room)
        show.status = ShowStatus.LIVE.value
        show.started_at = utcnow()
    show.publishing = True
    show.disconnected_at = None
    show.publish_count += 1
    await session.flush()
    emit(session, ShowStarted(tenant_id=room.tenant_id, room_id=room.id, show_id=show.id, resumed=resumed))
    return PublishGrant(
        tenant_id=room.tenant_id,
        room_id=room.id,
        show_id=show.id,
        stream_name=room.stream_name,
        part=show.publish_count,
        resumed=resumed,
    )


async def _next_show_to_start(session: AsyncSession, room: Room) -> Show:
    show = await session.scalar(
        select(Show)
        .where(Show.room_id == room.id, Show.status == ShowStatus.SCHEDULED.value)
        .order_by(Show.scheduled_at.is_(None), Show.scheduled_at, Show.id)
        .limit(1)
    )
    if show is None:
        show = Show(room_id=room.id, tenant_id=room.tenant_id, title=room.title, publish_count=0)
        session.add(show)
    return show


async def check_publisher_allowed(session: AsyncSession, *, key: str) -> Room:
    """Periodic re-check of a running publisher (nginx ``on_update``). Raises PublishRefused."""
    return await _room_by_key(session, key)


async def do_unpublish(session: AsyncSession, *, show_id: int) -> None:
    """The encoder went away; the show stays live for the grace window. Emits PublisherDisconnected."""
    show = await get_show(session, show_id)
    if show.status != ShowStatus.LIVE.value or not show.publishing:
        return
    show.publishing = False
    show.disconnected_at = utcnow()
    await session.flush()
    emit(session, PublisherDisconnected(tenant_id=show.tenant_id, room_id=show.room_id, show_id=show.id))


async def do_end_show(session: AsyncSession, show: Show) -> None:
    """End a live (or never started) show. Emits ShowEnded when it was live."""
    was_live = show.status == ShowStatus.LIVE.value
    show.status = ShowStatus.ENDED.value
    show.ended_at = (
        show.disconnected_at if was_live and not show.publishing and show.disconnected_at else utcnow()
    )
    show.publishing = False
    await session.flush()
    if was_live:
        emit(session, ShowEnded(tenant_id=show.tenant_id, room_id=show.room_id, show_id=show.id))


async def do_end_stale_shows(session: AsyncSession, *, grace_seconds: float) -> list[int]:
    """End live shows whose publisher has been gone longer than the grace window."""
    cutoff = utcnow() - timedelta(seconds=grace_seconds)
    stale = list(
        await session.scalars(
            select(Show).where(
                Show.status == ShowStatus.LIVE.value,
                Show.publishing.is_(False),
                Show.disconnected_at < cutoff,
            )
        )
    )
    for show in stale:
        await do_end_show(session, show)
    return [show.id for show in stale]


async def do_register_recording(
    session: AsyncSession, *, show_id: int, part: int, directory: str, duration_ms: int
) -> Recording:
    """Emits ReplayReady."""
    show = await get_show(session, show_id)
    recording = Recording(show_id=show_id, part=part, directory=directory, duration_ms=duration_ms)
    session.add(recording)
    await session.flush()
    emit(session, ReplayReady(tenant_id=show.tenant_id, room_id=show.room_id, show_id=show_id))
    return recording


async def list_recordings(session: AsyncSession, show_id: int) -> list[Recording]:
    return list(
        await session.scalars(select(Recording).where(Recording.show_id == show_id).order_by(Recording.part))
    )


async def get_latest_replay_show(session: AsyncSession, room_id: int) -> Show | None:
    """The most recent ended show of the room that has a recording."""
    return await session.scalar(
        select(Show)
        .join(Recording, Recording.show_id == Show.id)
        .where(Show.room_id == room_id, Show.status == ShowStatus.ENDED.value)
        .order_by(Show.ended_at.desc(), Show.id.desc())
        .limit(1)
    )


async def do_note_viewers(session: AsyncSession, *, room_id: int, online: int) -> None:
    """Raise the live show's peak online count to ``online`` (one conditional UPDATE, so
    several nodes reporting at once keep the highest)."""
    await session.execute(
        update(Show)
        .where(Show.room_id == room_id, Show.status == ShowStatus.LIVE.value)
        .values(peak_viewers=case((Show.peak_viewers < online, online), else_=Show.peak_viewers))
    )


async def do_add_likes(session: AsyncSession, *, show_id: int, count: int) -> int:
    """Add likes to a show in one atomic UPDATE; returns the new total."""
    total = await session.scalar(
        update(Show)
        .where(Show.id == show_id)
        .values(like_count=Show.like_count + count)
        .returning(Show.like_count)
    )
    return int(total or 0)


async def count_live_shows(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).where(Show.status == ShowStatus.LIVE.value)) or 0)
