"""HTML pages. Handlers parse, call one service function and render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from livecircle.economy import service as economy_service
from livecircle.economy.deps import operator_tenant
from livecircle.economy.schemas import GiftIn
from livecircle.identity import service as identity_service
from livecircle.identity import throttle
from livecircle.identity.deps import (
    CsrfChecked,
    CurrentPrincipal,
    session_cookie,
    session_token,
    sign_session,
)
from livecircle.identity.errors import EmailTaken, InvalidCredentials
from livecircle.identity.schemas import Role
from livecircle.kit.deps import AppSettings, DbSession
from livecircle.kit.i18n import LOCALES
from livecircle.kit.ratelimit import Limiter, RateLimited
from livecircle.kit.templating import get_pages
from livecircle.live import service as live_service
from livecircle.live.routes import stream_key_out
from livecircle.live.schemas import RoomCreate, Scenario, ShowCreate, ShowStatus, Visibility
from livecircle.live.state import room_state
from livecircle.web import commerce_pages, consent_pages, invite_pages

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=200)]


def _render(request: Request, name: str, principal: Any, **context: Any) -> Response:
    return get_pages(request).render(request, name, {"principal": principal, **context})


@router.get("/")
async def home(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    states = [await room_state(session, room) for room in await live_service.list_rooms(session, principal)]
    live = [{"room": s.room, "state": s} for s in states if s.mode == "live"]
    upcoming = [
        {"room": s.room, "state": s}
        for s in states
        if s.mode != "live" and s.show is not None and s.show.status == ShowStatus.SCHEDULED
    ]
    replays = [{"room": s.room, "state": s} for s in states if s.mode == "replay"]
    return _render(request, "home.html", principal, live=live, upcoming=upcoming, replays=replays)


@router.get("/rooms/{room_id}")
async def room_page(
    request: Request, room_id: int, session: DbSession, principal: CurrentPrincipal, settings: AppSettings
) -> Response:
    room = await live_service.access_room(session, principal, room_id)
    state = await room_state(session, room)
    can_manage = room.owner_id == principal.user_id or principal.has_role(room.tenant_id, Role.OPERATOR)
    client, new = invite_pages.page_client(request)  # the device id: anonymous viewing merges on sign-up
    page = _render(
        request,
        "room.html",
        principal,
        room=room,
        state=state.model_dump(mode="json"),
        can_manage=can_manage,
        shop_show_id=await commerce_pages.shop_show_id(session, room.id),
        max_quantity=settings.commerce.max_quantity,
    )
    return invite_pages.keep_device(page, client, new, settings)


@router.get("/console")
async def console(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    if not principal.is_authenticated:
        return RedirectResponse("/login?next=/console", status_code=303)
    rooms = await live_service.list_managed_rooms(session, principal)
    operator = principal.tenant_id is not None and principal.has_role(principal.tenant_id, Role.OPERATOR)
    return _render(
        request, "console.html", principal, rooms=rooms, scenarios=list(Scenario), operator=operator
    )


@router.post("/console/rooms", dependencies=[CsrfChecked])
async def console_create_room(
    session: DbSession,
    principal: CurrentPrincipal,
    title: Text,
    visibility: Annotated[Visibility, Form()] = Visibility.PUBLIC,
) -> Response:
    room = await live_service.do_create_room(
        session, principal, RoomCreate(title=title, visibility=visibility)
    )
    return RedirectResponse(f"/console/rooms/{room.id}", status_code=303)


@router.get("/console/rooms/{room_id}")
async def console_room(
    request: Request, room_id: int, session: DbSession, principal: CurrentPrincipal, settings: AppSettings
) -> Response:
    if not principal.is_authenticated:
        return RedirectResponse(f"/login?next=/console/rooms/{room_id}", status_code=303)
    room = await live_service.check_manage_room(session, principal, room_id)
    return _render(
        request,
        "console_room.html",
        principal,
        room=room,
        key=stream_key_out(room, settings.media.rtmp_base_url),
        state=(await room_state(session, room)).model_dump(mode="json"),
        shows=await live_service.list_shows(session, room.id),
        scenarios=list(Scenario),
        shop=await commerce_pages.console_shop(session, room_id=room.id, tenant_id=room.tenant_id),
    )


@router.post("/console/rooms/{room_id}/key/{action}", dependencies=[CsrfChecked])
async def console_key(room_id: int, action: str, session: DbSession, principal: CurrentPrincipal) -> Response:
    room = await live_service.check_manage_room(session, principal, room_id)
    if action == "revoke":
        await live_service.do_revoke_key(session, room)
    else:
        await live_service.do_rotate_key(session, room)
    return RedirectResponse(f"/console/rooms/{room_id}", status_code=303)


@router.post("/console/rooms/{room_id}/shows", dependencies=[CsrfChecked])
async def console_create_show(
    room_id: int,
    session: DbSession,
    principal: CurrentPrincipal,
    title: Text,
    scenario: Annotated[Scenario, Form()] = Scenario.BRAND,
) -> Response:
    room = await live_service.check_manage_room(session, principal, room_id)
    await live_service.do_create_show(session, room, ShowCreate(title=title, scenario=scenario))
    return RedirectResponse(f"/console/rooms/{room_id}", status_code=303)


@router.post("/console/shows/{show_id}/end", dependencies=[CsrfChecked])
async def console_end_show(show_id: int, session: DbSession, principal: CurrentPrincipal) -> Response:
    show = await live_service.get_show(session, show_id)
    await live_service.check_manage_room(session, principal, show.room_id)
    await live_service.do_end_show(session, show)
    return RedirectResponse(f"/console/rooms/{show.room_id}", status_code=303)


@router.get("/wallet")
async def wallet_page(request: Request, principal: CurrentPrincipal) -> Response:
    if not principal.is_authenticated:
        return RedirectResponse("/login?next=/wallet", status_code=303)
    is_host = principal.role is not None and principal.role.at_least(Role.HOST)
    return _render(request, "wallet.html", principal, is_host=is_host)


@router.get("/points")
async def points_page(request: Request, principal: CurrentPrincipal, settings: AppSettings) -> Response:
    if not principal.is_authenticated:
        return RedirectResponse("/login?next=/points", status_code=303)
    price = settings.economy.points.freeze_price  # also in GET /api/v1/checkin, for other clients
    return _render(request, "points.html", principal, freeze_price=price)


@router.get("/console/gifts")
async def console_gifts(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    if not principal.is_authenticated:
        return RedirectResponse("/login?next=/console/gifts", status_code=303)
    return await _gift_page(request, session, principal, added=request.query_params.get("added"))


@router.post("/console/gifts", dependencies=[CsrfChecked])
async def console_add_gift(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    name: Annotated[str, Form(max_length=64)],
    price: Annotated[str, Form(max_length=16)],
    currency: Annotated[str, Form(max_length=16)] = "coin",
    effect: Annotated[str, Form(max_length=16)] = "float",
    icon: Annotated[str, Form(max_length=32)] = "🎁",
) -> Response:
    """The catalogue's add form; the rules are the API's (``GiftIn``, operators only)."""
    form = {"name": name, "price": price, "currency": currency, "effect": effect, "icon": icon}
    tenant_id = operator_tenant(principal, "the gift catalogue")
    try:
        data = GiftIn.model_validate(form)
    except ValidationError as exc:
        invalid = sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]})
        return await _gift_page(request, session, principal, form=form, invalid=invalid, status_code=422)
    gift = await economy_service.do_create_gift(session, tenant_id=tenant_id, **data.model_dump())
    return RedirectResponse(f"/console/gifts?added={gift.id}", status_code=303)


@router.post("/console/gifts/{gift_id}/sale", dependencies=[CsrfChecked])
async def console_gift_sale(
    gift_id: int, session: DbSession, principal: CurrentPrincipal, enabled: Annotated[bool, Form()]
) -> Response:
    """Put a gift on sale or take it off (a gift off sale cannot be sent)."""
    tenant_id = operator_tenant(principal, "the gift catalogue")
    await economy_service.do_update_gift(session, tenant_id=tenant_id, gift_id=gift_id, enabled=enabled)
    return RedirectResponse("/console/gifts", status_code=303)


async def _gift_page(
    request: Request, session: DbSession, principal: Any, status_code: int = 200, **context: Any
) -> Response:
    tenant_id = operator_tenant(principal, "the gift catalogue")
    await economy_service.ensure_gift_catalogue(session, tenant_id)
    gifts = await economy_service.list_gifts(session, tenant_id, enabled_only=False)
    context = {"principal": principal, "gifts": gifts, "form": {}, "invalid": [], **context}
    return get_pages(request).render(request, "console_gifts.html", context, status_code)


@router.get("/login")
async def login_page(request: Request, principal: CurrentPrincipal, next: str = "/") -> Response:
    return _render(request, "login.html", principal, next=_safe_next(next), error=None)


@router.post("/login", dependencies=[CsrfChecked])
async def login(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    principal: CurrentPrincipal,
    limiter: Limiter,
    email: Text,
    password: Text,
    next: Annotated[str, Form(max_length=200)] = "/",
) -> Response:
    client, new_device = invite_pages.page_client(request)
    try:
        user = await throttle.check_sign_in(
            session,
            limiter,
            settings.security,
            email=email,
            password=password,
            ip=client.ip,
            device=client.device,
        )
        membership = await identity_service.get_membership(session, user_id=user.id)
    except (InvalidCredentials, RateLimited) as exc:
        page = get_pages(request).render(
            request,
            "login.html",
            {"principal": principal, "next": next, "error": exc.code, "email": email},
            exc.status_code,
        )
        page.headers.update(getattr(exc, "headers", {}))  # Retry-After on a 429
        return page
    token = await identity_service.do_open_session(
        session, user=user, tenant_id=membership.tenant_id, max_age_days=settings.session_max_age_days
    )
    return invite_pages.keep_device(
        _signed_in(settings, token, _safe_next(next)), client, new_device, settings
    )


@router.get("/register")
async def register_page(
    request: Request, principal: CurrentPrincipal, invite: Annotated[str, Query(max_length=16)] = ""
) -> Response:
    """``?invite=CODE``: the sign-up is credited to the friend whose link it was."""
    return _render(request, "register.html", principal, error=None, invite_code=invite)


@router.post("/register", dependencies=[CsrfChecked])
async def register(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    principal: CurrentPrincipal,
    limiter: Limiter,
    email: Text,
    password: Text,
    display_name: Annotated[str, Form(max_length=32)],
    invite_code: Annotated[str, Form(max_length=16)] = "",
    marketing: Annotated[bool, Form()] = False,
    birth_year: Annotated[str, Form(max_length=8)] = "",
    guardian_email: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    error = _register_problem(email, password, display_name) or consent_pages.age_problem(
        birth_year, guardian_email
    )
    client, new_device = invite_pages.page_client(request)
    await throttle.check_register(limiter, settings.security, ip=client.ip)  # 429 page when over
    if error is None:
        try:
            tenant = await identity_service.get_tenant_by_slug(session, settings.default_tenant)
            user = await identity_service.do_register(
                session,
                email=email,
                password=password,
                display_name=display_name,
                tenant=tenant,
                invite_code=invite_code,
                ip=client.ip,
                device=client.device,
            )
            pending = await consent_pages.record_signup(
                session, request, user, tenant.id, marketing, birth_year, guardian_email
            )
        except EmailTaken as exc:
            error = exc.code
    if error is not None:
        context = {
            "principal": principal,
            "error": error,
            "email": email,
            "display_name": display_name,
            "invite_code": invite_code,
            "marketing": marketing,
            "birth_year": birth_year,
            "guardian_email": guardian_email,
        }
        return get_pages(request).render(request, "register.html", context, 422)
    token = await identity_service.do_open_session(
        session, user=user, tenant_id=tenant.id, max_age_days=settings.session_max_age_days
    )
    target = "/me/consent?guardian=pending" if pending else "/"
    return invite_pages.keep_device(_signed_in(settings, token, target), client, new_device, settings)


def _register_problem(email: str, password: str, display_name: str) -> str | None:
    if "@" not in email or len(email) < 3:
        return "invalid_email"
    if len(password) < 8:
        return "password_too_short"
    if not display_name.strip():
        return "display_name_required"
    return None


@router.post("/logout", dependencies=[CsrfChecked])
async def logout(request: Request, session: DbSession, settings: AppSettings) -> Response:
    token = session_token(request, settings)
    if token:
        await identity_service.do_close_session(session, token)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(session_cookie(settings), path="/", secure=settings.cookie_secure)
    return response


@router.get("/lang/{locale}")
async def set_language(request: Request, locale: str) -> Response:
    response = RedirectResponse(
        _safe_next(request.headers.get("referer", "/"), allow_absolute=True), status_code=303
    )
    if locale in LOCALES:
        response.set_cookie("lc_lang", locale, max_age=365 * 86400, samesite="lax")
    return response


def _signed_in(settings: Any, token: str, target: str) -> Response:
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        session_cookie(settings),
        sign_session(settings.secret_key, token),
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        max_age=settings.session_max_age_days * 86400,
        path="/",
    )
    return response


def _safe_next(target: str, *, allow_absolute: bool = False) -> str:
    """Only same-site redirects after sign-in (no open redirect)."""
    if allow_absolute and "://" in target:
        target = "/" + target.split("://", 1)[1].partition("/")[2]
    return target if target.startswith("/") and not target.startswith("//") else "/"
