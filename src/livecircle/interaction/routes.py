"""Interaction JSON API: chat (live and replay), the room's chat policy, auto-replies,
and the moderator's tools (delete, review queue, reports, sanctions, log)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response, status

from livecircle.economy import service as economy_service
from livecircle.economy.deps import IdempotencyKey
from livecircle.economy.schemas import ContributorOut, GiftSendIn, GiftSent
from livecircle.identity.deps import CurrentPrincipal, CurrentUser
from livecircle.interaction import policy, service
from livecircle.interaction.engine import Engine
from livecircle.interaction.gifts import check_send_gift
from livecircle.interaction.schemas import (
    AutoReplyIn,
    AutoReplyOut,
    ChatIn,
    ChatOut,
    ChatPosted,
    HeldOut,
    PinIn,
    PolicyIn,
    PolicyOut,
)
from livecircle.kit.deps import AppSettings, DbSession
from livecircle.live import service as live_service
from livecircle.live.deps import RoomAccess
from livecircle.moderation import service as moderation_service
from livecircle.moderation.schemas import LogOut, ReportIn, ReportOut, SanctionIn, SanctionKind, SanctionOut

router = APIRouter(prefix="/api/v1", tags=["interaction"])
ShowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
RoomId = Annotated[int, Path(ge=1, le=2**31 - 1)]
MessageId = Annotated[int, Path(ge=1, le=2**53)]
UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/rooms/{room_id}/chat")
async def recent_chat(
    room: RoomAccess, session: DbSession, engine: Engine, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[ChatOut]:
    await engine.writer.flush()  # lines still waiting for their batch are part of "recent"
    rows = await service.list_recent_chat(session, room_id=room.id, limit=limit)
    return [ChatOut.model_validate(r) for r in rows]


@router.post("/rooms/{room_id}/chat", status_code=status.HTTP_201_CREATED)
async def post_chat(
    room_id: RoomId, data: ChatIn, principal: CurrentPrincipal, engine: Engine, response: Response
) -> ChatPosted:
    """Send a line as the caller. 201 when broadcast; 202 when held for review."""
    outcome = await engine.pipeline.submit(principal, room_id, data.text, reply_to=data.reply_to)
    if outcome.status == "held":
        response.status_code = status.HTTP_202_ACCEPTED
    event = outcome.event
    reply = event.get("reply_to")
    fields = {k: v for k, v in event.items() if k in ChatOut.model_fields}
    message = ChatOut.model_validate({**fields, "reply_to_id": reply["id"] if reply else None})
    return ChatPosted(status=outcome.status, message=message)


@router.get("/shows/{show_id}/chat")
async def show_chat(
    show_id: ShowId,
    session: DbSession,
    principal: CurrentPrincipal,
    engine: Engine,
    after_id: Annotated[int, Query(ge=0, le=2**53)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> list[ChatOut]:
    """A show's chat in order, to replay beside the recording."""
    await engine.writer.flush()
    show = await live_service.get_show(session, show_id)
    await live_service.access_room(session, principal, show.room_id)
    rows = await service.list_show_chat(session, show_id=show_id, after_id=after_id, limit=limit)
    return [ChatOut.model_validate(r) for r in rows]


@router.get("/me/mentions")
async def my_mentions(session: DbSession, principal: CurrentUser) -> list[ChatOut]:
    """Lines where someone named me with @, newest first."""
    assert principal.user_id is not None
    return [
        ChatOut.model_validate(r) for r in await service.list_mentions(session, user_id=principal.user_id)
    ]


# ---- the room's chat policy, pin and auto-replies (host and moderators) ----


@router.get("/rooms/{room_id}/chat-policy")
async def get_chat_policy(room: RoomAccess, session: DbSession) -> PolicyOut:
    return PolicyOut.model_validate(await policy.get_policy(session, room.id))


@router.patch("/rooms/{room_id}/chat-policy")
async def update_chat_policy(
    room_id: RoomId, data: PolicyIn, session: DbSession, principal: CurrentUser
) -> PolicyOut:
    room = await service.check_moderate_room(session, principal, room_id)
    return PolicyOut.model_validate(await policy.do_update_policy(session, room_id=room.id, data=data))


@router.put("/rooms/{room_id}/pin")
async def pin_message(
    room_id: RoomId, data: PinIn, session: DbSession, principal: CurrentUser, engine: Engine
) -> PolicyOut:
    await engine.writer.flush()
    room = await service.check_moderate_room(session, principal, room_id)
    await policy.do_pin(session, room_id=room.id, message_id=data.message_id)
    return PolicyOut.model_validate(await policy.get_policy(session, room.id))


@router.get("/rooms/{room_id}/auto-replies")
async def list_auto_replies(
    room_id: RoomId, session: DbSession, principal: CurrentUser
) -> list[AutoReplyOut]:
    room = await service.check_moderate_room(session, principal, room_id)
    return [AutoReplyOut.model_validate(r) for r in await policy.list_auto_replies(session, room.id)]


@router.post("/rooms/{room_id}/auto-replies", status_code=status.HTTP_201_CREATED)
async def add_auto_reply(
    room_id: RoomId, data: AutoReplyIn, session: DbSession, principal: CurrentUser
) -> AutoReplyOut:
    room = await service.check_moderate_room(session, principal, room_id)
    return AutoReplyOut.model_validate(await policy.do_add_auto_reply(session, room_id=room.id, data=data))


@router.delete("/rooms/{room_id}/auto-replies/{rule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_auto_reply(
    room_id: RoomId,
    rule_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    session: DbSession,
    principal: CurrentUser,
) -> None:
    room = await service.check_moderate_room(session, principal, room_id)
    await policy.do_remove_auto_reply(session, room_id=room.id, rule_id=rule_id)


# ---- moderation of lines and people ----


@router.delete("/rooms/{room_id}/chat/{message_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_message(
    room_id: RoomId, message_id: MessageId, session: DbSession, principal: CurrentUser, engine: Engine
) -> None:
    """Remove a line for every viewer (kept, hidden, for the audit)."""
    await engine.writer.flush()
    room = await service.check_moderate_room(session, principal, room_id)
    await service.do_delete_message(session, room=room, actor=principal, message_id=message_id)


@router.post("/rooms/{room_id}/chat/{message_id}/report", status_code=status.HTTP_201_CREATED)
async def report_message(
    room_id: RoomId,
    message_id: MessageId,
    data: ReportIn,
    session: DbSession,
    principal: CurrentUser,
    engine: Engine,
) -> ReportOut:
    await engine.writer.flush()
    report = await service.do_report_message(
        session, principal=principal, room_id=room_id, message_id=message_id, reason=data.reason
    )
    return ReportOut.model_validate(report)


@router.get("/rooms/{room_id}/moderation/reports")
async def list_reports(
    room_id: RoomId,
    session: DbSession,
    principal: CurrentUser,
    state: Annotated[Literal["open", "resolved"], Query(alias="status")] = "open",
) -> list[ReportOut]:
    room = await service.check_moderate_room(session, principal, room_id)
    return [
        ReportOut.model_validate(r)
        for r in await moderation_service.list_reports(session, room_id=room.id, status=state)
    ]


@router.get("/rooms/{room_id}/moderation/held")
async def review_queue(
    room_id: RoomId, session: DbSession, principal: CurrentUser, engine: Engine
) -> list[HeldOut]:
    """Lines the word filter held for review, oldest first."""
    await engine.writer.flush()
    room = await service.check_moderate_room(session, principal, room_id)
    return [HeldOut.model_validate(m) for m in await service.list_held(session, room_id=room.id)]


@router.post("/rooms/{room_id}/moderation/held/{message_id}/{decision}")
async def review_message(
    room_id: RoomId,
    message_id: MessageId,
    decision: Literal["approve", "reject"],
    session: DbSession,
    principal: CurrentUser,
    engine: Engine,
) -> HeldOut:
    await engine.writer.flush()
    room = await service.check_moderate_room(session, principal, room_id)
    message = await service.do_review(
        session, room=room, actor=principal, message_id=message_id, approve=decision == "approve"
    )
    return HeldOut.model_validate(message)


@router.post("/rooms/{room_id}/moderation/sanctions", status_code=status.HTTP_201_CREATED)
async def sanction_user(
    room_id: RoomId, data: SanctionIn, session: DbSession, principal: CurrentUser
) -> SanctionOut:
    """Mute for ``minutes`` or ban a user from chatting in this room."""
    room = await service.check_moderate_room(session, principal, room_id)
    assert principal.user_id is not None
    sanction = await moderation_service.do_sanction(
        session,
        tenant_id=room.tenant_id,
        room_id=room.id,
        actor_id=principal.user_id,
        user_id=data.user_id,
        kind=data.kind,
        minutes=data.minutes,
        reason=data.reason,
    )
    return SanctionOut.model_validate(sanction)


@router.delete("/rooms/{room_id}/moderation/sanctions/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def lift_sanction(
    room_id: RoomId, user_id: UserId, kind: SanctionKind, session: DbSession, principal: CurrentUser
) -> None:
    room = await service.check_moderate_room(session, principal, room_id)
    assert principal.user_id is not None
    await moderation_service.do_lift(
        session,
        tenant_id=room.tenant_id,
        room_id=room.id,
        actor_id=principal.user_id,
        user_id=user_id,
        kind=kind,
    )


@router.get("/rooms/{room_id}/moderation/log")
async def moderation_log(
    room_id: RoomId,
    session: DbSession,
    principal: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[LogOut]:
    """Every moderator action and automatic verdict in this room, newest first."""
    room = await service.check_moderate_room(session, principal, room_id)
    return [
        LogOut.model_validate(e)
        for e in await moderation_service.list_log(session, room_id=room.id, limit=limit)
    ]


@router.post("/rooms/{room_id}/gifts", status_code=status.HTTP_201_CREATED)
async def send_gift(
    room_id: RoomId,
    data: GiftSendIn,
    key: IdempotencyKey,
    session: DbSession,
    principal: CurrentUser,
    settings: AppSettings,
    engine: Engine,
) -> GiftSent:
    """Send a gift to the host (coins from your wallet). Repeating the Idempotency-Key returns the
    first answer and moves nothing; the same key with another gift is 422; while the first is
    still in flight, 409."""
    posted = await check_send_gift(
        session,
        settings,
        engine.hub,
        engine.combos,
        principal=principal,
        room_id=room_id,
        gift_id=data.gift_id,
        count=data.count,
        key=key,
    )
    return GiftSent.model_validate(posted.result)


@router.get("/rooms/{room_id}/contributors")
async def contributors(
    room: RoomAccess,
    session: DbSession,
    show_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[ContributorOut]:
    """The gift ranking of a show (``show_id``) or of the room over all its shows."""
    rows = await economy_service.list_contributors(
        session, tenant_id=room.tenant_id, room_id=room.id, show_id=show_id, limit=limit
    )
    return [ContributorOut.model_validate(row) for row in rows]
