"""Who a room's host reaches: followers (关注) and the watch time of signed-in viewers,
credited while their room socket is open (another tab or another node never credits the same
interval twice)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.kit.clock import utcnow
from livecircle.kit.db import dialect_insert
from livecircle.kit.events import emit
from livecircle.live.errors import CannotFollow
from livecircle.live.events import HostFollowed, WatchCredited
from livecircle.live.models import Follow, Room, Show, Watch
from livecircle.live.service import get_live_show


async def do_credit_watch(
    session: AsyncSession, *, room_id: int, user_ids: list[int], seconds: int
) -> tuple[Show, dict[int, int]] | None:
    """Add ``seconds`` of watching the room's live show to each user, unless the same interval
    was credited already (another tab, another node): one multi-row conditional upsert.
    Returns the show and the new totals of the users it credited (None when nothing is live).
    Emits WatchCredited for those users."""
    show = await get_live_show(session, room_id)
    if show is None or not user_ids:
        return None
    now = utcnow()
    insert = dialect_insert(session, Watch)
    rows = await session.execute(
        insert.values(
            [{"show_id": show.id, "user_id": u, "seconds": seconds, "credited_at": now} for u in user_ids]
        )
        .on_conflict_do_update(
            index_elements=["show_id", "user_id"],
            set_={
                "seconds": Watch.seconds + insert.excluded.seconds,
                "credited_at": insert.excluded.credited_at,
            },
            where=Watch.credited_at <= now - timedelta(seconds=seconds * 0.8),
        )
        .returning(Watch.user_id, Watch.seconds)
    )
    totals = {int(user_id): int(total) for user_id, total in rows.all()}
    if totals:
        emit(session, WatchCredited(show.tenant_id, show.room_id, show.id, tuple(totals)))
    return show, totals


async def is_following(session: AsyncSession, *, user_id: int, host_id: int) -> bool:
    return await session.get(Follow, (user_id, host_id)) is not None


async def followers_among(session: AsyncSession, *, host_id: int, user_ids: list[int]) -> set[int]:
    rows = await session.scalars(
        select(Follow.user_id).where(Follow.host_id == host_id, Follow.user_id.in_(user_ids))
    )
    return set(rows)


async def watch_seconds(session: AsyncSession, *, show_id: int, user_ids: list[int]) -> dict[int, int]:
    rows = await session.execute(
        select(Watch.user_id, Watch.seconds).where(Watch.show_id == show_id, Watch.user_id.in_(user_ids))
    )
    return {int(user_id): int(seconds) for user_id, seconds in rows.all()}


async def total_watch_seconds(session: AsyncSession, *, user_ids: list[int]) -> dict[int, int]:
    """Seconds each user watched, all shows together (users who never watched are left out)."""
    rows = await session.execute(
        select(Watch.user_id, func.sum(Watch.seconds))
        .where(Watch.user_id.in_(user_ids))
        .group_by(Watch.user_id)
    )
    return {int(user_id): int(seconds or 0) for user_id, seconds in rows.all()}


async def do_follow(session: AsyncSession, *, room: Room, user_id: int) -> None:
    """Follow the room's host. Idempotent: following twice is one follow (and one event)."""
    host_id = room.owner_id
    if user_id == host_id:
        raise CannotFollow("You cannot follow yourself")
    if await session.get(Follow, (user_id, host_id)) is None:
        session.add(Follow(user_id=user_id, host_id=host_id))
        await session.flush()
        emit(session, HostFollowed(room.tenant_id, user_id, host_id, room.id))


async def do_unfollow(session: AsyncSession, *, user_id: int, host_id: int) -> None:
    follow = await session.get(Follow, (user_id, host_id))
    if follow is not None:
        await session.delete(follow)


async def count_followers(session: AsyncSession, host_id: int) -> int:
    return int(await session.scalar(select(func.count()).where(Follow.host_id == host_id)) or 0)
