"""The member's privacy page (/me/privacy): download my data, correct my profile, delete my
account. Deleting takes two clicks and the password: "Delete my account" → the confirm page
(password) → done (signed out; the account is erased after the cooling-off period, during
which signing in again and one click on "Keep my account" cancels it)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import EmailStr as EmailAddress
from pydantic import TypeAdapter, ValidationError

from livecircle.identity import service as identity_service
from livecircle.identity.deps import CsrfChecked, CurrentPrincipal, session_cookie
from livecircle.identity.errors import EmailTaken, WrongPassword
from livecircle.identity.schemas import Principal
from livecircle.kit.deps import AppSettings, DbSession
from livecircle.kit.ratelimit import RateLimited
from livecircle.kit.templating import get_pages
from livecircle.privacy import deletion, export
from livecircle.privacy.rights_errors import DeletionNotFound
from livecircle.web.privacy_api import change_profile, delete_account, export_out, forget_principals

router = APIRouter(include_in_schema=False)
PAGE = "/me/privacy"
_EMAIL: TypeAdapter[str] = TypeAdapter(EmailAddress)


def _render(
    request: Request, name: str, principal: Principal | None, status_code: int = 200, **context: Any
) -> Response:
    return get_pages(request).render(request, name, {"principal": principal, **context}, status_code)


def _sign_in(path: str) -> Response:
    return RedirectResponse(f"/login?next={path}", status_code=303)


@router.get(PAGE)
async def privacy_page(
    request: Request, session: DbSession, principal: CurrentPrincipal, settings: AppSettings
) -> Response:
    if principal.user_id is None:
        return _sign_in(PAGE)
    return await _page(request, session, principal, settings, done=request.query_params.get("done", ""))


async def _page(
    request: Request,
    session: Any,
    principal: Principal,
    settings: Any,
    *,
    done: str = "",
    problem: str = "",
    status_code: int = 200,
) -> Response:
    assert principal.user_id is not None
    user = await identity_service.get_user(session, principal.user_id)
    exports = [export_out(settings, e) for e in await export.list_exports(session, user_id=principal.user_id)]
    return _render(
        request,
        "me_privacy.html",
        principal,
        status_code=status_code,
        user=user,
        exports=exports,
        scheduled=await deletion.current_deletion(session, user_id=principal.user_id),
        done=done,
        problem=problem,
        cooling_off_days=settings.privacy.deletion_cooling_off_days,
        link_days=settings.privacy.export_link_days,
    )


@router.post(f"{PAGE}/export", dependencies=[CsrfChecked])
async def privacy_export(
    request: Request, session: DbSession, principal: CurrentPrincipal, settings: AppSettings
) -> Response:
    if principal.user_id is None or principal.tenant_id is None:
        return _sign_in(PAGE)
    try:
        await export.do_request_export(
            session, settings, user_id=principal.user_id, tenant_id=principal.tenant_id
        )
    except RateLimited as exc:
        return await _page(request, session, principal, settings, problem=exc.code, status_code=429)
    return RedirectResponse(f"{PAGE}?done=export", status_code=303)


@router.post(f"{PAGE}/profile", dependencies=[CsrfChecked])
async def privacy_profile(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    settings: AppSettings,
    display_name: Annotated[str, Form(max_length=32)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    if principal.user_id is None:
        return _sign_in(PAGE)
    try:
        address = _EMAIL.validate_python(email.strip()) if email.strip() else None
        await change_profile(
            session,
            user_id=principal.user_id,
            display_name=display_name.strip() or None,
            email=address,
            password=password,
        )
    except ValidationError:
        return await _page(request, session, principal, settings, problem="invalid_email", status_code=422)
    except (WrongPassword, EmailTaken) as exc:
        return await _page(
            request, session, principal, settings, problem=exc.code, status_code=exc.status_code
        )
    forget_principals(request, principal.user_id)
    return RedirectResponse(f"{PAGE}?done=profile", status_code=303)


@router.get(f"{PAGE}/delete")
async def privacy_delete_confirm(
    request: Request, principal: CurrentPrincipal, settings: AppSettings
) -> Response:
    if principal.user_id is None:
        return _sign_in(f"{PAGE}/delete")
    days = settings.privacy.deletion_cooling_off_days
    return _render(request, "me_privacy_delete.html", principal, cooling_off_days=days, problem="")


@router.post(f"{PAGE}/delete", dependencies=[CsrfChecked])
async def privacy_delete(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    settings: AppSettings,
    password: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    if principal.user_id is None:
        return _sign_in(f"{PAGE}/delete")
    days = settings.privacy.deletion_cooling_off_days
    try:
        item = await delete_account(request, session, settings, principal, password=password)
    except WrongPassword as exc:
        return _render(
            request,
            "me_privacy_delete.html",
            principal,
            status_code=403,
            cooling_off_days=days,
            problem=exc.code,
        )
    response = _render(request, "me_privacy_deleted.html", None, request_item=item, cooling_off_days=days)
    response.delete_cookie(session_cookie(settings), path="/", secure=settings.cookie_secure)
    return response


@router.post(f"{PAGE}/delete/cancel", dependencies=[CsrfChecked])
async def privacy_delete_cancel(
    request: Request, session: DbSession, principal: CurrentPrincipal, settings: AppSettings
) -> Response:
    if principal.user_id is None:
        return _sign_in(PAGE)
    try:
        await deletion.do_cancel_deletion(session, user_id=principal.user_id)
    except DeletionNotFound as exc:
        return await _page(request, session, principal, settings, problem=exc.code, status_code=404)
    return RedirectResponse(f"{PAGE}?done=kept", status_code=303)
