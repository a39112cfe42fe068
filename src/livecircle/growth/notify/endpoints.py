"""Tenant webhook endpoints, managed by operators and admins: where notifications are
POSTed (to forward them to WeCom, DingTalk, a CRM) and the secret that signs them."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.growth.notify.errors import NotOperator, WebhookNotFound, WebhookUrlRefused
from livecircle.growth.notify.models import WebhookEndpoint
from livecircle.growth.notify.schemas import WebhookCreated, WebhookIn, WebhookOut, WebhookUpdate
from livecircle.identity.schemas import Principal, Role
from livecircle.kit import webhooks


def check_operator(principal: Principal) -> int:
    """The tenant whose webhooks ``principal`` manages. Raises NotOperator."""
    tenant_id = principal.tenant_id
    if tenant_id is None or not principal.has_role(tenant_id, Role.OPERATOR):
        raise NotOperator()
    return tenant_id


def _check_url(url: str) -> str:
    if not webhooks.is_allowed_url(url):
        raise WebhookUrlRefused()
    return url


async def list_endpoints(session: AsyncSession, *, tenant_id: int) -> list[WebhookEndpoint]:
    rows = await session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == tenant_id).order_by(WebhookEndpoint.id)
    )
    return list(rows)


async def get_endpoint(session: AsyncSession, *, tenant_id: int, endpoint_id: int) -> WebhookEndpoint:
    """Raises WebhookNotFound (also for another tenant's endpoint)."""
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.tenant_id != tenant_id:
        raise WebhookNotFound()
    return endpoint


async def do_create_endpoint(
    session: AsyncSession, *, tenant_id: int, user_id: int | None, data: WebhookIn
) -> WebhookEndpoint:
    """A new endpoint with a fresh secret. Raises WebhookUrlRefused."""
    endpoint = WebhookEndpoint(
        tenant_id=tenant_id,
        url=_check_url(data.url),
        secret="whsec_" + secrets.token_urlsafe(24),
        kinds=sorted({k.value for k in data.kinds}),
        active=data.active,
        description=data.description,
        created_by=user_id,
    )
    session.add(endpoint)
    await session.flush()
    return endpoint


async def do_update_endpoint(session: AsyncSession, endpoint: WebhookEndpoint, data: WebhookUpdate) -> None:
    """Change what is given. Raises WebhookUrlRefused."""
    if data.url is not None:
        endpoint.url = _check_url(data.url)
    if data.kinds is not None:
        endpoint.kinds = sorted({k.value for k in data.kinds})
    if data.description is not None:
        endpoint.description = data.description
    if data.active is not None:
        endpoint.active = data.active
    await session.flush()


async def do_delete_endpoint(session: AsyncSession, endpoint: WebhookEndpoint) -> None:
    """Pending deliveries to it are dropped when they come due."""
    await session.delete(endpoint)
    await session.flush()


def endpoint_out(endpoint: WebhookEndpoint) -> WebhookOut:
    return WebhookOut.model_validate(
        {
            "id": endpoint.id,
            "url": endpoint.url,
            "kinds": endpoint.kinds,
            "description": endpoint.description,
            "active": endpoint.active,
            "created_at": endpoint.created_at,
            "secret_hint": "…" + endpoint.secret[-4:],
        }
    )


def endpoint_created(endpoint: WebhookEndpoint) -> WebhookCreated:
    return WebhookCreated.model_validate({**endpoint_out(endpoint).model_dump(), "secret": endpoint.secret})
