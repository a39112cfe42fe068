"""Reading the co-host queue: the line in order (``rules.in_order``), each applicant's place,
the cooldown, the public snapshot (the ``cohost_queue`` event) and the host's board."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.identity.schemas import Principal
from livecircle.interaction import service as interaction_service
from livecircle.interaction.cohost import rules
from livecircle.interaction.cohost.models import ACTIVE, PENDING, CohostRequest
from livecircle.kit.clock import utcnow
from livecircle.live import service as live_service


async def list_active(session: AsyncSession, show_id: int) -> list[CohostRequest]:
    return await find(session, CohostRequest.show_id == show_id, statuses=ACTIVE)


def queue_of(requests: list[CohostRequest]) -> list[CohostRequest]:
    """The applicants among ``requests``, first in line first (``rules.in_order``)."""
    return rules.in_order(r for r in requests if r.status == "applied")


def with_status(requests: list[CohostRequest], status: str) -> list[CohostRequest]:
    return sorted(
        (r for r in requests if r.status == status), key=lambda r: (r.decided_at or r.applied_at, r.id)
    )


async def is_pending(session: AsyncSession, *, room_id: int, user_id: int) -> bool:
    found = await find(session, CohostRequest.room_id == room_id, user_id=user_id, statuses=PENDING)
    return bool(found)


async def cooldown_left(session: AsyncSession, *, room_id: int, user_id: int) -> int:
    """Whole seconds before the user may apply again in the room (0: now)."""
    until = await session.scalar(
        select(func.max(CohostRequest.cooldown_until)).where(
            CohostRequest.room_id == room_id, CohostRequest.user_id == user_id
        )
    )
    return max(0, math.ceil((until - utcnow()).total_seconds())) if until else 0


async def get_snapshot(session: AsyncSession, show_id: int | None) -> dict[str, Any]:
    """What every viewer may know (the ``cohost_queue`` event): the line with positions,
    who is on stage, who is invited."""
    active = await list_active(session, show_id) if show_id is not None else []
    return {
        "show_id": show_id,
        "queue": [
            {"position": n, "user_id": r.user_id, "display_name": r.display_name, "tier": r.tier}
            for n, r in enumerate(queue_of(active), start=1)
        ],
        "cohosts": [
            {"user_id": r.user_id, "display_name": r.display_name, "tier": r.tier}
            for r in with_status(active, "accepted")
        ],
        "invited": [r.user_id for r in with_status(active, "invited")],
        "max_cohosts": rules.MAX_COHOSTS,
    }


async def get_room_snapshot(session: AsyncSession, principal: Principal, room_id: int) -> dict[str, Any]:
    """The snapshot of the room's live show (``show_id`` None when it is not live)."""
    room = await live_service.access_room(session, principal, room_id)
    show = await live_service.get_live_show(session, room.id)
    return await get_snapshot(session, show.id if show else None)


@dataclass(frozen=True, slots=True)
class Board:
    """The host's view of the live show: the scored queue, the stage, the invitations."""

    show_id: int | None
    now: datetime
    queue: list[CohostRequest]
    cohosts: list[CohostRequest]
    invited: list[CohostRequest]


async def get_board(session: AsyncSession, principal: Principal, room_id: int) -> Board:
    """Raises RoomNotFound, NotModerator."""
    room = await interaction_service.check_moderate_room(session, principal, room_id)
    show = await live_service.get_live_show(session, room.id)
    active = await list_active(session, show.id) if show else []
    return Board(
        show.id if show else None,
        utcnow(),
        queue_of(active),
        with_status(active, "accepted"),
        with_status(active, "invited"),
    )


@dataclass(frozen=True, slots=True)
class Mine:
    """The caller's latest request in the live show, their place in line, their cooldown."""

    show_id: int | None
    request: CohostRequest | None
    position: int | None
    queue_length: int
    retry_after: int


async def get_mine(session: AsyncSession, principal: Principal, room_id: int) -> Mine:
    """Raises RoomNotFound."""
    assert principal.user_id is not None
    room = await live_service.access_room(session, principal, room_id)
    left = await cooldown_left(session, room_id=room.id, user_id=principal.user_id)
    show = await live_service.get_live_show(session, room.id)
    if show is None:
        return Mine(None, None, None, 0, left)
    latest = await session.scalar(
        select(CohostRequest)
        .where(CohostRequest.show_id == show.id, CohostRequest.user_id == principal.user_id)
        .order_by(CohostRequest.id.desc())
        .limit(1)
    )
    queue = queue_of(await list_active(session, show.id))
    ids = [r.user_id for r in queue]
    position = ids.index(principal.user_id) + 1 if principal.user_id in ids else None
    return Mine(show.id, latest, position, len(queue), left)


async def find(
    session: AsyncSession, where: Any, *, statuses: tuple[str, ...], user_id: int | None = None
) -> list[CohostRequest]:
    """Requests matching ``where`` in one of ``statuses``, as stored now (oldest first)."""
    query = select(CohostRequest).where(where, CohostRequest.status.in_(statuses))
    if user_id is not None:
        query = query.where(CohostRequest.user_id == user_id)
    rows = await session.scalars(query.order_by(CohostRequest.id).execution_options(populate_existing=True))
    return list(rows.all())
