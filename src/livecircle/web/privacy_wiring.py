"""Plugs the data rights into the app: their routers, the export and erasure jobs, and what an
erasure does beyond the database, which only the layers above ``privacy`` can reach:

- before the table walk: the member's export files go; their chat lines of the last day are
  removed for every viewer (the moderation path: ``ChatMessageRemoved`` → ``chat_deleted``
  to every node and client, the room snapshots rebuilt);
- after it: this node's chat memory (recent lines, quotes of them, the senders' cache), the
  broker's resume history (memory ring or Redis streams), the cached token owners, and the
  analytics replica (every other node re-reads the rewritten events from
  ``privacy_replica_rewrite`` on its next sync).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.config import Settings
from livecircle.interaction.events import ChatMessageRemoved
from livecircle.interaction.models import ChatMessage
from livecircle.kit.clock import utcnow
from livecircle.kit.db import Database
from livecircle.kit.events import emit
from livecircle.kit.jobs import JobRunner
from livecircle.privacy import deletion, export
from livecircle.privacy.erasure import Eraser, ErasureContext, ErasureHooks
from livecircle.web import privacy_api, privacy_pages

ROUTERS: tuple[APIRouter, ...] = (privacy_api.router, privacy_pages.router)
RECENT_CHAT = timedelta(days=1)  # older lines are in no replay buffer or snapshot


def install(app: FastAPI, db: Database, runner: JobRunner, settings: Settings) -> Eraser:
    """Register the jobs on ``runner``; returns the app's eraser (also ``app.state.erasure``)."""
    hooks = ErasureHooks()
    hooks.replicated.update({"analytics_event", "analytics_identity"})
    hooks.before.extend([_pending_writes(app), _export_files(settings), _chat_lines])
    hooks.after.append(_node_memory(app))
    eraser = app.state.erasure = Eraser(db, settings, hooks)
    export.Exports(db, settings).register_jobs(runner)
    deletion.register_jobs(runner, eraser)
    return eraser


def _pending_writes(app: FastAPI) -> Any:
    """What this node still holds in memory for the database (chat lines and their points,
    likes, buffered analytics events such as an anonymous viewer's likes) is written first,
    so the walk over the tables finds the member's rows among them."""

    async def flush(session: AsyncSession, context: ErasureContext) -> None:
        engine = getattr(app.state, "chat", None)
        if engine is not None:
            await engine.writer.flush()
            await engine.earnings.flush()
            await engine.likes.persist()
        node = getattr(app.state, "analytics_node", None)
        if node is not None:
            await node.buffer.flush()

    return flush


def _export_files(settings: Settings) -> Any:
    async def drop(session: AsyncSession, context: ErasureContext) -> None:
        await export.delete_files_of(session, settings, user_id=context.user_id)

    return drop


async def _chat_lines(session: AsyncSession, context: ErasureContext) -> None:
    rows = await session.execute(
        select(ChatMessage.id, ChatMessage.room_id).where(
            ChatMessage.user_id == context.user_id,
            ChatMessage.status == "visible",
            ChatMessage.created_at > utcnow() - RECENT_CHAT,
        )
    )
    for message_id, room_id in rows.all():
        emit(session, ChatMessageRemoved(room_id=room_id, message_id=message_id))


def _node_memory(app: FastAPI) -> Any:
    async def scrub(context: ErasureContext) -> None:
        gone: set[int] = set()
        fix = _scrubber(context, gone)
        engine = getattr(app.state, "chat", None)
        if engine is not None:
            pipeline = engine.pipeline
            for recent in pipeline.recent.values():
                kept = [fixed for event in list(recent) if (fixed := fix(event)) is not None]
                recent.clear()
                recent.extend(kept)
            pipeline.senders.forget_where(lambda key: key[1] == context.user_id)
        hub = getattr(app.state, "hub", None)
        if hub is not None:
            await hub.broker.scrub(fix)
        cache = getattr(app.state, "principals", None)
        if cache is not None:
            cache.forget_where(
                lambda key: (p := cache.peek(key)) is not None and p.user_id == context.user_id
            )
        store = getattr(app.state, "analytics", None)
        if store is not None:
            await store.apply_rewrites()

    return scrub


def _scrubber(context: ErasureContext, gone: set[int]) -> Any:
    """An event of the member (a chat line, a question, a moderation notice naming them) is dropped; a line
    quoting one of their dropped lines keeps its text but loses the quote's name and words."""

    def theirs(event: dict[str, Any]) -> bool:
        parts = [event, *(v for v in event.values() if isinstance(v, dict))]  # e.g. {"question": {...}}
        return any(part.get("user_id") == context.user_id for part in parts)

    def fix(event: dict[str, Any]) -> dict[str, Any] | None:
        if theirs(event):
            if isinstance(event.get("id"), int):
                gone.add(event["id"])
            return None
        quote = event.get("reply_to")
        if isinstance(quote, dict) and quote.get("id") in gone:
            name = context.placeholders.deleted_name
            return {**event, "reply_to": {"id": quote["id"], "display_name": name, "text": ""}}
        return event

    return fix
