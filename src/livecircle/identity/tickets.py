"""One-time WebSocket tickets (ASVS v5.0.0-4.4.3, 14.2.1): no bearer token in a URL.

An API client (bearer token) asks ``POST /api/v1/ws-tickets`` for a ticket and opens the room
socket offering the subprotocols ``livecircle`` and ``ticket.<ticket>``; the server accepts
``livecircle``. The ticket travels in a header, so it is in no URL and no access log.

A ticket is signed (HMAC, ``secret_key``) over the user, the tenant and a random nonce, with
its time of issue: any node can check it without a table. It opens one socket: the first
handshake claims the nonce in the rate limiter's store (Redis across nodes), and a replay is
refused. It expires after ``security.ws_ticket_seconds`` (30 s by default).
"""

from __future__ import annotations

import secrets

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from livecircle.identity import service
from livecircle.identity.schemas import Principal
from livecircle.kit.ratelimit import RateLimiter

SUBPROTOCOL = "livecircle"
TICKET_PREFIX = "ticket."
_SALT = "livecircle.ws-ticket"


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=_SALT)


def issue(secret: str, *, user_id: int, tenant_id: int) -> str:
    return _serializer(secret).dumps([user_id, tenant_id, secrets.token_urlsafe(16)])


def offered(conn: HTTPConnection) -> str | None:
    """The ticket a WebSocket handshake offers as a subprotocol, if any."""
    for protocol in conn.scope.get("subprotocols") or ():
        if isinstance(protocol, str) and protocol.startswith(TICKET_PREFIX):
            return protocol[len(TICKET_PREFIX) :]
    return None


async def redeem(
    session: AsyncSession, limiter: RateLimiter, secret: str, ticket: str, *, max_age: int
) -> Principal | None:
    """The ticket's principal, once: None when it is forged, expired or already used."""
    try:
        user_id, tenant_id, nonce = _serializer(secret).loads(ticket, max_age=max_age)
    except (BadSignature, ValueError, TypeError):
        return None
    if not await limiter.claim(f"ws-ticket:{nonce}", ttl=max_age + 5):
        return None
    return await service.get_principal_of_member(session, user_id=int(user_id), tenant_id=int(tenant_id))
