"""Commerce dependencies: the show a host manages, the tenant an operator runs."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Path
from starlette.requests import HTTPConnection

from livecircle.commerce import catalog
from livecircle.commerce.gate import FlashGate
from livecircle.economy.deps import operator_tenant
from livecircle.identity.deps import CurrentUser
from livecircle.identity.schemas import Principal
from livecircle.kit.deps import DbSession
from livecircle.live.models import Show

ObjectId = Annotated[int, Path(ge=1, le=2**31 - 1)]


async def _managed_show(show_id: ObjectId, session: DbSession, principal: CurrentUser) -> Show:
    return await catalog.manage_show(session, principal, show_id)


def shop_operator(principal: CurrentUser) -> int:
    return operator_tenant(principal, "products, coupons and orders")


def tenant_of(principal: Principal) -> int:
    assert principal.tenant_id is not None
    return principal.tenant_id


def flash_gate(conn: HTTPConnection) -> FlashGate | None:
    return cast(FlashGate | None, conn.app.state.flash_gate)


ManagedShow = Annotated[Show, Depends(_managed_show)]
Gate = Annotated[FlashGate | None, Depends(flash_gate)]
ShopOperator = Annotated[int, Depends(shop_operator)]
