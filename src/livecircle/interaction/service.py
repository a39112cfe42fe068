"""Interaction service: reading chat, and the moderator's actions on chat lines.

Sending goes through ``pipeline.ChatPipeline`` (the hot path); everything here
runs inside the caller's unit of work.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.identity.schemas import Principal, Role
from livecircle.interaction.errors import MessageNotFound
from livecircle.interaction.events import ChatMessageApproved, ChatMessageRemoved
from livecircle.interaction.models import ChatMessage, Mention
from livecircle.kit.events import emit
from livecircle.live import service as live_service
from livecircle.live.models import Room
from livecircle.moderation import service as moderation_service
from livecircle.moderation.errors import NotModerator
from livecircle.moderation.models import Report

VISIBLE = "visible"


async def check_moderate_room(session: AsyncSession, principal: Principal, room_id: int) -> Room:
    """The room, when ``principal`` is its host or a moderator (or above) of its tenant."""
    room = await live_service.access_room(session, principal, room_id)
    if not is_moderator(principal, room.tenant_id, room.owner_id):
        raise NotModerator()
    return room


def is_moderator(principal: Principal, tenant_id: int, owner_id: int) -> bool:
    """The room's host, or a moderator (or above) of its tenant."""
    return principal.user_id == owner_id or principal.has_role(tenant_id, Role.MODERATOR)


async def list_recent_chat(session: AsyncSession, *, room_id: int, limit: int) -> list[ChatMessage]:
    rows = await session.scalars(
        select(ChatMessage)
        .where(ChatMessage.room_id == room_id, ChatMessage.status == VISIBLE)
        .order_by(ChatMessage.id.desc())
        .limit(limit)
    )
    return list(reversed(list(rows)))


async def list_show_chat(
    session: AsyncSession, *, show_id: int, after_id: int = 0, limit: int = 500
) -> list[ChatMessage]:
    """A show's chat in order, for replay with the video."""
    return list(
        await session.scalars(
            select(ChatMessage)
            .where(ChatMessage.show_id == show_id, ChatMessage.id > after_id, ChatMessage.status == VISIBLE)
            .order_by(ChatMessage.id)
            .limit(limit)
        )
    )


async def get_message(session: AsyncSession, *, room_id: int, message_id: int) -> ChatMessage:
    message = await session.get(ChatMessage, message_id)
    if message is None or message.room_id != room_id:
        raise MessageNotFound()
    return message


async def do_delete_message(
    session: AsyncSession, *, room: Room, actor: Principal, message_id: int
) -> ChatMessage:
    """Hide a line for everyone (kept for the audit, status ``deleted``)."""
    message = await get_message(session, room_id=room.id, message_id=message_id)
    was_visible = message.status == VISIBLE
    message.status = "deleted"
    moderation_service.log_action(
        session,
        tenant_id=room.tenant_id,
        room_id=room.id,
        actor_id=actor.user_id,
        action="delete",
        target_user_id=message.user_id,
        target_message_id=message.id,
        text=message.text,
    )
    await moderation_service.do_resolve_reports(
        session,
        room_id=room.id,
        message_id=message.id,
        actor_id=actor.user_id or 0,
        tenant_id=room.tenant_id,
        outcome="deleted",
    )
    if was_visible:
        emit(session, ChatMessageRemoved(room_id=room.id, message_id=message.id))
    return message


async def list_held(session: AsyncSession, *, room_id: int) -> list[ChatMessage]:
    """The review queue: lines the word filter held, oldest first."""
    rows = await session.scalars(
        select(ChatMessage)
        .where(ChatMessage.room_id == room_id, ChatMessage.status == "held")
        .order_by(ChatMessage.id)
    )
    return list(rows)


async def do_review(
    session: AsyncSession, *, room: Room, actor: Principal, message_id: int, approve: bool
) -> ChatMessage:
    message = await get_message(session, room_id=room.id, message_id=message_id)
    if message.status != "held":
        raise MessageNotFound("This message is not waiting for review")
    message.status = VISIBLE if approve else "rejected"
    moderation_service.log_action(
        session,
        tenant_id=room.tenant_id,
        room_id=room.id,
        actor_id=actor.user_id,
        action="approve" if approve else "reject",
        target_user_id=message.user_id,
        target_message_id=message.id,
    )
    if approve:
        emit(session, ChatMessageApproved(room_id=room.id, message_id=message.id))
    return message


async def do_report_message(
    session: AsyncSession, *, principal: Principal, room_id: int, message_id: int, reason: str
) -> Report:
    room = await live_service.access_room(session, principal, room_id)
    message = await get_message(session, room_id=room.id, message_id=message_id)
    assert principal.user_id is not None
    return await moderation_service.do_report(
        session,
        tenant_id=room.tenant_id,
        room_id=room.id,
        message_id=message.id,
        reporter_id=principal.user_id,
        reason=reason,
    )


async def list_mentions(session: AsyncSession, *, user_id: int, limit: int = 50) -> list[ChatMessage]:
    """Lines that named ``user_id``, newest first (the in-app notification list)."""
    rows = await session.scalars(
        select(ChatMessage)
        .join(Mention, Mention.message_id == ChatMessage.id)
        .where(Mention.user_id == user_id, ChatMessage.status == VISIBLE)
        .order_by(ChatMessage.id.desc())
        .limit(limit)
    )
    return list(rows)
