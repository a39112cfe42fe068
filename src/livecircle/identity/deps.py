"""Who is calling: bearer token (API), signed session cookie (pages), or anonymous."""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from livecircle.config import Settings
from livecircle.identity import service, tickets
from livecircle.identity.errors import CsrfFailed
from livecircle.identity.schemas import ANONYMOUS, Principal, Role
from livecircle.kit.cache import LoadingCache
from livecircle.kit.deps import AppSettings, DbSession, get_app_settings, get_database
from livecircle.kit.effects import defer
from livecircle.kit.errors import Unauthenticated
from livecircle.kit.ratelimit import get_rate_limiter
from livecircle.privacy import audit_requests

SESSION_COOKIE = "lc_session"
CSRF_COOKIE = "lc_csrf"
# The pages' long-lived random device id; API clients may send it as X-Device-Id.
DEVICE_COOKIE = "lc_device"
DEVICE_HEADER = "x-device-id"
DEVICE_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# With Secure cookies the names carry the __Host- prefix: the browser then refuses them unless
# Secure, Path=/ and without Domain, so a sibling subdomain cannot plant or shadow them
# (ASVS v5.0.0-3.3.3; it also keeps the CSRF double-submit cookie honest).
HOST_PREFIX = "__Host-"


def session_cookie(settings: Settings) -> str:
    return HOST_PREFIX + SESSION_COOKIE if settings.cookie_secure else SESSION_COOKIE


def csrf_cookie(settings: Settings) -> str:
    return HOST_PREFIX + CSRF_COOKIE if settings.cookie_secure else CSRF_COOKIE


def cookie_signer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="livecircle.session")


def sign_session(secret: str, token: str) -> str:
    return cookie_signer(secret).dumps(token)


def unsign_session(secret: str, value: str) -> str | None:
    try:
        token = cookie_signer(secret).loads(value)
    except BadSignature:
        return None
    return token if isinstance(token, str) else None


async def resolve_principal(session: AsyncSession, conn: HTTPConnection) -> tuple[Principal, str]:
    """Returns the principal and how it was authenticated ("token", "ticket", "cookie" or
    "anonymous"). A token never comes from the URL: WebSocket clients that cannot send a header
    offer a one-time ticket as a subprotocol (identity.tickets)."""
    settings = get_app_settings(conn)
    authorization = conn.headers.get("authorization", "")
    bearer = authorization[7:].strip() if authorization.lower().startswith("bearer ") else None
    if bearer is None and conn.scope["type"] == "websocket" and (ticket := tickets.offered(conn)):
        return await _by_ticket(session, conn, settings, ticket), "ticket"
    if bearer:
        principal = await _by_token(session, conn, bearer)
        if principal is None:
            raise Unauthenticated("The API token is invalid or revoked")
        return principal, "token"
    token = session_token(conn, settings)
    if token:
        principal = await service.get_principal_by_session(session, token)
        if principal is not None:
            return principal, "cookie"
    return ANONYMOUS, "anonymous"


def session_token(conn: HTTPConnection, settings: Settings) -> str | None:
    """The raw page-session token of the request's signed session cookie, if valid."""
    raw = conn.cookies.get(session_cookie(settings))
    return unsign_session(settings.secret_key, raw) if raw else None


async def _by_ticket(
    session: AsyncSession, conn: HTTPConnection, settings: Settings, ticket: str
) -> Principal:
    """A WebSocket's one-time ticket (identity.tickets): API clients' way onto a socket."""
    limiter, max_age = get_rate_limiter(conn), settings.security.ws_ticket_seconds
    principal = await tickets.redeem(session, limiter, settings.secret_key, ticket, max_age=max_age)
    if principal is None:
        raise Unauthenticated("The socket ticket is invalid, expired or already used")
    return principal


async def _by_token(session: AsyncSession, conn: HTTPConnection, bearer: str) -> Principal | None:
    """API clients send their token with every request: who it belongs to is cached for
    ``TOKEN_SECONDS`` per node (a role change or a deleted account shows after that)."""
    cache: LoadingCache[str, Principal | None] | None = getattr(conn.app.state, "principals", None)
    if cache is None:
        return await service.get_principal_by_api_token(session, bearer)
    db = get_database(conn)

    async def load() -> Principal | None:
        async with db.autocommit() as conn:
            return await service.get_principal_by_api_token(conn, bearer)

    return await cache.get(service.token_digest(bearer), load)


async def get_principal(request: Request, session: DbSession) -> Principal:
    """Every cookie-authenticated write (API call or page form) must carry the CSRF token: the
    X-CSRF-Token header, or a form's ``csrf_token`` field (ASVS v5.0.0-3.5.1). Bearer-token
    calls need none: a browser never attaches a bearer token by itself."""
    principal, how = await resolve_principal(session, request)
    if how == "cookie" and request.method not in SAFE_METHODS:
        await check_csrf(request)
    if principal.role is not None and principal.role.at_least(Role.MODERATOR):
        # A staff action is audited in this request's transaction (privacy.audit_requests).
        audit_requests.defer_request(
            session,
            request.scope,
            actor_id=principal.user_id,
            tenant_id=principal.tenant_id,
            actor_role=principal.role.value,
        )
    return principal


def _check_csrf_value(request: Request, sent: str) -> None:
    expected = request.cookies.get(csrf_cookie(get_app_settings(request)), "")
    if not expected or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise CsrfFailed()


async def check_csrf(request: Request) -> None:
    """Double-submit check for HTML form posts (field ``csrf_token`` or the header)."""
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent:
        form = await request.form()
        value = form.get("csrf_token", "")
        sent = value if isinstance(value, str) else ""
    _check_csrf_value(request, sent)


async def require_user(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if not principal.is_authenticated:
        raise Unauthenticated()
    return principal


TOKEN_SECONDS = 10.0
# Tokens are the callers' choice (a flood of made-up ones is cached as "nobody"): bounded.
MOST_TOKENS = 50_000


def principal_cache() -> LoadingCache[str, Principal | None]:
    return LoadingCache(TOKEN_SECONDS, max_entries=MOST_TOKENS)


def forget_tokens(conn: HTTPConnection, session: AsyncSession, digests: list[str]) -> None:
    """Once ``session`` commits, this node's principal cache forgets the revoked tokens and the
    app's ``tokens_revoked`` hook (web.token_wiring) tells the other nodes, so they are refused
    at once everywhere. Without the hook, other nodes refuse them when their entry ages out."""
    cache: LoadingCache[str, Principal | None] | None = getattr(conn.app.state, "principals", None)
    announce: Callable[[list[str]], Awaitable[None]] | None = getattr(conn.app.state, "tokens_revoked", None)
    if cache is None or not digests:
        return

    async def forget() -> None:
        for digest in digests:
            cache.forget(digest)
        if announce is not None:
            await announce(digests)

    defer(session, forget)


def bearer_of(conn: HTTPConnection) -> str | None:
    authorization = conn.headers.get("authorization", "")
    return authorization[7:].strip() or None if authorization.lower().startswith("bearer ") else None


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
CurrentUser = Annotated[Principal, Depends(require_user)]
CsrfChecked = Depends(check_csrf)

__all__ = ["AppSettings", "CsrfChecked", "CurrentPrincipal", "CurrentUser", "DbSession"]


def device_of(request: Request) -> str | None:
    """The client's well-formed device id (header or cookie), else None."""
    device = request.headers.get(DEVICE_HEADER) or request.cookies.get(DEVICE_COOKIE) or ""
    return device if DEVICE_ID.fullmatch(device) else None
