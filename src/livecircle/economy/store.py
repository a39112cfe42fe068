"""The points store (积分兑换): operator-managed items bought with points.

A redemption is one transaction: take one from stock (a conditional update, so stock never
goes below zero), check the per-user limit, move the points wallet → platform revenue, record
the redemption. Any failure (no stock, limit, too few points) rolls all of it back, stock
included. The same Idempotency-Key redeems once. Coupons are issued later by commerce, from
the redemption's ``payload`` (e.g. a coupon template code).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.economy import points
from livecircle.economy.errors import OutOfStock, RedeemLimitReached, StoreItemNotFound
from livecircle.economy.events import StoreItemRedeemed
from livecircle.economy.points_models import Redemption, StoreItem
from livecircle.kit.events import emit


async def list_store_items(
    session: AsyncSession, tenant_id: int, *, enabled_only: bool = True
) -> list[StoreItem]:
    query = select(StoreItem).where(StoreItem.tenant_id == tenant_id).order_by(StoreItem.sort, StoreItem.id)
    if enabled_only:
        query = query.where(StoreItem.enabled.is_(True))
    return list((await session.scalars(query)).all())


async def get_store_item(
    session: AsyncSession, tenant_id: int, item_id: int, *, enabled_only: bool = True
) -> StoreItem:
    """Raises StoreItemNotFound (also for another tenant's item, or a disabled one)."""
    item = await session.get(StoreItem, item_id)
    if item is None or item.tenant_id != tenant_id or (enabled_only and not item.enabled):
        raise StoreItemNotFound()
    return item


async def do_create_store_item(session: AsyncSession, *, tenant_id: int, **fields: Any) -> StoreItem:
    item = StoreItem(tenant_id=tenant_id, **fields)
    session.add(item)
    await session.flush()
    return item


async def do_update_store_item(
    session: AsyncSession, *, tenant_id: int, item_id: int, add_stock: int = 0, **changes: Any
) -> StoreItem:
    """Change an item's fields; stock changes by ``add_stock`` (relative, so redemptions
    running meanwhile are not overwritten). Raises StoreItemNotFound, OutOfStock (below zero)."""
    item = await get_store_item(session, tenant_id, item_id, enabled_only=False)
    values = {name: value for name, value in changes.items() if value is not None}
    statement = update(StoreItem).where(StoreItem.id == item.id)
    if add_stock:
        statement = statement.where(StoreItem.stock + add_stock >= 0).values(
            stock=StoreItem.stock + add_stock
        )
    if values or add_stock:
        stock = await session.scalar(statement.values(**values).returning(StoreItem.stock))
        if stock is None:
            raise OutOfStock("Stock cannot go below zero")
        await session.refresh(item)
    return item


@dataclass(frozen=True, slots=True)
class Redeemed:
    redemption: Redemption
    balance: int
    replayed: bool


async def do_redeem(
    session: AsyncSession, *, tenant_id: int, user_id: int, item_id: int, key: str
) -> Redeemed:
    """Exchange points for one item; the same ``key`` redeems once and returns the same record.

    Raises StoreItemNotFound, OutOfStock, RedeemLimitReached, InsufficientBalance,
    IdempotencyKeyReused, IdempotencyInFlight. Emits StoreItemRedeemed.
    """
    item = await get_store_item(session, tenant_id, item_id)

    async def take_one(inner: AsyncSession) -> None:
        left = await inner.scalar(
            update(StoreItem)
            .where(StoreItem.id == item.id, StoreItem.stock >= 1)
            .values(stock=StoreItem.stock - 1)
            .returning(StoreItem.stock)
        )
        if left is None:
            raise OutOfStock()
        # After the stock update: it locks the item row, so concurrent redemptions count in turn.
        if (
            item.per_user_limit is not None
            and await _redeemed(inner, item.id, user_id) >= item.per_user_limit
        ):
            raise RedeemLimitReached(per_user_limit=item.per_user_limit)

    posted = await points.do_spend(
        session,
        tenant_id=tenant_id,
        user_id=user_id,
        points=item.cost,
        key=f"redeem:{user_id}:{key}",
        kind="redeem",
        request={"op": "redeem", "user": user_id, "item": item.id, "cost": item.cost},
        subject=f"redeem:{item.id}",
        before_legs=take_one,
        result={"item_id": item.id},
    )
    if posted.replayed:
        return Redeemed(await _redemption(session, tenant_id, user_id, key), posted.result["balance"], True)
    redemption = Redemption(
        tenant_id=tenant_id,
        user_id=user_id,
        item_id=item.id,
        key=key,
        kind=item.kind,
        cost=item.cost,
        payload=dict(item.payload or {}),
        transfer_id=posted.transfer_id,
    )
    session.add(redemption)
    await session.flush()
    emit(
        session, StoreItemRedeemed(tenant_id, user_id, item.id, redemption.id, item.kind, redemption.payload)
    )
    return Redeemed(redemption, posted.result["balance"], False)


async def _redeemed(session: AsyncSession, item_id: int, user_id: int) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Redemption)
        .where(Redemption.item_id == item_id, Redemption.user_id == user_id)
    )
    return int(count or 0)


async def _redemption(session: AsyncSession, tenant_id: int, user_id: int, key: str) -> Redemption:
    found = await session.scalar(
        select(Redemption).where(
            Redemption.tenant_id == tenant_id, Redemption.user_id == user_id, Redemption.key == key
        )
    )
    assert found is not None, "a replayed redemption transfer has its record"
    return found


async def list_redemptions(
    session: AsyncSession, *, tenant_id: int, user_id: int, limit: int = 50
) -> list[Redemption]:
    query = (
        select(Redemption)
        .where(Redemption.tenant_id == tenant_id, Redemption.user_id == user_id)
        .order_by(Redemption.id.desc())
        .limit(limit)
    )
    return list((await session.scalars(query)).all())
