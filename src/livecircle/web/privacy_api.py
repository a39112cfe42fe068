"""A member's data rights as JSON (PIPL art. 44-47, GDPR art. 15-20):

- POST /api/v1/me/exports (202) and GET /api/v1/me/exports[/{id}]: a copy of their data, with
  the signed download link once ready; GET /exports/{token}: the download (404 for a forged
  link, 410 for an expired one);
- PATCH /api/v1/me: correct the display name or the e-mail (the e-mail only with the password);
- POST / GET / DELETE /api/v1/me/deletion: delete the account after the cooling-off period,
  or cancel it (the password confirms; every session and token is revoked at once);
- GET /api/v1/privacy/holds?user_id=: the legal-hold records of an erased account, for the
  platform's admins (the audit role) only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, Response
from pydantic import EmailStr, Field
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.config import Settings
from livecircle.identity import service as identity_service
from livecircle.identity.deps import CurrentUser, forget_tokens
from livecircle.identity.schemas import Principal
from livecircle.kit.cache import LoadingCache
from livecircle.kit.deps import AppSettings, DbSession
from livecircle.kit.schemas import Schema
from livecircle.privacy import deletion, export, legal_hold
from livecircle.privacy.models import READY, DeletionRequest, ExportRequest
from livecircle.privacy.rights_errors import DeletionNotFound, HoldsForAuditorsOnly

router = APIRouter(tags=["privacy"])
ObjectId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
Token = Annotated[str, PathParam(min_length=10, max_length=400)]


class ExportOut(Schema):
    id: int
    status: str
    created_at: datetime
    ready_at: datetime | None
    expires_at: datetime | None
    size_bytes: int | None
    url: str | None = Field(description="The signed download link, once ready; it expires")


class ProfileIn(Schema):
    display_name: str | None = Field(default=None, min_length=1, max_length=32)
    email: EmailStr | None = None
    password: str | None = Field(default=None, max_length=128, description="Needed to change the e-mail")


class ProfileOut(Schema):
    id: int
    email: str
    display_name: str


class DeletionIn(Schema):
    password: str = Field(min_length=1, max_length=128)


class DeletionOut(Schema):
    id: int
    status: str
    requested_at: datetime
    erase_at: datetime
    cancelled_at: datetime | None = None


class HoldOut(Schema):
    id: int
    pseudonym: int
    table_name: str
    row_key: str
    reason: str
    hold_until: datetime
    created_at: datetime


def export_out(settings: Settings, item: ExportRequest) -> ExportOut:
    url = export.link_url(settings, item) if item.status == READY else None
    return ExportOut(
        id=item.id,
        status=item.status,
        created_at=item.created_at,
        ready_at=item.ready_at,
        expires_at=item.expires_at,
        size_bytes=item.size_bytes,
        url=f"{settings.http.base_url}{url}" if url else None,
    )


def deletion_out(item: DeletionRequest) -> DeletionOut:
    return DeletionOut(
        id=item.id,
        status=item.status,
        requested_at=item.requested_at,
        erase_at=item.erase_at,
        cancelled_at=item.cancelled_at,
    )


def _me(principal: Principal) -> tuple[int, int]:
    assert principal.user_id is not None
    assert principal.tenant_id is not None
    return principal.user_id, principal.tenant_id


@router.post("/api/v1/me/exports", status_code=status.HTTP_202_ACCEPTED)
async def request_export(session: DbSession, principal: CurrentUser, settings: AppSettings) -> ExportOut:
    """Ask for a copy of my data (JSON + CSV); 429 with Retry-After past the limits."""
    user_id, tenant_id = _me(principal)
    item = await export.do_request_export(session, settings, user_id=user_id, tenant_id=tenant_id)
    return export_out(settings, item)


@router.get("/api/v1/me/exports")
async def my_exports(session: DbSession, principal: CurrentUser, settings: AppSettings) -> list[ExportOut]:
    items = await export.list_exports(session, user_id=_me(principal)[0])
    return [export_out(settings, item) for item in items]


@router.get("/api/v1/me/exports/{export_id}")
async def my_export(
    export_id: ObjectId, session: DbSession, principal: CurrentUser, settings: AppSettings
) -> ExportOut:
    item = await export.get_export(session, user_id=_me(principal)[0], export_id=export_id)
    return export_out(settings, item)


@router.get("/exports/{token}", include_in_schema=False)
async def download_export(token: Token, session: DbSession, settings: AppSettings) -> Response:
    """The archive behind a signed link (the link is the credential: it may be opened elsewhere)."""
    item, path = await export.check_download(session, settings, token)
    name = f"livecircle-export-{item.created_at:%Y%m%d}.zip"
    return FileResponse(
        path, media_type="application/zip", filename=name, headers={"Cache-Control": "no-store"}
    )


@router.patch("/api/v1/me")
async def correct_profile(
    data: ProfileIn, request: Request, session: DbSession, principal: CurrentUser
) -> ProfileOut:
    """Correct my display name or e-mail (the e-mail needs the password)."""
    user = await change_profile(
        session,
        user_id=_me(principal)[0],
        display_name=data.display_name,
        email=data.email,
        password=data.password,
    )
    forget_principals(request, user.id)
    return ProfileOut(id=user.id, email=user.email, display_name=user.display_name)


async def change_profile(
    session: AsyncSession, *, user_id: int, display_name: str | None, email: str | None, password: str | None
) -> Any:
    """Raises WrongPassword (an e-mail change without the right password), EmailTaken."""
    user = await identity_service.get_user(session, user_id)
    assert user is not None
    changing_email = email is not None and email.strip().lower() != user.email
    if changing_email:
        await identity_service.check_password(session, user_id=user_id, password=password or "")
    return await identity_service.do_update_profile(
        session, user=user, display_name=display_name, email=email
    )


@router.post("/api/v1/me/deletion", status_code=status.HTTP_202_ACCEPTED)
async def request_deletion(
    data: DeletionIn, request: Request, session: DbSession, principal: CurrentUser, settings: AppSettings
) -> DeletionOut:
    """Delete my account after the cooling-off period; signs me out everywhere."""
    item = await delete_account(request, session, settings, principal, password=data.password)
    return deletion_out(item)


async def delete_account(
    request: Request, session: AsyncSession, settings: Settings, principal: Principal, *, password: str
) -> DeletionRequest:
    """Check the password, schedule the erasure, revoke every session and token. Raises WrongPassword."""
    user_id, tenant_id = _me(principal)
    await identity_service.check_password(session, user_id=user_id, password=password)
    item = await deletion.do_request_deletion(
        session,
        user_id=user_id,
        tenant_id=tenant_id,
        cooling_off_days=settings.privacy.deletion_cooling_off_days,
    )
    revoked = await identity_service.do_revoke_access(session, user_id=user_id)
    forget_tokens(request, session, revoked)  # after commit, on every node
    return item


@router.get("/api/v1/me/deletion")
async def my_deletion(session: DbSession, principal: CurrentUser) -> DeletionOut:
    item = await deletion.current_deletion(session, user_id=_me(principal)[0])
    if item is None:
        raise DeletionNotFound()
    return deletion_out(item)


@router.delete("/api/v1/me/deletion")
async def cancel_deletion(session: DbSession, principal: CurrentUser) -> DeletionOut:
    """Keep my account (during the cooling-off period)."""
    return deletion_out(await deletion.do_cancel_deletion(session, user_id=_me(principal)[0]))


@router.get("/api/v1/privacy/holds")
async def legal_holds(
    session: DbSession,
    principal: CurrentUser,
    settings: AppSettings,
    user_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> list[HoldOut]:
    """Legal-hold records (all, or one erased account's): the platform's admins only (a hold
    names no tenant once its subject is a pseudonym, so no tenant's admin may list them)."""
    if not await identity_service.is_platform_admin(session, principal, settings.default_tenant):
        raise HoldsForAuditorsOnly()
    if user_id is None:
        holds = await legal_hold.list_holds(session)
    else:
        pseudonym = await legal_hold.pseudonym_of(session, settings.secret_key, user_id)
        holds = [] if pseudonym is None else await legal_hold.list_holds(session, pseudonym=pseudonym)
    return [HoldOut.model_validate(hold, from_attributes=True) for hold in holds]


def _principals(request: Request) -> LoadingCache[str, Principal | None] | None:
    cache: LoadingCache[str, Principal | None] | None = getattr(request.app.state, "principals", None)
    return cache


def forget_principals(request: Request, user_id: int) -> None:
    """The node's cached token owners of ``user_id`` (their name or rights changed)."""
    cache = _principals(request)
    if cache is not None:
        cache.forget_where(lambda key: (p := cache.peek(key)) is not None and p.user_id == user_id)
