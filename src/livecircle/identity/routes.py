"""Identity JSON API: register, token, me."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from livecircle.identity import service
from livecircle.identity.deps import DEVICE_COOKIE, DEVICE_HEADER, DEVICE_ID, CurrentPrincipal, CurrentUser
from livecircle.identity.schemas import InviteOut, MeOut, RegisterIn, TokenIn, TokenOut, UserOut
from livecircle.kit.deps import AppSettings, DbSession

router = APIRouter(prefix="/api/v1", tags=["identity"])


def _client(request: Request) -> tuple[str | None, str | None]:
    """The caller's IP (the forwarded one behind a trusted proxy) and device id, for the invite rules."""
    device = request.headers.get(DEVICE_HEADER) or request.cookies.get(DEVICE_COOKIE) or ""
    ip = request.client.host if request.client else None
    return ip, device if DEVICE_ID.fullmatch(device) else None


@router.post("/auth/register", status_code=status.HTTP_201_CREATED)
async def register(data: RegisterIn, request: Request, session: DbSession, settings: AppSettings) -> TokenOut:
    tenant = await service.get_tenant_by_slug(session, data.tenant or settings.default_tenant)
    ip, device = _client(request)
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
    token = await service.do_issue_api_token(session, user=user, tenant_id=tenant.id)
    return TokenOut(access_token=token, user=UserOut.model_validate(user))


@router.post("/auth/token")
async def issue_token(data: TokenIn, request: Request, session: DbSession) -> TokenOut:
    ip, device = _client(request)
    user = await service.check_sign_in(
        session, email=data.email, password=data.password, ip=ip, device=device
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
