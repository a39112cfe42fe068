"""What a step does when it fires: pin a product, start a flash sale, launch a poll or a
lottery, drop a coupon, push the community card (an action a higher layer registers, since
community sits beside interaction), or show the host a cue. ``check_target`` validates a
step's target when it is planned; ``launch`` runs it in the live show and returns the ids it
made (the step's ``result``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.commerce import catalog, coupons, flash, pins
from livecircle.interaction.lotteries import service as lotteries
from livecircle.interaction.lotteries.schemas import LotteryCreate
from livecircle.interaction.models import ShowStep
from livecircle.interaction.polls import service as polls
from livecircle.interaction.polls.schemas import PollCreate
from livecircle.interaction.runofshow.errors import ActionUnavailable, StepTargetInvalid
from livecircle.kit.clock import utcnow
from livecircle.live import service as live_service
from livecircle.live.models import Room, Show

Launch = Callable[[AsyncSession, Show, ShowStep], Awaitable[dict[str, Any]]]
Check = Callable[[AsyncSession, Room, int], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Limits:
    """The node's settings the actions obey (``commerce.max_pins``)."""

    max_pins: int


@dataclass(frozen=True, slots=True)
class External:
    check: Check
    launch: Launch


# Actions registered from above (analytics.script_judge registers "community").
EXTERNAL: dict[str, External] = {}


def register_action(name: str, *, check: Check, launch: Launch) -> None:
    EXTERNAL[name] = External(check=check, launch=launch)


async def check_target(session: AsyncSession, room: Room, action: str, target_id: int | None) -> None:
    """Raises StepTargetInvalid when the target is not the tenant's (or not this room's)."""
    if target_id is None:
        return
    if action == "pin":
        await catalog.get_product(session, room.tenant_id, target_id)
    elif action == "flash_sale":
        await catalog.get_sku(session, room.tenant_id, target_id)
    elif action == "coupon":
        template = await coupons.get_template(session, room.tenant_id, target_id)
        if template.channel != "drop":
            raise StepTargetInvalid("Only in-show drop coupons can be dropped by a step")
    elif action == "poll":
        poll = await polls.get_poll(session, target_id)
        if poll.room_id != room.id or poll.status != "draft":
            raise StepTargetInvalid("The poll must be a draft of this room")
    elif action == "lottery":
        lottery = await lotteries.get_lottery(session, target_id)
        if lottery.room_id != room.id or lottery.status != "draft":
            raise StepTargetInvalid("The lottery must be a draft of this room")
    elif action in EXTERNAL:
        await EXTERNAL[action].check(session, room, target_id)


async def launch(session: AsyncSession, show: Show, step: ShowStep, limits: Limits) -> dict[str, Any]:
    """Run ``step``'s action in the live ``show``. Raises the tools' AppErrors."""
    params = step.params or {}
    if step.tool == "pin":
        room = await live_service.get_room(session, show.room_id)
        pin = await pins.do_pin(
            session,
            show=show,
            product_id=step.tool_id,
            countdown_s=int(params.get("countdown_s", 0)),
            user_id=room.owner_id,
            max_pins=limits.max_pins,
        )
        return {"pin_id": pin.id, "product_id": step.tool_id}
    if step.tool == "flash_sale":
        return await _flash_sale(session, show, step, params)
    if step.tool == "poll":
        return {"poll_id": await _poll(session, show, step, params)}
    if step.tool == "lottery":
        return {"lottery_id": await _lottery(session, show, step, params)}
    if step.tool == "coupon":
        template = await coupons.get_template(session, show.tenant_id, step.tool_id)
        await coupons.do_drop(session, show=show, template=template)
        return {"template_id": template.id}
    if step.tool == "cue":
        return {"text": params.get("text", "")}
    if step.tool in EXTERNAL:
        return await EXTERNAL[step.tool].launch(session, show, step)
    raise ActionUnavailable()


async def _flash_sale(
    session: AsyncSession, show: Show, step: ShowStep, params: dict[str, Any]
) -> dict[str, Any]:
    now = utcnow()
    sale = await flash.do_create_sale(
        session,
        tenant_id=show.tenant_id,
        show=show,
        sku_id=step.tool_id,
        price_cents=int(params["price_cents"]),
        starts_at=now,
        ends_at=now + timedelta(seconds=int(params["duration_s"])),
        stock_total=int(params["stock"]),
        per_user_limit=int(params.get("per_user_limit", 1)),
    )
    return {"sale_id": sale.id, "sku_id": step.tool_id}


async def _poll(session: AsyncSession, show: Show, step: ShowStep, params: dict[str, Any]) -> int:
    if step.tool_id:
        poll = await polls.get_poll(session, step.tool_id)
    else:
        room = await live_service.get_room(session, show.room_id)
        data = PollCreate.model_validate(params["poll"])
        poll = await polls.do_create_poll(session, room=room, user_id=room.owner_id, data=data)
    await polls.do_open_poll(session, poll)
    return poll.id


async def _lottery(session: AsyncSession, show: Show, step: ShowStep, params: dict[str, Any]) -> int:
    if step.tool_id:
        lottery = await lotteries.get_lottery(session, step.tool_id)
    else:
        room = await live_service.get_room(session, show.room_id)
        data = LotteryCreate.model_validate(params["lottery"])
        lottery = await lotteries.do_create_lottery(session, room=room, user_id=room.owner_id, data=data)
    await lotteries.do_open_lottery(session, lottery)
    return lottery.id
