"""Lotteries JSON API: the host prepares, launches and draws; viewers join; winners give an
address; anyone reads the audit."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, status

from livecircle.identity.deps import CurrentPrincipal, CurrentUser
from livecircle.interaction import runofshow
from livecircle.interaction import service as interaction_service
from livecircle.interaction.engine import Engine
from livecircle.interaction.lotteries import prizes, service
from livecircle.interaction.lotteries.errors import LotteryNeedsAccount, LotteryNotFound
from livecircle.interaction.lotteries.models import Lottery
from livecircle.interaction.lotteries.schemas import AddressIn, AuditOut, LotteryCreate, LotteryOut, ShipIn
from livecircle.kit.deps import AppSettings, DbSession
from livecircle.live import service as live_service

router = APIRouter(prefix="/api/v1", tags=["lotteries"])
ObjectId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post("/rooms/{room_id}/lotteries", status_code=status.HTTP_201_CREATED)
async def create_lottery(
    room_id: ObjectId, data: LotteryCreate, session: DbSession, principal: CurrentUser, settings: AppSettings
) -> LotteryOut:
    """A draft; ``launch`` opens it in the live show now, ``offset_s`` plans it into the run-of-show."""
    room = await interaction_service.check_moderate_room(session, principal, room_id)
    assert principal.user_id is not None
    lottery = await service.do_create_lottery(session, room=room, user_id=principal.user_id, data=data)
    if data.launch:
        await service.do_open_lottery(session, lottery)
    elif data.offset_s is not None:
        await runofshow.do_plan(
            session, room=room, tool="lottery", tool_id=lottery.id, offset_s=data.offset_s
        )
    return LotteryOut.model_validate(await service.view(session, settings.economy, lottery, staff=True))


@router.get("/rooms/{room_id}/lotteries")
async def room_lotteries(
    room_id: ObjectId, session: DbSession, principal: CurrentPrincipal, settings: AppSettings
) -> list[LotteryOut]:
    """The live (else latest) show's lotteries, newest first; staff also see drafts."""
    room = await live_service.access_room(session, principal, room_id)
    staff = interaction_service.is_moderator(principal, room.tenant_id, room.owner_id)
    show = await live_service.get_current_show(session, room.id)
    rows = await service.list_room_lotteries(session, room_id=room.id, show_id=show.id if show else None)
    return [
        LotteryOut.model_validate(
            await service.view(session, settings.economy, lottery, user_id=principal.user_id, staff=staff)
        )
        for lottery in rows
        if staff or lottery.status != "draft"
    ]


@router.get("/lotteries/{lottery_id}")
async def get_lottery(
    lottery_id: ObjectId, session: DbSession, principal: CurrentPrincipal, settings: AppSettings
) -> LotteryOut:
    lottery, staff = await _visible(session, principal, lottery_id)
    view = await service.view(session, settings.economy, lottery, user_id=principal.user_id, staff=staff)
    return LotteryOut.model_validate(view)


@router.post("/lotteries/{lottery_id}/open")
async def open_lottery(
    lottery_id: ObjectId, session: DbSession, principal: CurrentUser, settings: AppSettings
) -> LotteryOut:
    lottery = await _managed(session, principal, lottery_id)
    await service.do_open_lottery(session, lottery)
    return LotteryOut.model_validate(await service.view(session, settings.economy, lottery, staff=True))


@router.post("/lotteries/{lottery_id}/draw")
async def draw_lottery(
    lottery_id: ObjectId, session: DbSession, principal: CurrentUser, settings: AppSettings, engine: Engine
) -> LotteryOut:
    """Draw now (the host's button; a timed lottery draws itself). 409 ``lottery_not_open`` when drawn."""
    lottery = await _managed(session, principal, lottery_id)
    await engine.writer.flush()  # keyword lines still in the write batch count
    await service.do_draw(session, settings.economy, lottery.id)
    return LotteryOut.model_validate(await service.view(session, settings.economy, lottery, staff=True))


@router.post("/lotteries/{lottery_id}/entry")
async def join_lottery(
    lottery_id: ObjectId,
    session: DbSession,
    principal: CurrentPrincipal,
    settings: AppSettings,
    engine: Engine,
) -> dict[str, Any]:
    """Join (参与). ``missing`` lists the rules not met yet; they are checked again at the draw."""
    if principal.user_id is None:
        raise LotteryNeedsAccount()
    await engine.writer.flush()  # the keyword the viewer just said counts
    lottery, _ = await _visible(session, principal, lottery_id)
    room = await live_service.get_room(session, lottery.room_id)
    missing = await service.do_join(session, settings.economy, lottery, room=room, user_id=principal.user_id)
    return {"joined": True, "missing": missing}


@router.get("/lotteries/{lottery_id}/audit")
async def lottery_audit(lottery_id: ObjectId, session: DbSession, principal: CurrentPrincipal) -> AuditOut:
    """Seed, list hash, frozen list and winners: re-derive them with ``script_url``."""
    lottery, _ = await _visible(session, principal, lottery_id)
    return AuditOut.model_validate(await service.audit(session, lottery))


@router.put("/lotteries/{lottery_id}/address")
async def give_address(
    lottery_id: ObjectId, data: AddressIn, session: DbSession, principal: CurrentUser
) -> dict[str, str]:
    assert principal.user_id is not None
    lottery, _ = await _visible(session, principal, lottery_id)
    winner = await prizes.do_give_address(
        session, lottery, user_id=principal.user_id, address=data.model_dump()
    )
    return {"status": winner.status}


@router.post("/lotteries/{lottery_id}/winners/{winner_id}/ship")
async def ship_prize(
    lottery_id: ObjectId, winner_id: ObjectId, data: ShipIn, session: DbSession, principal: CurrentUser
) -> dict[str, str]:
    lottery = await _managed(session, principal, lottery_id)
    winner = await prizes.do_ship(session, lottery, winner_id=winner_id, note=data.note)
    return {"status": winner.status}


@router.get("/me/prizes")
async def my_prizes(session: DbSession, principal: CurrentUser) -> list[dict[str, Any]]:
    assert principal.user_id is not None
    return await prizes.list_my_prizes(session, principal.user_id)


async def _visible(session: DbSession, principal: Any, lottery_id: int) -> tuple[Lottery, bool]:
    lottery = await service.get_lottery(session, lottery_id)
    room = await live_service.access_room(session, principal, lottery.room_id)
    staff = interaction_service.is_moderator(principal, room.tenant_id, room.owner_id)
    if lottery.status == "draft" and not staff:
        raise LotteryNotFound()
    return lottery, staff


async def _managed(session: DbSession, principal: Any, lottery_id: int) -> Lottery:
    lottery = await service.get_lottery(session, lottery_id)
    await interaction_service.check_moderate_room(session, principal, lottery.room_id)
    return lottery
