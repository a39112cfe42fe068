"""A room's chat policy (modes, slow mode, new-account gate, pinned line) and auto-replies."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.interaction.errors import AutoReplyNotFound, MessageNotFound
from livecircle.interaction.events import ChatPolicyChanged
from livecircle.interaction.models import AutoReply, ChatMessage, RoomChatPolicy
from livecircle.interaction.schemas import AutoReplyIn, PolicyIn, chat_event_from_row
from livecircle.kit.events import emit


async def get_policy(session: AsyncSession, room_id: int) -> RoomChatPolicy:
    """The stored policy, or the defaults (not added to the session)."""
    policy = await session.get(RoomChatPolicy, room_id)
    if policy is not None:
        return policy
    return RoomChatPolicy(
        room_id=room_id, mode="open", slow_mode_seconds=0, min_account_age_minutes=0, pinned_message_id=None
    )


async def _stored_policy(session: AsyncSession, room_id: int) -> RoomChatPolicy:
    policy = await session.get(RoomChatPolicy, room_id)
    if policy is None:
        policy = await get_policy(session, room_id)
        session.add(policy)
    return policy


async def do_update_policy(session: AsyncSession, *, room_id: int, data: PolicyIn) -> RoomChatPolicy:
    policy = await _stored_policy(session, room_id)
    for name, value in data.model_dump(exclude_unset=True).items():
        setattr(policy, name, value)
    await session.flush()
    emit(session, ChatPolicyChanged(room_id=room_id, change="policy"))
    return policy


async def pinned_event(session: AsyncSession, policy: RoomChatPolicy) -> dict[str, Any] | None:
    if policy.pinned_message_id is None:
        return None
    message = await session.get(ChatMessage, policy.pinned_message_id)
    if message is None or message.status != "visible":
        return None
    return chat_event_from_row(message)


async def do_pin(session: AsyncSession, *, room_id: int, message_id: int | None) -> dict[str, Any] | None:
    """Pin one line (replacing the previous one), or unpin with ``None``."""
    if message_id is not None:
        message = await session.get(ChatMessage, message_id)
        if message is None or message.room_id != room_id or message.status != "visible":
            raise MessageNotFound()
    policy = await _stored_policy(session, room_id)
    policy.pinned_message_id = message_id
    await session.flush()
    emit(session, ChatPolicyChanged(room_id=room_id, change="pin"))
    return await pinned_event(session, policy)


async def list_auto_replies(
    session: AsyncSession, room_id: int, *, enabled_only: bool = False
) -> list[AutoReply]:
    query = select(AutoReply).where(AutoReply.room_id == room_id).order_by(AutoReply.id)
    if enabled_only:
        query = query.where(AutoReply.enabled.is_(True))
    return list(await session.scalars(query))


async def do_add_auto_reply(session: AsyncSession, *, room_id: int, data: AutoReplyIn) -> AutoReply:
    rule = AutoReply(room_id=room_id, **data.model_dump())
    session.add(rule)
    await session.flush()
    emit(session, ChatPolicyChanged(room_id=room_id, change="auto_reply"))
    return rule


async def do_remove_auto_reply(session: AsyncSession, *, room_id: int, rule_id: int) -> None:
    rule = await session.get(AutoReply, rule_id)
    if rule is None or rule.room_id != room_id:
        raise AutoReplyNotFound()
    await session.delete(rule)
    emit(session, ChatPolicyChanged(room_id=room_id, change="auto_reply"))
