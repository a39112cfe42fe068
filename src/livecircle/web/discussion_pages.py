"""The moderation queue page of a community (社群审核): what the word filter held and what
members reported, oldest first, with approve / remove buttons (static/community.js calls the
JSON API). For the community's owner and admins (and operators of its tenant)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from livecircle.community import service as community_service
from livecircle.community.discussion import reports, views
from livecircle.identity.deps import CurrentPrincipal
from livecircle.kit.deps import DbSession
from livecircle.kit.templating import get_pages

router = APIRouter(include_in_schema=False)
ObjectId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/console/communities/{community_id}/queue")
async def community_queue_page(
    request: Request, community_id: ObjectId, session: DbSession, principal: CurrentPrincipal
) -> Response:
    if not principal.is_authenticated:
        return RedirectResponse(f"/login?next=/console/communities/{community_id}/queue", status_code=303)
    community = await community_service.check_admin(session, principal, community_id)
    items = await views.queue_views(session, await reports.list_queue(session, community_id=community.id))
    context = {"principal": principal, "community": community, "items": items}
    context["threshold"] = reports.REPORTS_TO_HIDE
    return get_pages(request).render(request, "console_community_queue.html", context)
