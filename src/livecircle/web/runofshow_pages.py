"""The script page of a show (hosts and moderators of its room): the run-of-show panel, a form
to add steps (static/runofshow_editor.js posts them to the script API) and the tenant's
templates, saved from this show or applied to it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.analytics.alerts.window import METRICS
from livecircle.commerce import catalog, coupons
from livecircle.community import service as community_service
from livecircle.identity.deps import CurrentPrincipal
from livecircle.interaction import service as interaction_service
from livecircle.interaction.runofshow import templates
from livecircle.kit.deps import DbSession
from livecircle.live import service as live_service
from livecircle.live.models import Show
from livecircle.web.commerce_pages import render

router = APIRouter(include_in_schema=False)


@router.get("/console/shows/{show_id}/script")
async def show_script(
    request: Request, show_id: int, session: DbSession, principal: CurrentPrincipal
) -> Response:
    if not principal.is_authenticated:
        return RedirectResponse(f"/login?next=/console/shows/{show_id}/script", status_code=303)
    show = await live_service.get_show(session, show_id)
    room = await interaction_service.check_moderate_room(session, principal, show.room_id)
    saved = await templates.list_templates(session, show.tenant_id)
    context: dict[str, Any] = {
        "show": show,
        "room": room,
        "templates": saved,
        "metrics": METRICS,
        "targets": await _targets(session, show),
        "script_editable": show.status != "ended",
    }
    return render(request, "console_show_script.html", principal, **context)


@router.get("/console/rooms/{room_id}/script")
async def room_script(room_id: int, session: DbSession, principal: CurrentPrincipal) -> Response:
    """The script of the room's live show, else of its next one (else its latest)."""
    room = await interaction_service.check_moderate_room(session, principal, room_id)
    show = await live_service.get_current_show(session, room.id)
    if show is None:
        return RedirectResponse(f"/console/rooms/{room_id}", status_code=303)
    return RedirectResponse(f"/console/shows/{show.id}/script", status_code=303)


async def _targets(session: AsyncSession, show: Show) -> dict[str, list[dict[str, Any]]]:
    """What each action can act on here: the show's products and SKUs, the tenant's drop
    coupons, the room's communities (the form's choices)."""
    offers = await catalog.show_offers(session, show.id)
    names = {p.id: p.name for p in await catalog.list_products(session, show.tenant_id, enabled_only=False)}
    drops = await coupons.list_templates(session, show.tenant_id, channel="drop", enabled_only=True)
    groups = await community_service.list_communities(session, room_id=show.room_id)
    return {
        "pin": [{"id": pid, "name": names.get(pid, f"#{pid}")} for pid in offers],
        "flash_sale": [
            {"id": o.sku.id, "name": f"{names.get(pid, pid)} · {o.sku.name} (¥{o.price_cents / 100:.2f})"}
            for pid, items in offers.items()
            for o in items
        ],
        "coupon": [{"id": t.id, "name": t.name} for t in drops],
        "community": [{"id": c.id, "name": c.name} for c in groups],
    }
