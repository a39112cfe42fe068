"""Identity JSON API: register, token, me, password change, WebSocket tickets."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from livecircle.identity import service, signup_consent, throttle, tickets
from livecircle.identity.deps import (
    DEVICE_COOKIE,
    DEVICE_HEADER,
    DEVICE_ID,
    CurrentPrincipal,
    CurrentUser,
    bearer_of,
    forget_tokens,
    session_token,
)
from livecircle.identity.schemas import (
    InviteOut,
    MeOut,
    PasswordChangeIn,
    RegisterIn,
    TokenIn,
    TokenOut,
    UserOut,
    WsTicketOut,
)
from livecircle.kit.deps import AppSettings, DbSession
from livecircle.kit.ratelimit import Limiter
from livecircle.privacy.consent import Channel

router = APIRouter(prefix="/api/v1", tags=["identity"])


def _client(request: Request) -> tuple[str | None, str | None]:
    """The caller's IP (the forwarded one behind a trusted proxy) and device id, for the invite rules."""
    device = request.headers.get(DEVICE_HEADER) or request.cookies.get(DEVICE_COOKIE) or ""
    ip = request.client.host if request.client else None
    return ip, device if DEVICE_ID.fullmatch(device) else None


@router.post("/auth/register", status_code=status.HTTP_201_CREATED)
async def register(
    data: RegisterIn, request: Request, session: DbSession, settings: AppSettings, limiter: Limiter
) -> TokenOut:
    """429 (Retry-After) past ``security.register_per_ip`` sign-ups per IP."""
    ip, device = _client(request)
    await throttle.check_register(limiter, settings.security, ip=ip)
    tenant = await service.get_tenant_by_slug(session, data.tenant or settings.default_tenant)
    signup_consent.check_age_input(data.birth_year, data.guardian_email)
    user = await service.do_register(
        session,
        email=data.email,
        password=data.password,
        display_name=data.display_name,
        tenant=tenant,
        invite_code=data.invite_code,
        ip=ip,
        device=device,
    )
    await signup_consent.do_record_signup_consent(
        session,
        user,
        tenant_id=tenant.id,
        marketing=data.marketing,
        birth_year=data.birth_year,
        guardian_email=data.guardian_email,
        channel=Channel.API,
        locale=getattr(request.state, "locale", settings.default_locale),
    )
    token = await service.do_issue_api_token(session, user=user, tenant_id=tenant.id)
    return TokenOut(access_token=token, user=UserOut.model_validate(user))


@router.post("/auth/token")
async def issue_token(
    data: TokenIn, request: Request, session: DbSession, settings: AppSettings, limiter: Limiter
) -> TokenOut:
    """429 (Retry-After) past ``security.login_per_account_ip`` failures or ``login_per_ip`` attempts."""
    ip, device = _client(request)
    user = await throttle.check_sign_in(
        session, limiter, settings.security, email=data.email, password=data.password, ip=ip, device=device
    )
    tenant_id = (await service.get_tenant_by_slug(session, data.tenant)).id if data.tenant else None
    membership = await service.get_membership(session, user_id=user.id, tenant_id=tenant_id)
    token = await service.do_issue_api_token(session, user=user, tenant_id=membership.tenant_id)
    return TokenOut(access_token=token, user=UserOut.model_validate(user))


@router.get("/me")
async def me(principal: CurrentPrincipal) -> MeOut:
    return MeOut(
        id=principal.user_id,
        display_name=principal.display_name,
        tenant_id=principal.tenant_id,
        role=principal.role,
        authenticated=principal.is_authenticated,
    )


@router.get("/me/invite")
async def my_invite(session: DbSession, principal: CurrentUser, settings: AppSettings) -> InviteOut:
    """The caller's personal invite code and link, and how many accounts it brought."""
    assert principal.user_id is not None
    user = await service.get_user(session, principal.user_id)
    assert user is not None
    code = await service.ensure_invite_code(session, user)
    invited = await service.count_invited(session, inviter_id=user.id)
    return InviteOut(code=code, url=f"{settings.http.base_url}/i/{code}", invited=invited)


@router.put("/me/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(
    data: PasswordChangeIn,
    request: Request,
    session: DbSession,
    principal: CurrentUser,
    settings: AppSettings,
    limiter: Limiter,
) -> Response:
    """Change the password (the current one required); every other page session and API token of
    the account is revoked, the calling one kept. 403 ``wrong_password``; 429 past the limit."""
    assert principal.user_id is not None
    await throttle.check_password_change(limiter, settings.security, user_id=principal.user_id)
    bearer = bearer_of(request)
    revoked = await service.do_change_password(
        session,
        user_id=principal.user_id,
        current_password=data.current_password,
        new_password=data.new_password,
        keep_token=bearer,
        keep_session=None if bearer else session_token(request, settings),
    )
    forget_tokens(request, session, revoked)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/ws-tickets", status_code=status.HTTP_201_CREATED)
async def issue_ws_ticket(principal: CurrentUser, settings: AppSettings, limiter: Limiter) -> WsTicketOut:
    """A one-time ticket for the room socket: offer the subprotocols ``livecircle`` and
    ``ticket.<ticket>`` on the handshake (no token in the URL). Valid ``expires_in`` seconds."""
    assert principal.user_id is not None
    assert principal.tenant_id is not None
    rule = settings.security.ws_tickets_per_user
    await limiter.acquire(f"ws-ticket:user:{principal.user_id}", limit=rule.limit, window=rule.window_seconds)
    ticket = tickets.issue(settings.secret_key, user_id=principal.user_id, tenant_id=principal.tenant_id)
    return WsTicketOut(ticket=ticket, expires_in=settings.security.ws_ticket_seconds)
