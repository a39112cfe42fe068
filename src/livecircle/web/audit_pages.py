"""The audit log for operators: ``/console/audit`` (filters, paging, chain verification) and
``GET /api/v1/audit`` (+ ``/verify``).

Operators and admins of a tenant see their tenant's entries; an admin of the platform's own
tenant (``Settings.default_tenant``) sees every tenant's, and may narrow to one with ``tenant``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from livecircle.identity import service as identity_service
from livecircle.identity.deps import CurrentPrincipal, CurrentUser
from livecircle.identity.schemas import Principal, Role
from livecircle.kit.deps import AppSettings, DbSession
from livecircle.kit.errors import Forbidden
from livecircle.kit.schemas import Schema
from livecircle.kit.templating import get_pages
from livecircle.privacy.audit import AuditEntry
from livecircle.privacy.audit_chain import verify
from livecircle.privacy.audit_query import AuditFilter, AuditFilterInvalid, list_entries

router = APIRouter(tags=["audit"])
Text = Annotated[str, Query(max_length=128)]


class AuditEntryOut(Schema):
    seq: int
    at: datetime
    tenant_id: int | None
    actor_id: int | None
    actor_role: str | None
    action: str
    target: str
    purpose: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


class AuditPageOut(Schema):
    entries: list[AuditEntryOut]
    next_before: int | None


class VerifyOut(Schema):
    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    anchor_seq: int
    broken_seq: int | None
    reason: str | None
    message: str


async def _visible_tenant(
    session: DbSession, principal: Principal, settings: AppSettings, tenant: str
) -> int | None:
    """The tenant whose entries the caller may read (None: all). Raises Forbidden."""
    own = principal.tenant_id
    if own is None or not principal.has_role(own, Role.OPERATOR):
        raise Forbidden("Only the operators and admins of an organisation read its audit log")
    if not await identity_service.is_platform_admin(session, principal, settings.default_tenant):
        return own
    return _int(tenant, "tenant") if tenant else None


def _int(value: str, name: str) -> int:
    if not value.strip().isdigit() or int(value) > 2**31 - 1:
        raise AuditFilterInvalid(f"{name} must be a positive whole number")
    return int(value)


def _day(value: str, name: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
    except ValueError:
        raise AuditFilterInvalid(f"{name} must be a date (YYYY-MM-DD)") from None


def _filter(
    tenant_id: int | None, action: str, actor: str, target: str, since: str, until: str
) -> AuditFilter:
    """The page's and the API's filters; ``until`` is a whole day (included)."""
    end = _day(until, "until")
    return AuditFilter(
        tenant_id=tenant_id,
        action=action.strip(),
        actor_id=_int(actor, "actor") if actor.strip() else None,
        target=target.strip(),
        since=_day(since, "since"),
        until=end + timedelta(days=1) if end is not None else None,
    )


@router.get("/api/v1/audit")
async def audit_entries(
    session: DbSession,
    principal: CurrentUser,
    settings: AppSettings,
    action: Text = "",
    actor: Text = "",
    target: Text = "",
    since: Text = "",
    until: Text = "",
    tenant: Text = "",
    before: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AuditPageOut:
    """The latest audit entries of the caller's organisation, newest first, filtered."""
    tenant_id = await _visible_tenant(session, principal, settings, tenant)
    where = _filter(tenant_id, action, actor, target, since, until)
    page = await list_entries(session, where, before=before, limit=limit)
    entries = [AuditEntryOut.model_validate(entry) for entry in page.entries]
    return AuditPageOut(entries=entries, next_before=page.next_before)


@router.get("/api/v1/audit/verify")
async def audit_verify(session: DbSession, principal: CurrentUser, settings: AppSettings) -> VerifyOut:
    """Walk the whole hash chain and report the first break, if any."""
    await _visible_tenant(session, principal, settings, "")
    verdict = await verify(session)
    return VerifyOut(
        ok=verdict.ok,
        entries=verdict.entries,
        head_seq=verdict.head_seq,
        head_hash=verdict.head_hash,
        anchor_seq=verdict.anchor_seq,
        broken_seq=verdict.broken_seq,
        reason=verdict.reason.value if verdict.reason else None,
        message=verdict.message,
    )


@router.get("/console/audit", include_in_schema=False)
async def console_audit(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    settings: AppSettings,
    action: Text = "",
    actor: Text = "",
    target: Text = "",
    since: Text = "",
    until: Text = "",
    tenant: Text = "",
    before: Annotated[int | None, Query(ge=1)] = None,
    check: Annotated[bool, Query(alias="verify")] = False,
) -> Response:
    if not principal.is_authenticated:
        return RedirectResponse("/login?next=/console/audit", status_code=303)
    tenant_id = await _visible_tenant(session, principal, settings, tenant)
    where = _filter(tenant_id, action, actor, target, since, until)
    page = await list_entries(session, where, before=before)
    context = {
        "principal": principal,
        "entries": page.entries,
        "names": await _actor_names(session, page.entries),
        "next_before": page.next_before,
        "form": {
            "action": action,
            "actor": actor,
            "target": target,
            "since": since,
            "until": until,
            "tenant": tenant,
        },
        "all_tenants": tenant_id is None,
        "verdict": await verify(session) if check else None,
    }
    return get_pages(request).render(request, "console_audit.html", context)


async def _actor_names(session: DbSession, entries: list[AuditEntry]) -> dict[int, str]:
    names: dict[int, str] = {}
    for actor_id in {e.actor_id for e in entries if e.actor_id is not None}:
        user = await identity_service.get_user(session, actor_id)
        if user is not None:
            names[actor_id] = user.display_name
    return names
