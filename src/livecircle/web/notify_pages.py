"""Notification pages: the inbox, notification settings, the one-click unsubscribe page
(also the RFC 8058 POST target) and the console's webhook endpoints."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response

from livecircle.growth.notify import endpoints, service
from livecircle.growth.notify.errors import WebhookUrlRefused
from livecircle.growth.notify.schemas import (
    CHANNEL_LABELS,
    KIND_LABELS,
    Channel,
    Kind,
    Preferences,
    WebhookIn,
    WebhookUpdate,
)
from livecircle.identity.deps import CsrfChecked, CurrentPrincipal
from livecircle.kit.deps import AppSettings, DbSession
from livecircle.kit.templating import get_pages

router = APIRouter(include_in_schema=False)
ObjectId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
INBOX_PAGE = 30


def _render(request: Request, name: str, principal: Any, status_code: int = 200, **context: Any) -> Response:
    context = {
        "principal": principal,
        "kind_labels": KIND_LABELS,
        "channel_labels": CHANNEL_LABELS,
        **context,
    }
    return get_pages(request).render(request, name, context, status_code)


def _sign_in(path: str) -> Response:
    return RedirectResponse(f"/login?next={path}", status_code=303)


@router.get("/inbox")
async def inbox_page(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    if principal.user_id is None:
        return _sign_in("/inbox")
    rows, older = await service.list_inbox(
        session, user_id=principal.user_id, limit=INBOX_PAGE, before=before
    )
    unread = await service.count_unread(session, user_id=principal.user_id)
    return _render(request, "inbox.html", principal, notes=rows, unread=unread, older=older, before=before)


@router.post("/inbox/read-all", dependencies=[CsrfChecked])
async def inbox_read_all(session: DbSession, principal: CurrentPrincipal) -> Response:
    if principal.user_id is None:
        return _sign_in("/inbox")
    await service.do_mark_all_read(session, user_id=principal.user_id)
    return RedirectResponse("/inbox", status_code=303)


@router.post("/inbox/{notification_id}/read", dependencies=[CsrfChecked])
async def inbox_read(notification_id: ObjectId, session: DbSession, principal: CurrentPrincipal) -> Response:
    if principal.user_id is None:
        return _sign_in("/inbox")
    await service.do_mark_read(session, user_id=principal.user_id, notification_id=notification_id)
    return RedirectResponse("/inbox", status_code=303)


@router.get("/settings/notifications")
async def settings_page(
    request: Request, session: DbSession, principal: CurrentPrincipal, saved: bool = False
) -> Response:
    if principal.user_id is None:
        return _sign_in("/settings/notifications")
    prefs = await service.get_preferences(session, user_id=principal.user_id)
    return _render(request, "notification_settings.html", principal, prefs=prefs, saved=saved)


@router.post("/settings/notifications", dependencies=[CsrfChecked])
async def save_settings(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    """One checkbox per kind and channel, named ``kind:channel``: an unticked box is "off"."""
    if principal.user_id is None:
        return _sign_in("/settings/notifications")
    ticked = set((await request.form()).keys())
    changes: Preferences = {k: {c: f"{k.value}:{c.value}" in ticked for c in Channel} for k in Kind}
    await service.do_set_preferences(session, user_id=principal.user_id, changes=changes)
    return RedirectResponse("/settings/notifications?saved=true", status_code=303)


@router.get("/unsubscribe/{token}")
async def unsubscribe_page(
    request: Request, token: str, principal: CurrentPrincipal, settings: AppSettings
) -> Response:
    """Confirm with one button: mail scanners that follow links must not unsubscribe anyone."""
    _, kind = service.read_unsubscribe_token(settings.secret_key, token)
    return _render(request, "unsubscribe.html", principal, kind=kind, token=token, done=False)


@router.post("/unsubscribe/{token}")
async def unsubscribe(
    request: Request, token: str, session: DbSession, principal: CurrentPrincipal, settings: AppSettings
) -> Response:
    """The page's button, and what mail clients POST for RFC 8058 one-click unsubscribe
    (``List-Unsubscribe=One-Click``). The signed token is the credential: no CSRF token."""
    _, kind = await service.do_unsubscribe(session, secret=settings.secret_key, token=token)
    return _render(request, "unsubscribe.html", principal, kind=kind, token=token, done=True)


@router.get("/console/webhooks")
async def console_webhooks(request: Request, session: DbSession, principal: CurrentPrincipal) -> Response:
    if principal.user_id is None:
        return _sign_in("/console/webhooks")
    return await _webhooks_page(request, session, principal)


@router.post("/console/webhooks", dependencies=[CsrfChecked])
async def console_add_webhook(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    url: Annotated[str, Form(max_length=2000)],
    description: Annotated[str, Form(max_length=200)] = "",
    kinds: Annotated[list[Kind] | None, Form()] = None,
) -> Response:
    """The new endpoint's secret is shown on this answer only."""
    tenant_id = endpoints.check_operator(principal)
    try:
        data = WebhookIn(url=url.strip() or "-", description=description, kinds=kinds or [])
        endpoint = await endpoints.do_create_endpoint(
            session, tenant_id=tenant_id, user_id=principal.user_id, data=data
        )
    except (WebhookUrlRefused, ValueError):
        form = {"url": url, "description": description}
        return await _webhooks_page(request, session, principal, 422, error=WebhookUrlRefused.code, form=form)
    return await _webhooks_page(
        request, session, principal, 201, created=endpoints.endpoint_created(endpoint)
    )


@router.post("/console/webhooks/{endpoint_id}/active", dependencies=[CsrfChecked])
async def console_webhook_active(
    endpoint_id: ObjectId, session: DbSession, principal: CurrentPrincipal, active: Annotated[bool, Form()]
) -> Response:
    tenant_id = endpoints.check_operator(principal)
    endpoint = await endpoints.get_endpoint(session, tenant_id=tenant_id, endpoint_id=endpoint_id)
    await endpoints.do_update_endpoint(session, endpoint, WebhookUpdate(active=active))
    return RedirectResponse("/console/webhooks", status_code=303)


@router.post("/console/webhooks/{endpoint_id}/delete", dependencies=[CsrfChecked])
async def console_delete_webhook(
    endpoint_id: ObjectId, session: DbSession, principal: CurrentPrincipal
) -> Response:
    tenant_id = endpoints.check_operator(principal)
    endpoint = await endpoints.get_endpoint(session, tenant_id=tenant_id, endpoint_id=endpoint_id)
    await endpoints.do_delete_endpoint(session, endpoint)
    return RedirectResponse("/console/webhooks", status_code=303)


async def _webhooks_page(
    request: Request, session: DbSession, principal: Any, status_code: int = 200, **context: Any
) -> Response:
    tenant_id = endpoints.check_operator(principal)
    rows = [endpoints.endpoint_out(e) for e in await endpoints.list_endpoints(session, tenant_id=tenant_id)]
    context = {"hooks": rows, "created": None, "error": None, "form": {}, "kinds": list(Kind), **context}
    return _render(request, "console_webhooks.html", principal, status_code, **context)
