"""Points JSON API: check-in, points, shares, the points store, levels and badges, memberships."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from livecircle.economy import checkin, points, store, tiers
from livecircle.economy.deps import IdempotencyKey, operator_tenant
from livecircle.economy.schemas import (
    BadgeOut,
    BadgeRuleIn,
    BadgeRuleOut,
    BadgeRuleUpdate,
    CheckInOut,
    CheckInStatusOut,
    EarnedOut,
    FreezesOut,
    LevelOut,
    MembershipIn,
    MembershipOut,
    PointsOut,
    RedeemedOut,
    RedemptionOut,
    ShareIn,
    StoreItemIn,
    StoreItemOut,
    StoreItemUpdate,
)
from livecircle.identity.deps import CurrentUser
from livecircle.identity.schemas import Principal
from livecircle.kit.clock import utcnow
from livecircle.kit.deps import AppSettings, DbSession
from livecircle.kit.tracking import track

router = APIRouter(prefix="/api/v1", tags=["points"])
ItemId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _who(principal: Principal) -> tuple[int, int]:
    assert principal.tenant_id is not None
    assert principal.user_id is not None
    return principal.tenant_id, principal.user_id


# ---- check-in ----


@router.post("/checkin", status_code=status.HTTP_201_CREATED)
async def check_in(
    session: DbSession, principal: CurrentUser, settings: AppSettings, response: Response
) -> CheckInOut:
    """Check in for today (UTC): 201 the first time, 200 with the same check-in after that."""
    tenant_id, user_id = _who(principal)
    done = await checkin.do_check_in(session, settings.economy, tenant_id=tenant_id, user_id=user_id)
    if not done.created:
        response.status_code = status.HTTP_200_OK
    return CheckInOut.model_validate(done.check_in).model_copy(update={"created": done.created})


@router.get("/checkin")
async def check_in_status(
    session: DbSession, principal: CurrentUser, settings: AppSettings
) -> CheckInStatusOut:
    tenant_id, user_id = _who(principal)
    found = await checkin.get_check_in_status(session, settings.economy, tenant_id=tenant_id, user_id=user_id)
    return CheckInStatusOut.model_validate(found)


@router.post("/checkin/freezes", status_code=status.HTTP_201_CREATED)
async def buy_freeze(
    key: IdempotencyKey, session: DbSession, principal: CurrentUser, settings: AppSettings
) -> FreezesOut:
    """Buy one streak freeze with points (``points.freeze_price``)."""
    tenant_id, user_id = _who(principal)
    held = await checkin.do_buy_freeze(
        session, settings.economy, tenant_id=tenant_id, user_id=user_id, key=key
    )
    return FreezesOut(freezes=held)


# ---- points ----


@router.get("/points")
async def my_points(session: DbSession, principal: CurrentUser, settings: AppSettings) -> PointsOut:
    tenant_id, user_id = _who(principal)
    summary = await points.get_points_summary(session, settings.economy, tenant_id=tenant_id, user_id=user_id)
    return PointsOut.model_validate(summary)


@router.post("/points/shares", status_code=status.HTTP_201_CREATED)
async def shared(
    data: ShareIn, session: DbSession, principal: CurrentUser, settings: AppSettings
) -> EarnedOut:
    """A share of ``target`` earns points once per target and day, within the daily cap."""
    tenant_id, user_id = _who(principal)
    key = f"share:{user_id}:{data.target}:{utcnow().date().isoformat()}"
    earned = await points.do_earn(
        session, settings.economy, tenant_id=tenant_id, user_id=user_id, rule="share", key=key
    )
    kind, _, ref = data.target.partition(":")
    show_id = int(ref) if kind == "show" and ref.isdigit() and len(ref) < 10 else None
    track(
        session, "share", tenant_id=tenant_id, user_id=user_id, show_id=show_id, props={"target": data.target}
    )
    return EarnedOut.model_validate(earned)


# ---- the points store ----


@router.get("/points/store")
async def store_items(
    session: DbSession, principal: CurrentUser, all_items: Annotated[bool, Query(alias="all")] = False
) -> list[StoreItemOut]:
    """The enabled items; operators see disabled ones too with ``?all=true``."""
    tenant_id = operator_tenant(principal, "the points store") if all_items else _who(principal)[0]
    items = await store.list_store_items(session, tenant_id, enabled_only=not all_items)
    return [StoreItemOut.model_validate(item) for item in items]


@router.post("/points/store", status_code=status.HTTP_201_CREATED)
async def create_store_item(data: StoreItemIn, session: DbSession, principal: CurrentUser) -> StoreItemOut:
    tenant_id = operator_tenant(principal, "the points store")
    item = await store.do_create_store_item(session, tenant_id=tenant_id, **data.model_dump())
    return StoreItemOut.model_validate(item)


@router.patch("/points/store/{item_id}")
async def update_store_item(
    item_id: ItemId, data: StoreItemUpdate, session: DbSession, principal: CurrentUser
) -> StoreItemOut:
    tenant_id = operator_tenant(principal, "the points store")
    item = await store.do_update_store_item(
        session, tenant_id=tenant_id, item_id=item_id, **data.model_dump()
    )
    return StoreItemOut.model_validate(item)


@router.post("/points/store/{item_id}/redeem", status_code=status.HTTP_201_CREATED)
async def redeem(
    item_id: ItemId, key: IdempotencyKey, session: DbSession, principal: CurrentUser
) -> RedeemedOut:
    """Exchange points for one item. The same Idempotency-Key redeems once."""
    tenant_id, user_id = _who(principal)
    done = await store.do_redeem(session, tenant_id=tenant_id, user_id=user_id, item_id=item_id, key=key)
    out = RedemptionOut.model_validate(done.redemption)
    return RedeemedOut(redemption=out, balance=done.balance, replayed=done.replayed)


@router.get("/points/redemptions")
async def my_redemptions(session: DbSession, principal: CurrentUser) -> list[RedemptionOut]:
    tenant_id, user_id = _who(principal)
    found = await store.list_redemptions(session, tenant_id=tenant_id, user_id=user_id)
    return [RedemptionOut.model_validate(r) for r in found]


# ---- levels, badges, memberships ----


@router.get("/me/level")
async def my_level(session: DbSession, principal: CurrentUser, settings: AppSettings) -> LevelOut:
    """XP, level, tier, badges (evaluated now: gifts count without a hook) and privileges."""
    tenant_id, user_id = _who(principal)
    rules = settings.economy
    await tiers.do_evaluate_badges(session, rules, tenant_id=tenant_id, user_id=user_id)
    standing = await tiers.get_standing(session, rules, tenant_id=tenant_id, user_id=user_id)
    badges = await tiers.list_user_badges(session, tenant_id=tenant_id, user_id=user_id)
    return _level_out(standing, rules.tiers.level_thresholds, [BadgeOut.model_validate(b) for b in badges])


def _level_out(standing: tiers.Standing, thresholds: list[int], badges: list[BadgeOut]) -> LevelOut:
    return LevelOut(
        xp=standing.xp,
        level=standing.level,
        level_xp=thresholds[standing.level - 1],
        next_level_xp=tiers.next_threshold(standing.level, thresholds),
        tier=standing.tier,
        premium_until=standing.premium_until,
        badges=badges,
        privileges=sorted(standing.privileges),
        chat_badge={"tier": standing.tier, "level": standing.level}
        if "chat_badge" in standing.privileges
        else None,
    )


@router.get("/badges/rules")
async def badge_rules(session: DbSession, principal: CurrentUser) -> list[BadgeRuleOut]:
    tenant_id, _ = _who(principal)
    await tiers.ensure_badge_rules(session, tenant_id)
    return [BadgeRuleOut.model_validate(r) for r in await tiers.list_badge_rules(session, tenant_id)]


@router.post("/badges/rules", status_code=status.HTTP_201_CREATED)
async def create_badge_rule(data: BadgeRuleIn, session: DbSession, principal: CurrentUser) -> BadgeRuleOut:
    tenant_id = operator_tenant(principal, "badges")
    await tiers.ensure_badge_rules(session, tenant_id)
    rule = await tiers.do_create_badge_rule(session, tenant_id=tenant_id, **data.model_dump())
    return BadgeRuleOut.model_validate(rule)


@router.patch("/badges/rules/{rule_id}")
async def update_badge_rule(
    rule_id: ItemId, data: BadgeRuleUpdate, session: DbSession, principal: CurrentUser
) -> BadgeRuleOut:
    tenant_id = operator_tenant(principal, "badges")
    rule = await tiers.do_update_badge_rule(
        session, tenant_id=tenant_id, rule_id=rule_id, **data.model_dump()
    )
    return BadgeRuleOut.model_validate(rule)


@router.post("/memberships", status_code=status.HTTP_201_CREATED)
async def buy_membership(
    data: MembershipIn, key: IdempotencyKey, session: DbSession, principal: CurrentUser, settings: AppSettings
) -> MembershipOut:
    """Pay coins for premium (高级会员): ``periods`` × ``membership_days``, extending a running one."""
    tenant_id, user_id = _who(principal)
    bought = await tiers.do_buy_membership(
        session, settings.economy, tenant_id=tenant_id, user_id=user_id, periods=data.periods, key=key
    )
    return MembershipOut.model_validate(bought)
