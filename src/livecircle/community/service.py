"""Communities: create, join in one click (from a live room's card or an invite link),
leave, roles, and who brought whom. The only place that writes community groups and members."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.community.errors import (
    CommunityNotFound,
    NotCommunityAdmin,
    NotCommunityMember,
    OwnerCannotLeave,
    RoleChangeRefused,
    TierTooLow,
)
from livecircle.community.events import CommunityCardPushed, CommunityJoined, CommunityLeft
from livecircle.community.models import Community, CommunityMember
from livecircle.community.schemas import CommunityCreate, CommunityUpdate, JoinIn
from livecircle.config import EconomySettings
from livecircle.economy import tiers
from livecircle.identity import service as identity_service
from livecircle.identity.errors import NotAMember
from livecircle.identity.models import User
from livecircle.identity.schemas import Principal, Role
from livecircle.kit.db import dialect_insert
from livecircle.kit.events import emit
from livecircle.live import service as live_service
from livecircle.live.errors import ShowNotLive

ADMIN_ROLES = ("owner", "admin")


async def get_community(session: AsyncSession, community_id: int) -> Community:
    community = await session.get(Community, community_id)
    if community is None:
        raise CommunityNotFound()
    return community


async def get_member(
    session: AsyncSession, *, community_id: int, user_id: int | None
) -> CommunityMember | None:
    if user_id is None:
        return None
    return await session.get(CommunityMember, (community_id, user_id))


def _is_staff(principal: Principal, community: Community) -> bool:
    return principal.has_role(community.tenant_id, Role.OPERATOR)


async def check_member(session: AsyncSession, principal: Principal, community_id: int) -> Community:
    """The community, if the caller is a member of it (or operator staff of its tenant).

    Raises CommunityNotFound, NotCommunityMember."""
    community = await get_community(session, community_id)
    if _is_staff(principal, community):
        return community
    if await get_member(session, community_id=community_id, user_id=principal.user_id) is None:
        raise NotCommunityMember()
    return community


async def check_admin(session: AsyncSession, principal: Principal, community_id: int) -> Community:
    """The community, if the caller is its owner or an admin (or operator staff of its tenant).

    Raises CommunityNotFound, NotCommunityAdmin."""
    community = await get_community(session, community_id)
    if _is_staff(principal, community):
        return community
    member = await get_member(session, community_id=community_id, user_id=principal.user_id)
    if member is None or member.role not in ADMIN_ROLES:
        raise NotCommunityAdmin()
    return community


async def is_admin(session: AsyncSession, principal: Principal, community: Community) -> bool:
    if _is_staff(principal, community):
        return True
    member = await get_member(session, community_id=community.id, user_id=principal.user_id)
    return member is not None and member.role in ADMIN_ROLES


async def do_create_community(
    session: AsyncSession, principal: Principal, data: CommunityCreate
) -> Community:
    """A new group owned by the caller (a host of its tenant or above). A group tied to a room
    needs the caller to manage that room.

    Raises NotAMember, RoomNotFound, NotRoomOwner."""
    if principal.user_id is None or principal.tenant_id is None or principal.role is None:
        raise NotAMember()
    if not principal.role.at_least(Role.HOST):
        raise NotAMember("Hosts, operators and admins create communities")
    if data.room_id is not None:
        await live_service.check_manage_room(session, principal, data.room_id)
    community = Community(
        tenant_id=principal.tenant_id,
        owner_id=principal.user_id,
        room_id=data.room_id,
        name=data.name,
        description=data.description,
        rules=data.rules,
        min_tier=data.min_tier,
        member_count=1,
    )
    session.add(community)
    await session.flush()
    session.add(CommunityMember(community_id=community.id, user_id=principal.user_id, role="owner"))
    await session.flush()
    return community


async def do_update_community(
    session: AsyncSession, community: Community, data: CommunityUpdate
) -> Community:
    for field, value in data.model_dump(exclude_unset=True).items():
        setattr(community, field, value)
    await session.flush()
    return community


async def check_join(
    session: AsyncSession, principal: Principal, rules: EconomySettings, community_id: int, data: JoinIn
) -> CommunityMember:
    """Join in one click; joining again changes nothing. ``show_id`` attributes the join to the
    live show whose card was clicked, ``invite_code`` to the member whose link was followed.

    Raises CommunityNotFound (also for another tenant's group: members join their own tenant's
    groups), TierTooLow, ShowNotLive. Emits CommunityJoined."""
    assert principal.user_id is not None
    community = await get_community(session, community_id)
    if community.tenant_id != principal.tenant_id:
        raise CommunityNotFound()
    existing = await get_member(session, community_id=community_id, user_id=principal.user_id)
    if existing is not None:
        return existing
    await _check_tier(session, rules, community, principal.user_id)
    show_id = await _attributed_show(session, community, data.show_id)
    inviter = await identity_service.user_id_for_invite_code(session, data.invite_code)
    if inviter == principal.user_id:
        inviter = None
    source = "room" if show_id is not None else "invite" if inviter is not None else "page"
    return await do_join(
        session, community, user_id=principal.user_id, source=source, show_id=show_id, inviter_id=inviter
    )


async def _check_tier(
    session: AsyncSession, rules: EconomySettings, community: Community, user_id: int
) -> None:
    if community.min_tier is None:
        return
    standing = await tiers.get_standing(session, rules, tenant_id=community.tenant_id, user_id=user_id)
    if tiers.TIERS.index(standing.tier) < tiers.TIERS.index(community.min_tier):
        raise TierTooLow(f"This community is for {community.min_tier} members; you are {standing.tier}")


async def _attributed_show(session: AsyncSession, community: Community, show_id: int | None) -> int | None:
    """The show a join came from: it must be live now in the community's room (anything else
    would let a client credit any show with joins)."""
    if show_id is None:
        return None
    live = await live_service.get_live_show(session, community.room_id) if community.room_id else None
    if live is None or live.id != show_id:
        raise ShowNotLive("Joins are attributed only to the live show of the community's room")
    return show_id


async def do_join(
    session: AsyncSession,
    community: Community,
    *,
    user_id: int,
    source: str,
    show_id: int | None = None,
    inviter_id: int | None = None,
) -> CommunityMember:
    """Insert the member once (concurrent clicks insert one row) and count it.

    Emits CommunityJoined when the row is new."""
    inserted = await session.execute(
        dialect_insert(session, CommunityMember)
        .values(
            community_id=community.id,
            user_id=user_id,
            role="member",
            source=source,
            show_id=show_id,
            inviter_id=inviter_id,
        )
        .on_conflict_do_nothing(index_elements=["community_id", "user_id"])
    )
    if inserted.rowcount:  # type: ignore[attr-defined]
        await _count(session, community.id, +1)
        emit(
            session, CommunityJoined(community.tenant_id, community.id, user_id, source, show_id, inviter_id)
        )
    member = await session.get(CommunityMember, (community.id, user_id), populate_existing=True)
    assert member is not None
    return member


async def _count(session: AsyncSession, community_id: int, delta: int) -> None:
    await session.execute(
        update(Community)
        .where(Community.id == community_id)
        .values(member_count=Community.member_count + delta)
        .execution_options(synchronize_session=False)
    )


async def do_leave(session: AsyncSession, community: Community, *, user_id: int) -> None:
    """Leave; leaving a group one is not in changes nothing.

    Raises OwnerCannotLeave. Emits CommunityLeft."""
    member = await get_member(session, community_id=community.id, user_id=user_id)
    if member is None:
        return
    if member.role == "owner":
        raise OwnerCannotLeave()
    await session.execute(
        delete(CommunityMember).where(
            CommunityMember.community_id == community.id, CommunityMember.user_id == user_id
        )
    )
    await _count(session, community.id, -1)
    emit(session, CommunityLeft(community.tenant_id, community.id, user_id))


async def do_set_role(
    session: AsyncSession, community: Community, *, user_id: int, role: str
) -> CommunityMember:
    """Make a member an admin or a plain member again; the owner's role does not change here.

    Raises NotCommunityMember, RoleChangeRefused."""
    member = await get_member(session, community_id=community.id, user_id=user_id)
    if member is None:
        raise NotCommunityMember("That account is not a member of this community")
    if member.role == "owner":
        raise RoleChangeRefused("The owner's role cannot be changed")
    member.role = role
    await session.flush()
    return member


async def do_push_card(session: AsyncSession, principal: Principal, community: Community) -> int:
    """Pop the join card up for every viewer of the community's room; returns the live show.

    Raises RoomNotFound, NotRoomOwner, ShowNotLive. Emits CommunityCardPushed."""
    if community.room_id is None:
        raise ShowNotLive("This community has no room to push its card into")
    room = await live_service.check_manage_room(session, principal, community.room_id)
    show = await live_service.get_live_show(session, room.id)
    if show is None:
        raise ShowNotLive()
    emit(session, CommunityCardPushed(community.tenant_id, community.id, room.id, show.id))
    return show.id


async def list_communities(
    session: AsyncSession, *, tenant_id: int | None = None, room_id: int | None = None
) -> list[Community]:
    query = select(Community).order_by(Community.member_count.desc(), Community.id)
    if tenant_id is not None:
        query = query.where(Community.tenant_id == tenant_id)
    if room_id is not None:
        query = query.where(Community.room_id == room_id)
    return list((await session.scalars(query.limit(200))).all())


async def list_my_communities(session: AsyncSession, *, user_id: int) -> list[tuple[Community, str]]:
    """The caller's groups with their role, most recently joined first."""
    rows = await session.execute(
        select(Community, CommunityMember.role)
        .join(CommunityMember, CommunityMember.community_id == Community.id)
        .where(CommunityMember.user_id == user_id)
        .order_by(CommunityMember.joined_at.desc(), Community.id.desc())
    )
    return [(community, role) for community, role in rows.all()]


async def list_members(
    session: AsyncSession, *, community_id: int, limit: int = 100, offset: int = 0, user_id: int | None = None
) -> list[dict[str, Any]]:
    """Members in joining order with their names (one member when ``user_id`` is given)."""
    query = (
        select(CommunityMember, User.display_name)
        .join(User, User.id == CommunityMember.user_id)
        .where(CommunityMember.community_id == community_id)
    )
    if user_id is not None:
        query = query.where(CommunityMember.user_id == user_id)
    rows = await session.execute(
        query.order_by(CommunityMember.joined_at, CommunityMember.user_id).limit(limit).offset(offset)
    )
    return [
        {
            "user_id": m.user_id,
            "display_name": name,
            "role": m.role,
            "source": m.source,
            "show_id": m.show_id,
            "joined_at": m.joined_at,
        }
        for m, name in rows.all()
    ]


async def count_joins_by_show(session: AsyncSession, *, show_id: int) -> int:
    """Members the show's card brought (the seed's "community join" KPI counts these)."""
    return int(
        await session.scalar(
            select(func.count()).select_from(CommunityMember).where(CommunityMember.show_id == show_id)
        )
        or 0
    )


async def members_among(session: AsyncSession, *, community_id: int, user_ids: list[int]) -> set[int]:
    rows = await session.scalars(
        select(CommunityMember.user_id).where(
            CommunityMember.community_id == community_id, CommunityMember.user_id.in_(user_ids)
        )
    )
    return set(rows.all())


async def joined_since(session: AsyncSession, *, community_id: int, since: datetime) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(CommunityMember)
            .where(CommunityMember.community_id == community_id, CommunityMember.joined_at >= since)
        )
        or 0
    )
