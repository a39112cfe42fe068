"""The first-visit guide (新手引导) of a live room: the room's rules as they apply now, the
new-user coupon and the follow gift (from the commerce coupons of the room's tenant), and
where the viewer stands (signed in, following, holding each coupon). Read-only: following
and registering go through their own endpoints, which hand the coupons out."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.commerce import coupons
from livecircle.commerce.models import CouponTemplate
from livecircle.community import service as community_service
from livecircle.config import Settings
from livecircle.identity.schemas import Principal
from livecircle.interaction import policy as chat_policy
from livecircle.live import audience
from livecircle.live.models import Room


def _offer(template: CouponTemplate, held: set[int]) -> dict[str, Any]:
    return {
        "template_id": template.id,
        "name": template.name,
        "kind": template.kind,
        "amount_off_cents": template.amount_off_cents,
        "percent_off": template.percent_off,
        "min_spend_cents": template.min_spend_cents,
        "valid_days": template.valid_days,
        "held": template.id in held,
    }


async def _offers(session: AsyncSession, room: Room, channel: str, held: set[int]) -> list[dict[str, Any]]:
    found = await coupons.list_templates(session, room.tenant_id, channel=channel, enabled_only=True)
    open_ = [t for t in found if t.total is None or t.issued < t.total]
    return [_offer(t, held) for t in open_]


async def _rules(session: AsyncSession, room: Room, settings: Settings) -> dict[str, Any]:
    policy = await chat_policy.get_policy(session, room.id)
    groups = await community_service.list_communities(session, room_id=room.id)
    return {
        "chat_mode": policy.mode,  # open | followers | members
        "slow_mode_seconds": policy.slow_mode_seconds,
        "min_account_age_minutes": policy.min_account_age_minutes,
        "rate_limit_messages": settings.chat.rate_limit_messages,
        "rate_limit_seconds": settings.chat.rate_limit_seconds,
        "chat_max_length": settings.realtime.chat_max_length,
        "community_rules": [
            {"community_id": g.id, "name": g.name, "rules": g.rules} for g in groups if g.rules
        ],
    }


async def get_room_guide(
    session: AsyncSession, principal: Principal, settings: Settings, room: Room
) -> dict[str, Any]:
    """The guide for ``principal`` in ``room`` (anonymous viewers get it too: it invites them
    to sign up for the new-user coupon)."""
    held: set[int] = set()
    following = False
    if principal.user_id is not None:
        mine = await coupons.list_user_coupons(session, tenant_id=room.tenant_id, user_id=principal.user_id)
        held = {coupon.template_id for coupon, _ in mine}
        following = await audience.is_following(session, user_id=principal.user_id, host_id=room.owner_id)
    return {
        "room_id": room.id,
        "title": room.title,
        "signed_in": principal.user_id is not None,
        "is_host": principal.user_id == room.owner_id,
        "following": following,
        "rules": await _rules(session, room, settings),
        "new_user_coupons": await _offers(session, room, "new_user", held),
        "follow_gifts": await _offers(session, room, "follow", held),
    }
