"""Inbound socket ops of the interaction domain."""

from __future__ import annotations

from typing import Any

from livecircle.config import Settings
from livecircle.interaction import service
from livecircle.kit.db import Database
from livecircle.live.schemas import RoomViewer
from livecircle.realtime.gateway import OpHandler
from livecircle.realtime.hub import Connection


def make_ops(db: Database, settings: Settings) -> dict[str, OpHandler]:
    async def chat(conn: Connection, message: dict[str, Any]) -> None:
        viewer: RoomViewer = conn.context
        async with db.unit_of_work() as session:
            await service.check_send_chat(
                session,
                viewer.principal,
                room_id=viewer.room_id,
                text=str(message.get("text", "")),
                max_length=settings.realtime.chat_max_length,
            )

    return {"chat": chat}
