"""Where a request comes from, for the invite rules: the client IP (the forwarded one when a
trusted proxy sits in front, see uvicorn's ``forwarded_allow_ips``) and a device id: the pages'
long-lived random ``lc_device`` cookie, or an API client's ``X-Device-Id`` header."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response

from livecircle.identity.deps import DEVICE_COOKIE, DEVICE_HEADER, DEVICE_ID

DEVICE_DAYS = 400  # browsers cap cookie lifetimes near this


@dataclass(frozen=True, slots=True)
class Client:
    ip: str | None
    device: str | None  # a well-formed id the client sent, else None


def client_of(request: Request) -> Client:
    device = request.headers.get(DEVICE_HEADER) or request.cookies.get(DEVICE_COOKIE) or ""
    ip = request.client.host if request.client else None
    return Client(ip=ip[:64] if ip else None, device=device if DEVICE_ID.fullmatch(device) else None)


async def get_client(request: Request) -> Client:
    return client_of(request)


def new_device() -> str:
    return secrets.token_urlsafe(16)


def remember_device(response: Response, device: str, *, secure: bool) -> None:
    """Set the device cookie (on a page that had to make one up)."""
    response.set_cookie(
        DEVICE_COOKIE,
        device,
        max_age=DEVICE_DAYS * 86400,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )


ClientMarks = Annotated[Client, Depends(get_client)]
