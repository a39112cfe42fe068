"""Chat storage in batches: one INSERT of many rows every ``interval`` seconds.

A chat line is broadcast first and written here shortly after (ids come from
``kit.ids``). On shutdown every pending row is written. A database outage keeps
rows in memory (up to ``max_pending``) and retries; beyond that the oldest are
dropped and counted, so a dead database cannot exhaust the process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy import insert

from livecircle.interaction.models import ChatMessage, Mention
from livecircle.kit import tracking
from livecircle.kit.background import Periodic
from livecircle.kit.db import Database


class ChatWriter:
    def __init__(
        self,
        db: Database,
        *,
        interval: float = 0.2,
        batch_size: int = 1000,
        max_pending: int = 200_000,
        on_stored: Callable[[list[dict[str, Any]]], None] | None = None,
    ) -> None:
        """``on_stored`` gets each batch once it has committed (it must only queue work)."""
        self.db = db
        self.on_stored = on_stored
        self.interval = interval
        self.batch_size = batch_size
        self.max_pending = max_pending
        self.pending: list[dict[str, Any]] = []
        self.written = 0
        self.batches = 0
        self.dropped = 0
        self._lock = asyncio.Lock()
        self._loop = Periodic("chat-writer", interval, self.flush, final=self.flush)

    def add(self, row: dict[str, Any]) -> None:
        self.pending.append(row)
        if len(self.pending) > self.max_pending:
            del self.pending[0]
            self.dropped += 1

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def flush(self) -> None:
        """Write everything pending now (callers that must read their own writes call this)."""
        async with self._lock:
            while self.pending:
                batch = self.pending[: self.batch_size]
                mentions = [
                    {
                        "message_id": r["id"],
                        "user_id": u,
                        "room_id": r["room_id"],
                        "created_at": r["created_at"],
                    }
                    for r in batch
                    if r["status"] == "visible"
                    for u in r["mentions"]
                ]
                async with self.db.unit_of_work() as session:
                    await session.execute(insert(ChatMessage), batch)
                    if mentions:
                        await session.execute(insert(Mention), mentions)
                    await tracking.insert_rows(
                        session, [_chat_event(r) for r in batch if r["kind"] == "chat"]
                    )
                del self.pending[: len(batch)]
                if self.on_stored is not None:
                    self.on_stored(batch)
                self.written += len(batch)
                self.batches += 1


def _chat_event(row: dict[str, Any]) -> dict[str, Any]:
    """A viewer's danmaku line as an analytics event, stored with the line itself."""
    return tracking.event_row(
        "chat",
        event_id=f"chat:{row['id']}",
        ts=row["created_at"],
        tenant_id=row["tenant_id"],
        user_id=row["user_id"],
        room_id=row["room_id"],
        show_id=row["show_id"],
        props={"status": row["status"], "length": len(row["text"])},
    )
