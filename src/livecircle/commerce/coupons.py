"""优惠券: templates (fixed amount or percentage, spend threshold) and the coupons issued from
them, by channel: new users, followers, drops in a show (limited, first come), members,
points redemption, or by hand. A coupon is used once and comes back when its order is
cancelled or refunded."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.commerce import catalog
from livecircle.commerce.errors import (
    CouponLimitReached,
    CouponNotApplicable,
    CouponNotClaimable,
    CouponNotFound,
    CouponsGone,
    MemberNotFound,
)
from livecircle.commerce.events import CouponDropped
from livecircle.commerce.models import Coupon, CouponTemplate
from livecircle.config import EconomySettings
from livecircle.economy import tiers
from livecircle.identity.models import Membership
from livecircle.kit.clock import utcnow
from livecircle.kit.db import one_sqlite_writer
from livecircle.kit.events import emit
from livecircle.live.models import Show


async def do_create_template(session: AsyncSession, *, tenant_id: int, **fields: Any) -> CouponTemplate:
    """Raises ProductNotFound when the coupon is for another tenant's (or no) product."""
    if fields.get("product_id") is not None:
        await catalog.get_product(session, tenant_id, fields["product_id"])
    template = CouponTemplate(tenant_id=tenant_id, **fields)
    session.add(template)
    await session.flush()
    return template


async def do_update_template(
    session: AsyncSession, *, tenant_id: int, template_id: int, **changes: Any
) -> CouponTemplate:
    template = await get_template(session, tenant_id, template_id)
    for name, value in changes.items():
        setattr(template, name, value)
    await session.flush()
    return template


async def get_template(session: AsyncSession, tenant_id: int, template_id: int) -> CouponTemplate:
    template = await session.get(CouponTemplate, template_id)
    if template is None or template.tenant_id != tenant_id:
        raise CouponNotFound("No such coupon")
    return template


async def list_templates(
    session: AsyncSession, tenant_id: int, *, channel: str | None = None, enabled_only: bool = False
) -> list[CouponTemplate]:
    query = select(CouponTemplate).where(CouponTemplate.tenant_id == tenant_id).order_by(CouponTemplate.id)
    if channel is not None:
        query = query.where(CouponTemplate.channel == channel)
    if enabled_only:
        query = query.where(CouponTemplate.enabled.is_(True))
    return list((await session.scalars(query)).all())


async def do_issue(
    session: AsyncSession,
    template: CouponTemplate,
    *,
    user_id: int,
    source: str,
    show_id: int | None = None,
) -> Coupon:
    """Issue one coupon to ``user_id``. Raises CouponNotApplicable (disabled or expired),
    CouponLimitReached (the user holds ``per_user``), CouponsGone (``total`` reached)."""
    now = utcnow()
    if not template.enabled or (template.valid_until is not None and template.valid_until <= now):
        raise CouponNotApplicable("This coupon is no longer handed out")
    member = await session.scalar(
        select(Membership.id).where(Membership.user_id == user_id, Membership.tenant_id == template.tenant_id)
    )
    if member is None:
        raise MemberNotFound()
    await one_sqlite_writer(session)
    held = await session.scalar(
        select(func.count())
        .select_from(Coupon)
        .where(Coupon.template_id == template.id, Coupon.user_id == user_id)
    )
    if (held or 0) >= template.per_user:
        raise CouponLimitReached()
    coupon = Coupon(
        tenant_id=template.tenant_id,
        template_id=template.id,
        user_id=user_id,
        slot=(held or 0) + 1,
        source=source,
        show_id=show_id,
        issued_at=now,
        expires_at=_expiry(template, now),
    )
    session.add(coupon)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:  # the same user claiming twice at once
        raise CouponLimitReached() from None
    # The template's counter last: the hot row is locked only until commit.
    counted = update(CouponTemplate).where(CouponTemplate.id == template.id)
    if template.total is not None:
        counted = counted.where(CouponTemplate.issued < CouponTemplate.total)
    result = await session.execute(counted.values(issued=CouponTemplate.issued + 1))
    if cast(CursorResult[Any], result).rowcount != 1:
        raise CouponsGone()
    return coupon


def _expiry(template: CouponTemplate, now: datetime) -> datetime | None:
    ends = [template.valid_until] if template.valid_until else []
    if template.valid_days:
        ends.append(now + timedelta(days=template.valid_days))
    return min(ends) if ends else None


async def do_drop(session: AsyncSession, *, show: Show, template: CouponTemplate) -> None:
    """The host drops a coupon in the show: every viewer sees it and the first ones claim it."""
    if template.channel != "drop" or not template.enabled:
        raise CouponNotApplicable("Only enabled in-show drop coupons can be dropped")
    emit(session, CouponDropped(show.tenant_id, show.room_id, show.id, template.id))


async def list_user_coupons(
    session: AsyncSession, *, tenant_id: int, user_id: int
) -> list[tuple[Coupon, CouponTemplate]]:
    rows = await session.execute(
        select(Coupon, CouponTemplate)
        .join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
        .where(Coupon.user_id == user_id, Coupon.tenant_id == tenant_id)
        .order_by(Coupon.id.desc())
    )
    return [(coupon, template) for coupon, template in rows]


def discount_for(template: CouponTemplate, subtotal_cents: int) -> int:
    if template.kind == "fixed":
        return min(template.amount_off_cents, subtotal_cents)
    return subtotal_cents * template.percent_off // 100


async def quote(
    session: AsyncSession, *, user_id: int, coupon_id: int, subtotal_cents: int, product_id: int
) -> int:
    """The discount ``coupon_id`` gives on this order. Raises CouponNotFound, CouponNotApplicable."""
    coupon = await session.get(Coupon, coupon_id)
    if coupon is None or coupon.user_id != user_id:
        raise CouponNotFound()
    template = await session.get(CouponTemplate, coupon.template_id)
    assert template is not None
    if coupon.state != "available":
        raise CouponNotApplicable("This coupon has been used")
    if coupon.expires_at is not None and coupon.expires_at <= utcnow():
        raise CouponNotApplicable("This coupon has expired")
    if template.product_id is not None and template.product_id != product_id:
        raise CouponNotApplicable("This coupon is for another product")
    if subtotal_cents < template.min_spend_cents:
        raise CouponNotApplicable(
            "The order does not reach the coupon's minimum spend", min_spend_cents=template.min_spend_cents
        )
    return discount_for(template, subtotal_cents)


async def use(session: AsyncSession, *, coupon_id: int, order_id: int) -> None:
    """Mark the coupon used by ``order_id``, once. Raises CouponNotApplicable when another order won."""
    now = utcnow()
    result = await session.execute(
        update(Coupon)
        .where(
            Coupon.id == coupon_id,
            Coupon.state == "available",
            or_(Coupon.expires_at.is_(None), Coupon.expires_at > now),
        )
        .values(state="used", order_id=order_id, used_at=now)
    )
    if cast(CursorResult[Any], result).rowcount != 1:
        raise CouponNotApplicable("This coupon has been used")


async def give_back(session: AsyncSession, *, coupon_id: int, order_id: int) -> None:
    await session.execute(
        update(Coupon)
        .where(Coupon.id == coupon_id, Coupon.order_id == order_id, Coupon.state == "used")
        .values(state="available", order_id=None, used_at=None)
    )


async def may_claim_member_coupons(
    session: AsyncSession, rules: EconomySettings, *, tenant_id: int, user_id: int
) -> bool:
    """Member-only coupons are for tiers with the ``exclusive_discount`` privilege."""
    return await tiers.has_privilege(
        session, rules, tenant_id=tenant_id, user_id=user_id, privilege="exclusive_discount"
    )


async def check_claim(
    session: AsyncSession,
    rules: EconomySettings,
    template: CouponTemplate,
    *,
    user_id: int,
    show_id: int | None = None,
) -> Coupon:
    """Claim a dropped coupon (first come, first served) or a member-only one.

    Raises CouponNotClaimable (another channel, or a tier without exclusive discounts) and
    what ``do_issue`` raises."""
    if template.channel == "member":
        if not await may_claim_member_coupons(session, rules, tenant_id=template.tenant_id, user_id=user_id):
            raise CouponNotClaimable("This coupon is for members whose tier gives exclusive discounts")
    elif template.channel != "drop":
        raise CouponNotClaimable()
    return await do_issue(session, template, user_id=user_id, source=template.channel, show_id=show_id)


async def list_claimable(
    session: AsyncSession, rules: EconomySettings, *, tenant_id: int, user_id: int
) -> tuple[list[tuple[CouponTemplate, int]], bool]:
    """The member-only coupons on offer now (enabled, not past ``valid_until``; ``issued`` may
    have reached ``total``) with how many of each the user holds, and whether they may claim."""
    now = utcnow()
    offered = await list_templates(session, tenant_id, channel="member", enabled_only=True)
    mine = await list_user_coupons(session, tenant_id=tenant_id, user_id=user_id)
    held: dict[int, int] = {}
    for _, template in mine:
        held[template.id] = held.get(template.id, 0) + 1
    eligible = await may_claim_member_coupons(session, rules, tenant_id=tenant_id, user_id=user_id)
    on_offer = [(t, held.get(t.id, 0)) for t in offered if t.valid_until is None or t.valid_until > now]
    return on_offer, eligible
