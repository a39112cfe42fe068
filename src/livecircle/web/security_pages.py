"""The account security page: change the password, which signs the account out everywhere else."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from livecircle.identity import service as identity_service
from livecircle.identity import throttle
from livecircle.identity.deps import CsrfChecked, CurrentPrincipal, forget_tokens, session_token
from livecircle.identity.errors import WrongPassword
from livecircle.kit.deps import AppSettings, DbSession
from livecircle.kit.errors import AppError
from livecircle.kit.ratelimit import Limiter, RateLimited
from livecircle.kit.templating import get_pages

router = APIRouter(include_in_schema=False)
Password = Annotated[str, Form(max_length=128)]
MIN_PASSWORD = 8


def _page(request: Request, principal: Any, status_code: int = 200, **context: Any) -> Response:
    base = {"principal": principal, "changed": False, "error": None}
    return get_pages(request).render(request, "account_security.html", {**base, **context}, status_code)


@router.get("/account/security")
async def security_page(request: Request, principal: CurrentPrincipal) -> Response:
    if not principal.is_authenticated:
        return RedirectResponse("/login?next=/account/security", status_code=303)
    return _page(request, principal, changed=request.query_params.get("changed") == "1")


@router.post("/account/security/password", dependencies=[CsrfChecked])
async def change_password(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    principal: CurrentPrincipal,
    limiter: Limiter,
    current_password: Password,
    new_password: Password,
) -> Response:
    """Keeps this browser's session; every other session and API token of the account is revoked."""
    if principal.user_id is None:
        return RedirectResponse("/login?next=/account/security", status_code=303)
    if len(new_password) < MIN_PASSWORD:
        return _page(request, principal, 422, error="password_too_short")
    try:
        await throttle.check_password_change(limiter, settings.security, user_id=principal.user_id)
        revoked = await identity_service.do_change_password(
            session,
            user_id=principal.user_id,
            current_password=current_password,
            new_password=new_password,
            keep_session=session_token(request, settings),
        )
    except (WrongPassword, RateLimited) as exc:
        return _refused(request, principal, exc)
    forget_tokens(request, session, revoked)
    return RedirectResponse("/account/security?changed=1", status_code=303)


def _refused(request: Request, principal: Any, exc: AppError) -> Response:
    page = _page(request, principal, exc.status_code, error=exc.code)
    page.headers.update(getattr(exc, "headers", None) or {})  # Retry-After on a 429
    return page
