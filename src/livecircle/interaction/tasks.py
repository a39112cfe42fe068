"""Event subscribers: a stored chat line goes out to the room."""

from __future__ import annotations

from livecircle.interaction.events import ChatSent
from livecircle.interaction.schemas import ChatOut, chat_event
from livecircle.kit.events import EventBus
from livecircle.realtime.hub import Hub


def subscribe(bus: EventBus, hub: Hub) -> None:
    async def broadcast_chat(event: ChatSent) -> None:
        out = ChatOut(
            id=event.message_id,
            room_id=event.room_id,
            show_id=event.show_id,
            user_id=event.user_id,
            display_name=event.display_name,
            text=event.text,
            created_at=event.created_at,
        )
        await hub.publish(f"room:{event.room_id}", chat_event(out))

    bus.subscribe(ChatSent, broadcast_chat)
