"""Interaction service: chat now."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.identity.schemas import Principal
from livecircle.interaction.errors import ChatNeedsAccount, ChatTextInvalid
from livecircle.interaction.events import ChatSent
from livecircle.interaction.models import ChatMessage
from livecircle.kit.events import emit
from livecircle.live import service as live_service


async def check_send_chat(
    session: AsyncSession, principal: Principal, *, room_id: int, text: str, max_length: int
) -> ChatMessage:
    """Validate and store one chat line.

    Raises ChatNeedsAccount, RoomNotFound, ChatTextInvalid. Emits ChatSent after commit.
    """
    if principal.user_id is None:
        raise ChatNeedsAccount()
    room = await live_service.access_room(session, principal, room_id)
    text = " ".join(text.split())
    if not text or len(text) > max_length:
        raise ChatTextInvalid(f"A message has 1 to {max_length} characters", max_length=max_length)
    show = await live_service.get_live_show(session, room.id)
    return await do_send_chat(
        session,
        principal,
        room_id=room.id,
        tenant_id=room.tenant_id,
        show_id=show.id if show else None,
        text=text,
    )


async def do_send_chat(
    session: AsyncSession,
    principal: Principal,
    *,
    room_id: int,
    tenant_id: int,
    show_id: int | None,
    text: str,
) -> ChatMessage:
    assert principal.user_id is not None
    message = ChatMessage(
        tenant_id=tenant_id,
        room_id=room_id,
        show_id=show_id,
        user_id=principal.user_id,
        display_name=principal.display_name,
        text=text,
    )
    session.add(message)
    await session.flush()
    emit(
        session,
        ChatSent(
            message_id=message.id,
            tenant_id=tenant_id,
            room_id=room_id,
            show_id=show_id,
            user_id=message.user_id,
            display_name=message.display_name,
            text=text,
            created_at=message.created_at,
        ),
    )
    return message


async def list_recent_chat(session: AsyncSession, *, room_id: int, limit: int) -> list[ChatMessage]:
    rows = await session.scalars(
        select(ChatMessage).where(ChatMessage.room_id == room_id).order_by(ChatMessage.id.desc()).limit(limit)
    )
    return list(reversed(list(rows)))


async def list_show_chat(
    session: AsyncSession, *, show_id: int, after_id: int = 0, limit: int = 500
) -> list[ChatMessage]:
    """A show's chat in order, for replay with the video."""
    return list(
        await session.scalars(
            select(ChatMessage)
            .where(ChatMessage.show_id == show_id, ChatMessage.id > after_id)
            .order_by(ChatMessage.id)
            .limit(limit)
        )
    )
