"""Commerce dependencies: the show a host manages, the tenant an operator runs."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Path
from starlette.requests import HTTPConnection

from livecircle.commerce import catalog
from livecircle.commerce.flash_orders import FlashOrders
from livecircle.commerce.gate import FlashGate
from livecircle.economy.deps import operator_tenant
from livecircle.identity.deps import CurrentUser
from livecircle.identity.schemas import Principal, Role
from livecircle.kit.deps import DbSession
from livecircle.kit.errors import Forbidden
from livecircle.live.models import Show

ObjectId = Annotated[int, Path(ge=1, le=2**31 - 1)]


async def _managed_show(show_id: ObjectId, session: DbSession, principal: CurrentUser) -> Show:
    return await catalog.manage_show(session, principal, show_id)


async def shop_operator(principal: CurrentUser) -> int:
    return operator_tenant(principal, "products, coupons and orders")


async def shop_staff(principal: CurrentUser) -> int:
    """Hosts read the catalogue and the coupons they may attach and drop; operators manage them."""
    tenant_id = principal.tenant_id
    if tenant_id is None or not principal.has_role(tenant_id, Role.HOST):
        raise Forbidden("Hosts and operators see the shop's products and coupons")
    return tenant_id


def tenant_of(principal: Principal) -> int:
    assert principal.tenant_id is not None
    return principal.tenant_id


async def flash_gate(conn: HTTPConnection) -> FlashGate | None:
    return cast(FlashGate | None, conn.app.state.flash_gate)


async def flash_orders(conn: HTTPConnection) -> FlashOrders | None:
    return cast(FlashOrders | None, getattr(conn.app.state, "flash_orders", None))


ManagedShow = Annotated[Show, Depends(_managed_show)]
Gate = Annotated[FlashGate | None, Depends(flash_gate)]
GateWinners = Annotated[FlashOrders | None, Depends(flash_orders)]
ShopOperator = Annotated[int, Depends(shop_operator)]
ShopStaff = Annotated[int, Depends(shop_staff)]
