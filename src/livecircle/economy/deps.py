"""Economy dependencies: the Idempotency-Key header, the payment provider, operator checks."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Header
from starlette.requests import HTTPConnection

from livecircle.economy.errors import IdempotencyKeyInvalid
from livecircle.economy.payments import SandboxProvider
from livecircle.identity.schemas import Principal, Role
from livecircle.kit.errors import Forbidden


async def idempotency_key(
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


def operator_tenant(principal: Principal, what: str) -> int:
    """The tenant whose ``what`` (catalogue, store, rules) the principal operates. Raises Forbidden."""
    tenant_id = principal.tenant_id
    if tenant_id is None or not principal.has_role(tenant_id, Role.OPERATOR):
        raise Forbidden(f"Operators manage {what}")
    return tenant_id


async def sandbox_provider(conn: HTTPConnection) -> SandboxProvider:
    return cast(SandboxProvider, conn.app.state.payments)


IdempotencyKey = Annotated[str, Depends(idempotency_key)]
Sandbox = Annotated[SandboxProvider, Depends(sandbox_provider)]
