"""The per-request context as plain ASGI: locale, the CSRF double-submit cookie, metrics."""

from __future__ import annotations

import secrets
import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from livecircle.identity.deps import csrf_cookie
from livecircle.kit.i18n import Translator
from livecircle.kit.metrics import HTTP_LATENCY, HTTP_REQUESTS


class RequestContext:
    """Locale, the CSRF double-submit cookie, and request metrics, as plain ASGI: Starlette's
    ``BaseHTTPMiddleware`` re-wraps every request and response in tasks and streams, which
    cost more than the API call behind it (profiled)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        state = request.app.state
        translator: Translator = state.translator
        request.state.locale = translator.negotiate(
            query=request.query_params.get("lang"),
            cookie=request.cookies.get("lc_lang"),
            accept_language=request.headers.get("accept-language", ""),
        )
        csrf_name = csrf_cookie(state.settings)
        csrf = request.cookies.get(csrf_name)
        request.state.csrf_token = csrf or secrets.token_urlsafe(24)
        started = time.perf_counter()
        status = 500

        async def send_with_context(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if not csrf:
                    cookie = Response()
                    cookie.set_cookie(
                        csrf_name,
                        request.state.csrf_token,
                        samesite="lax",
                        secure=state.settings.cookie_secure,
                        path="/",
                    )
                    message = {**message, "headers": [*message.get("headers", []), *cookie.raw_headers[-1:]]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_context)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            HTTP_REQUESTS.labels(request.method, route, str(status)).inc()
            HTTP_LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
