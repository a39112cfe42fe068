"""Economy dependencies: the Idempotency-Key header and the payment provider."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Header
from starlette.requests import HTTPConnection

from livecircle.economy.errors import IdempotencyKeyInvalid
from livecircle.economy.payments import SandboxProvider


def idempotency_key(
    key: Annotated[
        str | None, Header(alias="Idempotency-Key", description="1–255 printable characters")
    ] = None,
) -> str:
    if key is None or not is_valid_key(key):
        raise IdempotencyKeyInvalid()
    return key


def is_valid_key(key: str) -> bool:
    """An idempotency key: 1–255 printable characters (header and socket op alike)."""
    return 0 < len(key) <= 255 and key.isprintable()


def sandbox_provider(conn: HTTPConnection) -> SandboxProvider:
    return cast(SandboxProvider, conn.app.state.payments)


IdempotencyKey = Annotated[str, Depends(idempotency_key)]
Sandbox = Annotated[SandboxProvider, Depends(sandbox_provider)]
