"""One error base: ``AppError`` carries a stable ``code`` and an HTTP status.

The handlers here render it as ``application/problem+json`` (RFC 9457) for the
API, as an error page for HTML pages; sockets turn it into an error frame.
An expected business error is never a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ClassVar

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class AppError(Exception):
    code: ClassVar[str] = "error"
    status_code: ClassVar[int] = 400
    message: ClassVar[str] = "Request failed"

    def __init__(self, message: str | None = None, **extra: Any) -> None:
        self.detail = message or self.message
        self.extra = extra
        super().__init__(self.detail)

    def to_problem(self) -> dict[str, Any]:
        return problem(self.status_code, self.code, self.detail, **self.extra)


class NotFound(AppError):
    code = "not_found"
    status_code = 404
    message = "Not found"


class Forbidden(AppError):
    code = "forbidden"
    status_code = 403
    message = "You are not allowed to do this"


class Unauthenticated(AppError):
    code = "unauthenticated"
    status_code = 401
    message = "Sign in first"


class Conflict(AppError):
    code = "conflict"
    status_code = 409
    message = "Conflict"


class BadRequest(AppError):
    code = "bad_request"
    status_code = 400
    message = "Bad request"


def problem(status: int, code: str, detail: str, **extra: Any) -> dict[str, Any]:
    title = {
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        405: "Method Not Allowed",
        409: "Conflict",
        422: "Unprocessable Content",
        429: "Too Many Requests",
        500: "Internal Server Error",
    }.get(status, "Error")
    return {
        "type": f"about:blank#{code}",
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
        **extra,
    }


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body), status_code=int(body["status"]), media_type=PROBLEM_JSON, headers=headers
    )


PageRenderer = Callable[[Request, dict[str, Any]], Response]


def install_error_handlers(app: FastAPI, render_page: PageRenderer | None = None) -> None:
    """Map every failure to problem+json (API) or an error page (HTML pages)."""

    def respond(request: Request, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
        wants_html = "text/html" in request.headers.get("accept", "") and not request.url.path.startswith(
            ("/api/", "/hooks/")
        )
        if render_page is not None and wants_html:
            return render_page(request, body)
        return problem_response(body, headers)

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        response = respond(request, exc.to_problem())
        response.headers.update(getattr(exc, "headers", None) or {})  # e.g. Retry-After on a 429
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", "")} for e in exc.errors()]
        return respond(request, problem(422, "validation_error", "The request is not valid", errors=errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return respond(
            request, problem(exc.status_code, code, str(exc.detail)), getattr(exc, "headers", None)
        )

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> Response:
        if _nul_in_text(exc):  # PostgreSQL cannot store U+0000 in text: a clear 422, not a 500
            return respond(request, problem(422, "text_not_allowed", "Text must not contain NUL characters"))
        return await _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return respond(request, problem(500, "internal_error", "Something went wrong on our side"))


def _nul_in_text(exc: DBAPIError) -> bool:
    """PostgreSQL refused a text value holding U+0000 (any parameter: path, query or body)."""
    message = str(exc.orig)
    return "invalid byte sequence" in message and "0x00" in message
