"""Community pages: the list (my communities first, then the tenant's others), one
community with its join/leave form and discussion, and the host's console to create groups.
The rules are the JSON API's: the forms validate with its schemas and call the same
community functions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from livecircle.community import service
from livecircle.community.schemas import CommunityCreate, JoinIn
from livecircle.identity.deps import CsrfChecked, CurrentPrincipal
from livecircle.identity.schemas import Principal, Role
from livecircle.kit.deps import AppSettings, DbSession
from livecircle.kit.templating import get_pages
from livecircle.live import service as live_service

router = APIRouter(include_in_schema=False)
Short = Annotated[str, Form(max_length=200)]
LongText = Annotated[str, Form(max_length=4000)]


def _render(
    request: Request, name: str, principal: Principal, status_code: int = 200, **context: Any
) -> Response:
    response = get_pages(request).render(request, name, {"principal": principal, **context})
    response.status_code = status_code
    return response


def _sign_in(path: str) -> Response:
    return RedirectResponse(f"/login?next={path}", status_code=303)


@router.get("/communities")
async def communities_page(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    mine = []
    if principal.user_id is not None:
        mine = await service.list_my_communities(session, user_id=principal.user_id)
    joined = {community.id for community, _ in mine}
    others = [
        c
        for c in await service.list_communities(session, tenant_id=principal.tenant_id)
        if c.id not in joined
    ]
    can_create = principal.role is not None and principal.role.at_least(Role.HOST)
    return _render(request, "communities.html", principal, mine=mine, others=others, can_create=can_create)


@router.get("/communities/{community_id}")
async def community_page(
    request: Request, community_id: int, session: DbSession, principal: CurrentPrincipal
) -> Response:
    community = await service.get_community(session, community_id)
    member = await service.get_member(session, community_id=community_id, user_id=principal.user_id)
    admin = principal.is_authenticated and await service.is_admin(session, principal, community)
    return _render(
        request,
        "community.html",
        principal,
        community=community,
        member=member,
        admin=admin,
        invite=request.query_params.get("invite", ""),
    )


@router.post("/communities/{community_id}/join", dependencies=[CsrfChecked])
async def join_form(
    community_id: int,
    session: DbSession,
    principal: CurrentPrincipal,
    settings: AppSettings,
    invite: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """The page's one-click join; an invite link's code attributes it to the inviter."""
    if not principal.is_authenticated:
        return _sign_in(f"/communities/{community_id}")
    await service.check_join(
        session, principal, settings.economy, community_id, JoinIn(invite_code=invite or None)
    )
    return RedirectResponse(f"/communities/{community_id}", status_code=303)


@router.post("/communities/{community_id}/leave", dependencies=[CsrfChecked])
async def leave_form(community_id: int, session: DbSession, principal: CurrentPrincipal) -> Response:
    if principal.user_id is None:
        return _sign_in(f"/communities/{community_id}")
    community = await service.get_community(session, community_id)
    await service.do_leave(session, community, user_id=principal.user_id)
    return RedirectResponse("/communities", status_code=303)


@router.get("/console/communities")
async def console_communities(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    if not principal.is_authenticated:
        return _sign_in("/console/communities")
    return await _console_page(request, session, principal)


@router.post("/console/communities", dependencies=[CsrfChecked])
async def console_create_community(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    name: Short,
    description: LongText = "",
    rules: LongText = "",
    room_id: Annotated[str, Form(max_length=12)] = "",
    min_tier: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    form = {"name": name, "description": description, "rules": rules, "room_id": room_id or None}
    form["min_tier"] = min_tier or None
    try:
        data = CommunityCreate.model_validate(form)
    except ValidationError as exc:
        invalid = sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]})
        return await _console_page(request, session, principal, form=form, invalid=invalid, status_code=422)
    community = await service.do_create_community(session, principal, data)
    return RedirectResponse(f"/communities/{community.id}", status_code=303)


async def _console_page(
    request: Request, session: Any, principal: Principal, *, status_code: int = 200, **context: Any
) -> Response:
    rooms = await live_service.list_managed_rooms(session, principal)
    mine = await service.list_my_communities(session, user_id=principal.user_id or 0)
    owned = [(c, role) for c, role in mine if role in service.ADMIN_ROLES]
    context = {"form": {}, "invalid": [], **context}
    return _render(
        request, "console_communities.html", principal, status_code, rooms=rooms, owned=owned, **context
    )
