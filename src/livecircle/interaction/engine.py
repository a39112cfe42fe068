"""The interaction runtime of one process: word filters, the chat pipeline, the
batched writer, chat points and the like counter, started and stopped together."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from livecircle.config import Settings
from livecircle.interaction.earnings import ChatEarnings
from livecircle.interaction.gifts import Combos
from livecircle.interaction.likes import LikeCounter
from livecircle.interaction.pipeline import ChatPipeline
from livecircle.interaction.schemas import chat_on_the_wire
from livecircle.interaction.writer import ChatWriter
from livecircle.kit.db import Database
from livecircle.kit.snowflake import IdMaker
from livecircle.moderation.filters import FilterRegistry
from livecircle.realtime.hub import Hub


class ChatEngine:
    def __init__(self, db: Database, hub: Hub, settings: Settings, *, node_id: int | None = None) -> None:
        self.hub = hub
        self.filters = FilterRegistry(db)
        self.earnings = ChatEarnings(db, settings)
        self.writer = ChatWriter(
            db, interval=settings.chat.write_interval_ms / 1000, on_stored=self.earnings.stored
        )
        self.likes = LikeCounter(db, hub)
        self.pipeline = ChatPipeline(
            db,
            hub,
            settings,
            self.filters,
            self.writer,
            IdMaker(settings.chat.node_id if node_id is None else node_id),
        )
        hub.event_listeners.append(self.pipeline.observe)
        hub.wire_forms["chat"] = chat_on_the_wire
        self.combos = Combos(settings.economy.combo_seconds)

    def start(self) -> None:
        self.writer.start()
        self.earnings.start()
        self.likes.start()

    async def stop(self) -> None:
        await self.likes.stop()
        await self.writer.stop()
        await self.earnings.stop()  # after the writer: its last lines still earn


async def get_chat_engine(request: Request) -> ChatEngine:
    return cast(ChatEngine, request.app.state.chat)


Engine = Annotated[ChatEngine, Depends(get_chat_engine)]
