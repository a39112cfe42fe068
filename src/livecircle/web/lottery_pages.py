"""The public audit page of a lottery (开奖公示): the seed's hash published at the opening, the
revealed seed, the frozen list and its hash, the winners, the algorithm in words, and the script
that re-derives the winners from the JSON audit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.config import Settings
from livecircle.identity.deps import CurrentPrincipal
from livecircle.interaction import service as interaction_service
from livecircle.interaction.lotteries import service as lottery_service
from livecircle.interaction.lotteries.errors import LotteryNotFound
from livecircle.kit.deps import AppSettings, DbSession
from livecircle.kit.templating import get_pages
from livecircle.live import service as live_service

router = APIRouter(include_in_schema=False)
ObjectId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
VERIFY_SCRIPT = Path(__file__).parent / "static" / "lottery_verify.py"
LIST_OPEN_UP_TO = 50  # a longer frozen list starts collapsed


@router.get("/lotteries/{lottery_id}/audit")
async def lottery_audit_page(
    request: Request,
    lottery_id: ObjectId,
    session: DbSession,
    principal: CurrentPrincipal,
    settings: AppSettings,
) -> Response:
    context = await _audit_context(session, principal, settings, lottery_id)
    json_url = _public_base(request, settings) + f"/api/v1/lotteries/{lottery_id}/audit"
    return get_pages(request).render(
        request, "lottery_audit.html", {"principal": principal, **context, "audit_json_url": json_url}
    )


async def _audit_context(
    session: AsyncSession, principal: Any, settings: Settings, lottery_id: int
) -> dict[str, Any]:
    """The audit and the lottery's public view, as the JSON API shows them to this principal
    (a draft exists only for the room's staff)."""
    lottery = await lottery_service.get_lottery(session, lottery_id)
    room = await live_service.access_room(session, principal, lottery.room_id)
    if lottery.status == "draft" and not interaction_service.is_moderator(
        principal, room.tenant_id, room.owner_id
    ):
        raise LotteryNotFound()
    audit = await lottery_service.audit(session, lottery)
    view = await lottery_service.view(session, settings.economy, lottery)
    winning = {w["ticket"] for w in audit["winners"]}
    return {
        "room": room,
        "audit": audit,
        "lottery": view,
        "winning_tickets": winning,
        "list_open": len(audit["tickets"]) <= LIST_OPEN_UP_TO,
        "verify_script": _verify_script(),
    }


def _public_base(request: Request, settings: Settings) -> str:
    return settings.http.public_url.rstrip("/") or str(request.base_url).rstrip("/")


def _verify_script() -> str:
    return VERIFY_SCRIPT.read_text(encoding="utf-8")
