"""Who is calling: bearer token (API), signed session cookie (pages), or anonymous."""

from __future__ import annotations

import hmac
import re
from typing import Annotated

from fastapi import Depends, Request
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from livecircle.identity import service
from livecircle.identity.errors import CsrfFailed
from livecircle.identity.schemas import ANONYMOUS, Principal
from livecircle.kit.cache import LoadingCache
from livecircle.kit.deps import AppSettings, DbSession, get_app_settings, get_database
from livecircle.kit.errors import Unauthenticated

SESSION_COOKIE = "lc_session"
CSRF_COOKIE = "lc_csrf"
# The pages' long-lived random device id; API clients may send it as X-Device-Id.
DEVICE_COOKIE = "lc_device"
DEVICE_HEADER = "x-device-id"
DEVICE_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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
    """Returns the principal and how it was authenticated ("token", "cookie" or "anonymous")."""
    settings = get_app_settings(conn)
    authorization = conn.headers.get("authorization", "")
    bearer = authorization[7:].strip() if authorization.lower().startswith("bearer ") else None
    if bearer is None and conn.scope["type"] == "websocket":
        bearer = conn.query_params.get("token")  # browsers cannot set headers on a WebSocket
    if bearer:
        principal = await _by_token(session, conn, bearer)
        if principal is None:
            raise Unauthenticated("The API token is invalid or revoked")
        return principal, "token"
    raw = conn.cookies.get(SESSION_COOKIE)
    token = unsign_session(settings.secret_key, raw) if raw else None
    if token:
        principal = await service.get_principal_by_session(session, token)
        if principal is not None:
            return principal, "cookie"
    return ANONYMOUS, "anonymous"


async def _by_token(session: AsyncSession, conn: HTTPConnection, bearer: str) -> Principal | None:
    """API clients send their token with every request: who it belongs to is cached for
    ``TOKEN_SECONDS`` per node (a role change or a deleted account shows after that)."""
    cache: LoadingCache[str, Principal | None] | None = getattr(conn.app.state, "principals", None)
    if cache is None:
        return await service.get_principal_by_api_token(session, bearer)
    db = get_database(conn)

    async def load() -> Principal | None:
        async with db.unit_of_work() as fresh:
            return await service.get_principal_by_api_token(fresh, bearer)

    return await cache.get(service.token_digest(bearer), load)


async def get_principal(request: Request, session: DbSession) -> Principal:
    """Cookie-authenticated writes to the API must carry the CSRF header."""
    principal, how = await resolve_principal(session, request)
    if how == "cookie" and request.method not in SAFE_METHODS and request.url.path.startswith("/api/"):
        _check_csrf_value(request, request.headers.get(CSRF_HEADER, ""))
    return principal


def _check_csrf_value(request: Request, sent: str) -> None:
    expected = request.cookies.get(CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, sent):
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


def principal_cache() -> LoadingCache[str, Principal | None]:
    return LoadingCache(TOKEN_SECONDS)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
CurrentUser = Annotated[Principal, Depends(require_user)]
CsrfChecked = Depends(check_csrf)

__all__ = ["AppSettings", "CsrfChecked", "CurrentPrincipal", "CurrentUser", "DbSession"]


def device_of(request: Request) -> str | None:
    """The client's well-formed device id (header or cookie), else None."""
    device = request.headers.get(DEVICE_HEADER) or request.cookies.get(DEVICE_COOKIE) or ""
    return device if DEVICE_ID.fullmatch(device) else None
