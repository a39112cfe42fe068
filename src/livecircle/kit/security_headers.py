"""Security headers on every HTTP response, and the Origin check of every WebSocket handshake.

Plain ASGI, wrapped around the whole application (outside Starlette's error middleware), so
pages, the API, static files, HLS, redirects and even the 500 page carry the headers.

- ``Content-Security-Policy`` without inline script (ASVS v5.0.0-3.4.3): page modules are
  files under /static, page data travels in ``<script type="application/json">``. Styles are
  ``'self'`` only: no template carries a ``style=""`` attribute; scripts set styles through
  the CSSOM (``el.style.width = ...``), which CSP does not restrict. hls.js runs its
  transmuxer in a Worker built from a ``blob:`` URL (``worker-src``); MSE plays ``blob:``
  media. Sockets connect to the page's own host (``'self'`` covers ws/wss in CSP 3; the
  public base URL's ws origin is listed too for browsers that predate that).
- HSTS, nosniff, ``frame-ancestors 'none'`` + ``X-Frame-Options: DENY``, a referrer policy
  that never sends paths (which may hold invite or unsubscribe tokens) to other sites.
- ``Cache-Control: no-store`` on every response that did not choose its own caching, except
  static files: pages and API answers may hold personal data (ASVS v5.0.0-14.3.2).
- WebSocket handshakes whose ``Origin`` is neither the page's own host, the public base URL nor
  an allowed origin are refused before the socket is accepted (HTTP 403; ASVS v5.0.0-4.4.2).
  No ``Origin`` (a non-browser client: the simulator, tests) passes: cross-site WebSocket
  hijacking needs a browser, and browsers always send it.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC_PREFIX = "/static/"


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of a URL, lower case (None when it has no host)."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def content_security_policy(base_url: str) -> str:
    """The policy: everything from this origin, no inline script or style, nothing third-party."""
    origin = urlsplit(base_url)
    ws = f" ws://{origin.netloc} wss://{origin.netloc}" if origin.netloc else ""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            "media-src 'self' blob:",
            "font-src 'self' data:",
            f"connect-src 'self'{ws}",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ]
    )


def security_headers(*, base_url: str, hsts_seconds: int) -> list[tuple[bytes, bytes]]:
    headers = {
        "content-security-policy": content_security_policy(base_url),
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "referrer-policy": "same-origin",
        "cross-origin-opener-policy": "same-origin",
        "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
    }
    if hsts_seconds > 0:
        headers["strict-transport-security"] = f"max-age={hsts_seconds}; includeSubDomains"
    return [(name.encode(), value.encode()) for name, value in headers.items()]


class SecurityHeaders:
    def __init__(
        self,
        app: ASGIApp,
        *,
        base_url: str,
        hsts_seconds: int,
        allowed_origins: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.headers = security_headers(base_url=base_url, hsts_seconds=hsts_seconds)
        self.names = {name for name, _ in self.headers}
        self.origins = {o for o in (origin_of(u) for u in (base_url, *allowed_origins)) if o}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and not self.origin_allowed(scope):
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008, "reason": "origin not allowed"})
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        cacheable = path.startswith(STATIC_PREFIX)
        headers = self.headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in self.names]
                if not cacheable and not any(k.lower() == b"cache-control" for k, _ in kept):
                    kept.append((b"cache-control", b"no-store"))
                message = {**message, "headers": [*kept, *headers]}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def origin_allowed(self, scope: Scope) -> bool:
        sent = _header(scope, b"origin")
        if sent is None:
            return True
        origin = origin_of(sent)
        if origin is None:  # "null" (sandboxed frames, file: pages) or garbage
            return False
        host = _header(scope, b"host")
        same_host = host is not None and origin.split("://", 1)[1] == host.strip().lower()
        return same_host or origin in self.origins


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None
