"""The chat hot path: check, filter, broadcast, then store in batches.

A chat line costs no database round trip in the common case: the room's
context is cached for ``ROOM_SECONDS`` and the sender's standing for
``SENDER_SECONDS`` (``kit.cache.LoadingCache``: loaded once however many lines
ask at the same moment, and refreshed in the background when old, so no line
waits for the database). Both are dropped at once when they change: on this node
through domain events, on every node through the room's own broadcast
(``moderation``, ``policy``, ``pin`` and ``show`` events, see ``observe``).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from livecircle.config import Settings
from livecircle.identity.schemas import Principal
from livecircle.interaction.context import RoomContext, Sender, load_room_context, load_sender
from livecircle.interaction.errors import ChatNeedsAccount, ChatTextInvalid, MessageNotFound
from livecircle.interaction.writer import ChatWriter
from livecircle.kit.cache import LoadingCache
from livecircle.kit.clock import utcnow
from livecircle.kit.db import Database
from livecircle.kit.errors import AppError
from livecircle.kit.snowflake import IdMaker
from livecircle.live.errors import RoomNotFound
from livecircle.live.service import may_see
from livecircle.moderation import service as moderation_service
from livecircle.moderation.errors import (
    Banned,
    ChatRestricted,
    MessageBlocked,
    Muted,
    RateLimited,
    SlowMode,
)
from livecircle.moderation.filters import FilterRegistry
from livecircle.moderation.ratelimit import SlidingWindow, SlowModeGate
from livecircle.realtime.hub import Hub

ROOM_SECONDS = 5.0
SENDER_SECONDS = 60.0
RECENT_PER_ROOM = 300
MENTION = re.compile(r"@([^\s@:：,，]{1,32})")
ASSISTANT_NAME = "直播间小助手"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to a line: ``visible`` (broadcast), ``held`` (waiting for review)."""

    status: str
    event: dict[str, Any]


class ChatPipeline:
    def __init__(
        self,
        db: Database,
        hub: Hub,
        settings: Settings,
        filters: FilterRegistry,
        writer: ChatWriter,
        ids: IdMaker,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.hub = hub
        self.settings = settings
        self.filters = filters
        self.writer = writer
        self.ids = ids
        chat = settings.chat
        self.rate = SlidingWindow(chat.rate_limit_messages, chat.rate_limit_seconds, clock)
        self.slow = SlowModeGate(clock)
        self.rooms: LoadingCache[int, RoomContext] = LoadingCache(ROOM_SECONDS)
        self.senders: LoadingCache[tuple[int, int], Sender] = LoadingCache(SENDER_SECONDS)
        self._warming: set[asyncio.Task[None]] = set()
        self.recent: dict[int, deque[dict[str, Any]]] = {}
        self.auto_reply_last: dict[int, float] = {}
        self.deleted: set[int] = set()  # removed lines still in ``recent``
        self.clock = clock

    # ---- caches ----

    def observe(self, channel: str, event: dict[str, Any]) -> None:
        """Every room event from every node passes here (hub listener): drop what it changes."""
        kind = event.get("type")
        if kind not in ("moderation", "policy", "pin", "show", "chat_deleted", "watch"):
            return
        if not channel.startswith("room:"):
            return
        room_id = int(channel.removeprefix("room:"))
        if kind == "watch":  # this node starts hearing the room: forget what it cached deaf
            self.forget_room(room_id)
            self.senders.forget_where(lambda key: key[0] == room_id)
        elif kind == "moderation":
            self.forget_sender(room_id, int(event["user_id"]))
        elif kind == "chat_deleted":
            self.deleted.add(int(event["id"]))
        else:
            self.forget_room(room_id)

    def forget_room(self, room_id: int) -> None:
        self.rooms.forget(room_id)

    def forget_sender(self, room_id: int, user_id: int) -> None:
        self.senders.forget((room_id, user_id))

    async def room(self, principal: Principal, room_id: int) -> RoomContext:
        """The room's context, if ``principal`` may see the room. Raises RoomNotFound."""
        room = await self.rooms.get(room_id, lambda: load_room_context(self.db, room_id))
        if not may_see(principal, visibility=room.visibility, tenant_id=room.tenant_id):
            raise RoomNotFound()
        return room

    def warm(self, principal: Principal, room_id: int) -> None:
        """Load a signed-in viewer's standing as they join, in the background, so their first
        line does not wait for the database (a show's opening minute brings hundreds at once)."""
        if principal.user_id is None:
            return
        task = asyncio.create_task(self._warm(principal, room_id))
        self._warming.add(task)
        task.add_done_callback(self._warming.discard)

    async def _warm(self, principal: Principal, room_id: int) -> None:
        with contextlib.suppress(AppError):  # the first line will meet the same error and say so
            await self.sender(principal, await self.room(principal, room_id))

    async def sender(self, principal: Principal, room: RoomContext) -> Sender:
        assert principal.user_id is not None
        key = (room.room_id, principal.user_id)
        return await self.senders.get(key, lambda: load_sender(self.db, principal, room))

    # ---- the path of one line ----

    async def submit(
        self, principal: Principal, room_id: int, text: str, *, reply_to: int | None = None
    ) -> Outcome:
        """Check and publish one chat line.

        Raises ChatNeedsAccount, RoomNotFound, Banned, Muted, ChatRestricted,
        RateLimited, SlowMode, ChatTextInvalid, MessageBlocked.
        """
        if principal.user_id is None:
            raise ChatNeedsAccount()
        if not self.hub.online(f"room:{room_id}"):
            # Nobody here watches the room (a REST post): no broadcast kept the caches fresh.
            self.forget_room(room_id)
            self.forget_sender(room_id, principal.user_id)
        room = await self.room(principal, room_id)
        sender = await self.sender(principal, room)
        self._check_standing(room, sender)
        text = " ".join(text.split())
        limit = self.settings.realtime.chat_max_length
        if not text or len(text) > limit:
            raise ChatTextInvalid(f"A message has 1 to {limit} characters", max_length=limit)
        self._check_pace(room, sender)
        verdict = (await self.filters.get(room.tenant_id)).check(text)
        if verdict.action == "block":
            await self._log_filtered(room, sender, "auto_block", text, list(verdict.words))
            raise MessageBlocked()
        status = "held" if verdict.action == "review" else "visible"
        # A held line keeps its words for the moderator who reviews it.
        event = self._event(room, sender, text if status == "held" else verdict.text, reply_to)
        self._store(room, event, status)
        if status == "held":
            await self._log_filtered(
                room, sender, "auto_hold", text, list(verdict.words), message_id=event["id"]
            )
            return Outcome(status, event)
        await self.hub.publish(f"room:{room.room_id}", event)
        self._remember(room.room_id, event)
        await self._auto_reply(room, event)
        return Outcome(status, event)

    def _check_standing(self, room: RoomContext, sender: Sender) -> None:
        if sender.sanction is not None:
            kind, until = sender.sanction
            if kind == "ban":
                raise Banned()
            if until is None or until > utcnow():
                retry = (until - utcnow()).total_seconds() if until else None
                raise Muted(retry_after=round(retry, 1) if retry else None)
        if sender.is_moderator:
            return
        if room.mode == "members" and not sender.is_member:
            raise ChatRestricted("Only members of this community may chat here", mode="members")
        if room.mode == "followers" and not sender.follows_host:
            raise ChatRestricted("Only followers of the host may chat here", mode="followers")
        age_needed = timedelta(minutes=room.min_account_age_minutes)
        if room.min_account_age_minutes and utcnow() - sender.registered_at < age_needed:
            wait = (sender.registered_at + age_needed - utcnow()).total_seconds()
            raise ChatRestricted(
                "New accounts may chat after a while", mode="new_account", retry_after=round(wait)
            )

    def _check_pace(self, room: RoomContext, sender: Sender) -> None:
        if sender.is_moderator:
            return
        wait = self.slow.retry_after((room.room_id, sender.user_id), room.slow_mode_seconds)
        if wait:
            raise SlowMode(retry_after=round(wait, 1), slow_mode_seconds=room.slow_mode_seconds)
        wait = self.rate.retry_after((room.room_id, sender.user_id))
        if wait:
            raise RateLimited(retry_after=round(wait, 1))

    def _event(self, room: RoomContext, sender: Sender, text: str, reply_to: int | None) -> dict[str, Any]:
        reply = self._find_recent(room.room_id, reply_to) if reply_to else None
        if reply_to and reply is None:
            raise MessageNotFound("The message you reply to is not in this room")
        event: dict[str, Any] = {
            "type": "chat",
            "id": self.ids.next_id(),
            "room_id": room.room_id,
            "show_id": room.show_id,
            "user_id": sender.user_id,
            "display_name": sender.display_name,
            "text": text,
            "kind": "chat",
            "badge": sender.badge,
            "mentions": self._mentions(room.room_id, text),
            "reply_to": _quote(reply) if reply else None,
            "created_at": utcnow().isoformat(),
        }
        if sender.badge is not None:
            event["pri"] = 1  # never sampled away under overload
        return event

    def _store(self, room: RoomContext, event: dict[str, Any], status: str) -> None:
        reply = event.get("reply_to")
        self.writer.add(
            {
                "id": event["id"],
                "tenant_id": room.tenant_id,
                "room_id": room.room_id,
                "show_id": room.show_id,
                "user_id": event["user_id"],
                "display_name": event["display_name"],
                "text": event["text"],
                "kind": event["kind"],
                "status": status,
                "badge": event.get("badge"),
                "reply_to_id": reply["id"] if reply else None,
                "mentions": event.get("mentions") or [],
                "created_at": datetime.fromisoformat(event["created_at"]),
            }
        )

    def _remember(self, room_id: int, event: dict[str, Any]) -> None:
        recent = self.recent.get(room_id)
        if recent is None:
            recent = self.recent[room_id] = deque(maxlen=RECENT_PER_ROOM)
        recent.append(event)

    def recent_events(self, room_id: int) -> list[dict[str, Any]]:
        """Visible lines published by this node in ``room_id`` lately, oldest first."""
        return [
            {k: v for k, v in e.items() if k not in ("type", "pri", "reply_to")}
            | {"reply_to_id": _reply_id(e)}
            for e in self.recent.get(room_id, ())
            if e["id"] not in self.deleted
        ]

    def _find_recent(self, room_id: int, message_id: int) -> dict[str, Any] | None:
        recent: deque[dict[str, Any]] = self.recent.get(room_id) or deque()
        matches: list[dict[str, Any]] = [e for e in recent if e["id"] == message_id]
        return matches[-1] if matches else None

    def _mentions(self, room_id: int, text: str) -> list[int]:
        names = set(MENTION.findall(text))
        if not names:
            return []
        found: dict[str, int] = {}
        for event in reversed(self.recent.get(room_id, ())):
            name = event["display_name"]
            if name in names and name not in found and event["kind"] == "chat":
                found[name] = event["user_id"]
        return sorted(set(found.values()))

    async def _auto_reply(self, room: RoomContext, event: dict[str, Any]) -> None:
        text = event["text"].casefold()
        for rule in room.auto_replies:
            keyword = rule.keyword.casefold()
            hit = text == keyword if rule.match == "exact" else keyword in text
            if not hit:
                continue
            now = self.clock()
            last = self.auto_reply_last.get(rule.id)
            if last is not None and now - last < rule.cooldown_seconds:
                continue
            self.auto_reply_last[rule.id] = now
            reply: dict[str, Any] = {
                "type": "chat",
                "id": self.ids.next_id(),
                "room_id": room.room_id,
                "show_id": room.show_id,
                "user_id": room.owner_id,
                "display_name": ASSISTANT_NAME,
                "text": rule.reply,
                "kind": "auto_reply",
                "badge": "assistant",
                "mentions": [event["user_id"]],
                "reply_to": _quote(event),
                "created_at": utcnow().isoformat(),
                "pri": 1,
            }
            self._store(room, reply, "visible")
            await self.hub.publish(f"room:{room.room_id}", reply)
            self._remember(room.room_id, reply)
            return

    async def _log_filtered(
        self,
        room: RoomContext,
        sender: Sender,
        action: str,
        text: str,
        words: list[str],
        message_id: int | None = None,
    ) -> None:
        async with self.db.unit_of_work() as session:
            moderation_service.log_action(
                session,
                tenant_id=room.tenant_id,
                room_id=room.room_id,
                actor_id=None,
                action=action,
                target_user_id=sender.user_id,
                target_message_id=message_id,
                words=words,
                text=text,
            )


def _reply_id(event: dict[str, Any]) -> int | None:
    reply = event.get("reply_to")
    return int(reply["id"]) if reply else None


def _quote(event: dict[str, Any]) -> dict[str, Any]:
    return {"id": event["id"], "display_name": event["display_name"], "text": event["text"][:60]}
