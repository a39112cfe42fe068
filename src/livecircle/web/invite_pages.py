"""Invite pages: the share page (my link, a copy button, a ready share text, my counts), the
leaderboard, and the public landing ``/i/{code}`` that records the open and leads to sign-up.

Pages that see a device without the ``lc_device`` cookie give it one (``page_client``)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response

from livecircle.config import Settings
from livecircle.growth.invites import service as invite_service
from livecircle.growth.invites.deps import Client, client_of, new_device, remember_device
from livecircle.identity.deps import CurrentPrincipal
from livecircle.kit.deps import AppSettings, DbSession
from livecircle.kit.templating import get_pages

router = APIRouter(include_in_schema=False)
Code = Annotated[str, PathParam(min_length=1, max_length=16)]


def page_client(request: Request) -> tuple[Client, bool]:
    """The client's IP and device id, making a device id up when it has none (True: new)."""
    client = client_of(request)
    if client.device is not None:
        return client, False
    return Client(ip=client.ip, device=new_device()), True


def keep_device(response: Response, client: Client, new: bool, settings: Settings) -> Response:
    if new and client.device is not None:
        remember_device(response, client.device, secure=settings.cookie_secure)
    return response


@router.get("/i/{code}")
async def open_invite(
    request: Request, code: Code, session: DbSession, principal: CurrentPrincipal, settings: AppSettings
) -> Response:
    """A friend's link: the attribution window starts now; on to sign-up with the code."""
    client, new = page_client(request)
    assert client.device is not None
    inviter_id = await invite_service.do_record_open(session, code=code, device=client.device, ip=client.ip)
    if principal.user_id is not None:
        await invite_service.do_note_marks(
            session, user_id=principal.user_id, ip=client.ip, device=client.device
        )
    target = f"/register?invite={quote(code.strip().upper())}" if inviter_id is not None else "/register"
    return keep_device(RedirectResponse(target, status_code=303), client, new, settings)


@router.get("/invite")
async def invite_page(
    request: Request, session: DbSession, principal: CurrentPrincipal, settings: AppSettings
) -> Response:
    if principal.user_id is None:
        return RedirectResponse("/login?next=/invite", status_code=303)
    client, new = page_client(request)
    await invite_service.do_note_marks(session, user_id=principal.user_id, ip=client.ip, device=client.device)
    mine = await invite_service.get_my_invites(session, settings, user_id=principal.user_id)
    context = {"principal": principal, **mine, "rules": _rules(settings)}
    response = get_pages(request).render(request, "invite.html", context)
    return keep_device(response, client, new, settings)


@router.get("/invites/board")
async def board_page(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    if principal.tenant_id is None:
        return RedirectResponse("/login?next=/invites/board", status_code=303)
    boards = await invite_service.get_boards(session, tenant_id=principal.tenant_id)
    return get_pages(request).render(
        request,
        "invite_board.html",
        {"principal": principal, "boards": boards, "size": invite_service.BOARD_SIZE},
    )


def _rules(settings: Settings) -> dict[str, Any]:
    growth = settings.growth
    return {
        "window_days": growth.invite_window_days,
        "watch_minutes": growth.invite_vest_watch_minutes,
        "daily_cap": growth.invite_daily_cap,
        "coupon": growth.invite_coupon_template_id is not None,
        "points": settings.economy.points.earn["invite"].points
        if "invite" in settings.economy.points.earn
        else 0,
    }
