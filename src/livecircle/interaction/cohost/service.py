"""The co-host queue's rules: viewers apply, cancel and answer invitations; the host (or a
moderator) invites, accepts, rejects and removes; the system drops applicants who left the room
and everyone when the show ends.

Every write first takes the show's co-host lock (``_lock_show``: the SQLite writer lock, a
transaction-scoped advisory lock on PostgreSQL), so the decisions on one show happen one at a
time; the database's partial unique index keeps one active request per user and show whatever
happens. Functions only flush; each change emits ``CohostRequestChanged`` (after commit).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.config import EconomySettings
from livecircle.economy import tiers
from livecircle.identity import service as identity_service
from livecircle.identity.schemas import Principal
from livecircle.interaction import service as interaction_service
from livecircle.interaction.cohost import queue, rules
from livecircle.interaction.cohost.errors import (
    CohostAlreadyActive,
    CohostCooldown,
    CohostFull,
    CohostNotLive,
    CohostOwnRoom,
    CohostQueueFull,
    CohostRequestNotFound,
    CohostUserNotFound,
    CohostWrongState,
)
from livecircle.interaction.cohost.events import CohostRequestChanged
from livecircle.interaction.cohost.models import ACTIVE, ACTIVE_WHERE, CLOSED, PENDING, CohostRequest
from livecircle.kit.clock import utcnow
from livecircle.kit.db import dialect_insert, one_sqlite_writer
from livecircle.kit.events import emit
from livecircle.live import service as live_service
from livecircle.live.models import Room, Show
from livecircle.moderation import service as moderation_service
from livecircle.moderation.errors import Banned
from livecircle.moderation.schemas import SanctionKind

LOCK_SPACE = 0x636F68  # "coh": the first key of this domain's PostgreSQL advisory locks
COOLDOWN_AFTER = {"rejected", "removed", "cancelled"}  # closing so makes the user wait


# ---- viewers ----


async def check_apply(
    session: AsyncSession, economy: EconomySettings, principal: Principal, room_id: int
) -> CohostRequest:
    """Join the queue of the room's live show, with the caller's tier at this moment.

    Raises RoomNotFound, CohostOwnRoom, Banned, CohostNotLive, CohostCooldown (``retry_after``),
    CohostAlreadyActive, CohostQueueFull. Emits CohostRequestChanged.
    """
    assert principal.user_id is not None
    room = await live_service.access_room(session, principal, room_id)
    await _check_may_cohost(session, room, principal.user_id)
    show = await _live_show(session, room.id)
    standing = await tiers.get_standing(session, economy, tenant_id=room.tenant_id, user_id=principal.user_id)
    name = principal.display_name or await _display_name(session, principal.user_id)
    await _lock_show(session, show.id)
    left = await queue.cooldown_left(session, room_id=room.id, user_id=principal.user_id)
    if left:
        raise CohostCooldown(retry_after=left)
    await _check_not_active(session, show.id, principal.user_id)
    if await _count(session, show.id, "applied") >= rules.MAX_QUEUE:
        raise CohostQueueFull(max_queue=rules.MAX_QUEUE)
    return await _create(session, show, principal.user_id, name, standing.tier, source="apply", actor=None)


async def check_cancel(session: AsyncSession, principal: Principal, room_id: int) -> CohostRequest:
    """The caller withdraws: an application is cancelled (cooldown), an invitation declined,
    a seat on stage left. Raises RoomNotFound, CohostNotLive, CohostRequestNotFound."""
    request = await _my_request(session, principal, room_id, ACTIVE)
    to = {"applied": "cancelled", "invited": "declined", "accepted": "left"}[request.status]
    return await _move(session, request, to=to, allowed=ACTIVE, actor=principal.user_id)


async def check_answer_invitation(
    session: AsyncSession, principal: Principal, room_id: int, *, accept: bool
) -> CohostRequest:
    """Accept or decline the host's invitation. Raises RoomNotFound, CohostNotLive,
    CohostRequestNotFound, CohostFull (accepting), CohostWrongState."""
    request = await _my_request(session, principal, room_id, ("invited",))
    if accept:
        await _check_seat(session, request.show_id)
    to = "accepted" if accept else "declined"
    return await _move(session, request, to=to, allowed=("invited",), actor=principal.user_id)


# ---- the host and moderators ----


async def check_decide(
    session: AsyncSession, principal: Principal, room_id: int, request_id: int, *, accept: bool
) -> CohostRequest:
    """Accept an applicant on stage, or reject them (cooldown). Raises RoomNotFound,
    NotModerator, CohostRequestNotFound, CohostFull (accepting), CohostWrongState."""
    request = await _request_to_manage(session, principal, room_id, request_id)
    if accept:
        await _check_seat(session, request.show_id)
    to = "accepted" if accept else "rejected"
    return await _move(session, request, to=to, allowed=("applied",), actor=principal.user_id)


async def check_remove(
    session: AsyncSession, principal: Principal, room_id: int, request_id: int
) -> CohostRequest:
    """Take a co-host off stage (``removed``, cooldown) or withdraw an invitation
    (``cancelled``, no cooldown: the user asked for nothing). Raises RoomNotFound, NotModerator,
    CohostRequestNotFound, CohostWrongState."""
    request = await _request_to_manage(session, principal, room_id, request_id)
    if request.status == "invited":
        return await _move(session, request, to="cancelled", allowed=("invited",), actor=principal.user_id)
    return await _move(session, request, to="removed", allowed=("accepted",), actor=principal.user_id)


async def check_invite(
    session: AsyncSession, economy: EconomySettings, principal: Principal, room_id: int, user_id: int
) -> CohostRequest:
    """Invite a user on stage; they accept or decline. No cooldown applies (the host asks).

    Raises RoomNotFound, NotModerator, CohostUserNotFound, CohostOwnRoom, Banned, CohostNotLive,
    CohostFull, CohostAlreadyActive. Emits CohostRequestChanged.
    """
    room = await interaction_service.check_moderate_room(session, principal, room_id)
    user = await identity_service.get_user(session, user_id)
    if user is None:
        raise CohostUserNotFound()
    await _check_may_cohost(session, room, user.id)
    show = await _live_show(session, room.id)
    standing = await tiers.get_standing(session, economy, tenant_id=room.tenant_id, user_id=user.id)
    await _lock_show(session, show.id)
    await _check_seat(session, show.id)
    await _check_not_active(session, show.id, user.id)
    return await _create(
        session, show, user.id, user.display_name, standing.tier, source="invite", actor=principal.user_id
    )


# ---- the system ----


async def do_drop_departed(session: AsyncSession, *, room_id: int, user_id: int) -> int:
    """Mark the user's applications and invitations in the room ``left`` (they are gone).
    Returns how many."""
    where = CohostRequest.room_id == room_id
    found = await queue.find(session, where, user_id=user_id, statuses=PENDING)
    for show_id in sorted({r.show_id for r in found}):
        await _lock_show(session, show_id)
    requests = await queue.find(session, where, user_id=user_id, statuses=PENDING)  # again, under the locks
    for request in requests:
        await _move(session, request, to="left", allowed=PENDING, actor=None)
    return len(requests)


async def do_end_show(session: AsyncSession, *, show_id: int) -> int:
    """The show ended: every active request ends with it. Returns how many."""
    await _lock_show(session, show_id)
    requests = await queue.find(session, CohostRequest.show_id == show_id, statuses=ACTIVE)
    for request in requests:
        await _move(session, request, to="ended", allowed=ACTIVE, actor=None)
    return len(requests)


# ---- inside ----


async def _lock_show(session: AsyncSession, show_id: int) -> None:
    """One co-host decision at a time per show (until the transaction ends)."""
    await one_sqlite_writer(session)
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(LOCK_SPACE, show_id)))


async def _live_show(session: AsyncSession, room_id: int) -> Show:
    show = await live_service.get_live_show(session, room_id)
    if show is None:
        raise CohostNotLive()
    return show


async def _check_may_cohost(session: AsyncSession, room: Room, user_id: int) -> None:
    if user_id == room.owner_id:
        raise CohostOwnRoom()
    sanctions = await moderation_service.active_sanctions(session, room_id=room.id, user_id=user_id)
    verdict = moderation_service.strongest(sanctions)
    if verdict is not None and verdict[0] == SanctionKind.BAN.value:
        raise Banned("Users banned in this room cannot co-host")


async def _check_not_active(session: AsyncSession, show_id: int, user_id: int) -> None:
    found = await queue.find(session, CohostRequest.show_id == show_id, user_id=user_id, statuses=ACTIVE)
    if found:
        raise CohostAlreadyActive(current_status=found[0].status, request_id=found[0].id)


async def _check_seat(session: AsyncSession, show_id: int) -> None:
    await _lock_show(session, show_id)
    if await _count(session, show_id, "accepted") >= rules.MAX_COHOSTS:
        raise CohostFull(max_cohosts=rules.MAX_COHOSTS)


async def _count(session: AsyncSession, show_id: int, status: str) -> int:
    found = await session.scalar(
        select(func.count())
        .select_from(CohostRequest)
        .where(CohostRequest.show_id == show_id, CohostRequest.status == status)
    )
    return int(found or 0)


async def _display_name(session: AsyncSession, user_id: int) -> str:
    user = await identity_service.get_user(session, user_id)
    return user.display_name if user else f"#{user_id}"


async def _my_request(
    session: AsyncSession, principal: Principal, room_id: int, statuses: tuple[str, ...]
) -> CohostRequest:
    assert principal.user_id is not None
    room = await live_service.access_room(session, principal, room_id)
    show = await _live_show(session, room.id)
    await _lock_show(session, show.id)
    found = await queue.find(
        session, CohostRequest.show_id == show.id, user_id=principal.user_id, statuses=statuses
    )
    if not found:
        raise CohostRequestNotFound("You have no such co-host request in this show")
    return found[0]


async def _request_to_manage(
    session: AsyncSession, principal: Principal, room_id: int, request_id: int
) -> CohostRequest:
    room = await interaction_service.check_moderate_room(session, principal, room_id)
    request = await session.get(CohostRequest, request_id)
    if request is None or request.room_id != room.id:
        raise CohostRequestNotFound()
    await _lock_show(session, request.show_id)
    await session.refresh(request)  # under the lock: the status as it is now
    return request


async def _create(
    session: AsyncSession, show: Show, user_id: int, name: str, tier: str, *, source: str, actor: int | None
) -> CohostRequest:
    status = "applied" if source == "apply" else "invited"
    values = {
        "tenant_id": show.tenant_id,
        "room_id": show.room_id,
        "show_id": show.id,
        "user_id": user_id,
        "display_name": name[:64],
        "tier": tier,
        "tier_rank": rules.tier_rank(tier),
        "status": status,
        "source": source,
        "applied_at": utcnow(),
        "decided_by": actor,
    }
    insert = dialect_insert(session, CohostRequest).values(**values)
    insert = insert.on_conflict_do_nothing(index_elements=["show_id", "user_id"], index_where=ACTIVE_WHERE)
    request_id = await session.scalar(insert.returning(CohostRequest.id))
    if request_id is None:  # the database's one-active-request rule, should the lock be bypassed
        raise CohostAlreadyActive()
    request = await session.get(CohostRequest, request_id)
    assert request is not None
    emit(session, _changed(request, None))
    return request


async def _move(
    session: AsyncSession,
    request: CohostRequest,
    *,
    to: str,
    allowed: tuple[str, ...],
    actor: int | None,
) -> CohostRequest:
    """Move ``request`` (read under the show's lock) to ``to``. Raises CohostWrongState unless
    its status is one of ``allowed``."""
    if request.status not in allowed:
        raise CohostWrongState(current_status=request.status)
    previous, now = request.status, utcnow()
    request.status = to
    if actor is not None and to in ("accepted", "rejected", "declined", "removed", "cancelled"):
        request.decided_at, request.decided_by = now, actor
    if to in CLOSED:
        request.closed_at = now
    if to in COOLDOWN_AFTER and previous != "invited":
        request.cooldown_until = now + timedelta(seconds=rules.COOLDOWN_S)
    await session.flush()
    emit(session, _changed(request, previous))
    return request


def _changed(request: CohostRequest, previous: str | None) -> CohostRequestChanged:
    return CohostRequestChanged(
        tenant_id=request.tenant_id,
        room_id=request.room_id,
        show_id=request.show_id,
        request_id=request.id,
        user_id=request.user_id,
        display_name=request.display_name,
        status=request.status,
        previous=previous,
        source=request.source,
    )
