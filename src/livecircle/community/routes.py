"""Communities JSON API: create and edit groups, join in one click, members and roles, the
host's join card in the live room."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from livecircle.community import service
from livecircle.community.models import Community
from livecircle.community.schemas import (
    CardPushed,
    CommunityCreate,
    CommunityOut,
    CommunityUpdate,
    JoinIn,
    MemberOut,
    RoleIn,
)
from livecircle.identity.deps import CurrentPrincipal, CurrentUser
from livecircle.kit.deps import AppSettings, DbSession

router = APIRouter(prefix="/api/v1", tags=["communities"])
ObjectId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _out(community: Community, role: str | None = None) -> CommunityOut:
    return CommunityOut.model_validate(community).model_copy(update={"my_role": role})


@router.post("/communities", status_code=status.HTTP_201_CREATED)
async def create_community(data: CommunityCreate, session: DbSession, principal: CurrentUser) -> CommunityOut:
    """A new group owned by the caller (host or above); ``room_id`` ties it to a live room."""
    return _out(await service.do_create_community(session, principal, data), "owner")


@router.get("/communities")
async def list_communities(
    session: DbSession, principal: CurrentPrincipal, room_id: Annotated[int | None, Query(ge=1)] = None
) -> list[CommunityOut]:
    """The groups of the caller's tenant (or of one room), biggest first."""
    tenant = None if room_id is not None else principal.tenant_id
    return [_out(c) for c in await service.list_communities(session, tenant_id=tenant, room_id=room_id)]


@router.get("/communities/{community_id}")
async def get_community(
    community_id: ObjectId, session: DbSession, principal: CurrentPrincipal
) -> CommunityOut:
    community = await service.get_community(session, community_id)
    member = await service.get_member(session, community_id=community_id, user_id=principal.user_id)
    return _out(community, member.role if member else None)


@router.patch("/communities/{community_id}")
async def update_community(
    community_id: ObjectId, data: CommunityUpdate, session: DbSession, principal: CurrentUser
) -> CommunityOut:
    community = await service.check_admin(session, principal, community_id)
    return _out(await service.do_update_community(session, community, data))


@router.post("/communities/{community_id}/join")
async def join(
    community_id: ObjectId,
    session: DbSession,
    principal: CurrentUser,
    settings: AppSettings,
    data: JoinIn | None = None,
) -> CommunityOut:
    """Join in one click; ``show_id`` (the live show whose card was clicked) or ``invite_code``
    attribute the join. Joining again changes nothing."""
    member = await service.check_join(session, principal, settings.economy, community_id, data or JoinIn())
    return _out(await service.get_community(session, community_id), member.role)


@router.delete("/communities/{community_id}/join", status_code=status.HTTP_204_NO_CONTENT)
async def leave(community_id: ObjectId, session: DbSession, principal: CurrentUser) -> Response:
    assert principal.user_id is not None
    community = await service.get_community(session, community_id)
    await service.do_leave(session, community, user_id=principal.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/communities/{community_id}/members")
async def members(
    community_id: ObjectId,
    session: DbSession,
    principal: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[MemberOut]:
    """Members in joining order, with the source and show that brought each (members only)."""
    await service.check_member(session, principal, community_id)
    rows = await service.list_members(session, community_id=community_id, limit=limit, offset=offset)
    return [MemberOut.model_validate(row) for row in rows]


@router.put("/communities/{community_id}/members/{user_id}/role")
async def set_role(
    community_id: ObjectId, user_id: ObjectId, data: RoleIn, session: DbSession, principal: CurrentUser
) -> MemberOut:
    """Owner, admins and operators make a member an admin or a plain member again."""
    community = await service.check_admin(session, principal, community_id)
    await service.do_set_role(session, community, user_id=user_id, role=data.role)
    [row] = await service.list_members(session, community_id=community_id, user_id=user_id)
    return MemberOut.model_validate(row)


@router.post("/communities/{community_id}/card")
async def push_card(community_id: ObjectId, session: DbSession, principal: CurrentUser) -> CardPushed:
    """The host pops the join card up for every viewer of the live show."""
    community = await service.get_community(session, community_id)
    show_id = await service.do_push_card(session, principal, community)
    return CardPushed(community_id=community.id, show_id=show_id)


@router.get("/me/communities")
async def my_communities(session: DbSession, principal: CurrentUser) -> list[CommunityOut]:
    """The caller's groups with their role, most recently joined first."""
    assert principal.user_id is not None
    rows = await service.list_my_communities(session, user_id=principal.user_id)
    return [_out(community, role) for community, role in rows]
