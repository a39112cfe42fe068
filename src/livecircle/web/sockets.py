"""Room socket admission: who joins ``room:{id}`` and what the hello snapshot holds.

The room part of the snapshot (state, recent chat, pinned line, policy) is the
same for every viewer, so it is built at most once per ``SNAPSHOT_SECONDS`` per
room; a crowd joining at once costs one query set, not one per viewer. Lines
sent on this node since the snapshot was built are added from the chat
pipeline's memory, so nobody misses what was just said.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from starlette.websockets import WebSocket

from livecircle.config import Settings
from livecircle.growth.invites.deps import new_device
from livecircle.identity import tickets
from livecircle.identity.deps import (
    DEVICE_COOKIE,
    DEVICE_HEADER,
    DEVICE_ID,
    resolve_principal,
    session_cookie,
)
from livecircle.identity.schemas import ANONYMOUS, Principal
from livecircle.interaction import policy as chat_policy
from livecircle.interaction import service as interaction_service
from livecircle.interaction.events import ChatMessageRemoved, ChatPolicyChanged
from livecircle.interaction.pipeline import ChatPipeline
from livecircle.interaction.schemas import ChatOut
from livecircle.kit.db import Database
from livecircle.kit.errors import BadRequest
from livecircle.kit.events import EventBus
from livecircle.live import service as live_service
from livecircle.live.errors import RoomNotFound
from livecircle.live.events import PublisherDisconnected, ReplayReady, ShowEnded, ShowStarted
from livecircle.live.models import Room
from livecircle.live.schemas import RoomViewer
from livecircle.live.state import room_state
from livecircle.moderation import service as moderation_service
from livecircle.realtime.gateway import Admission, Admit

SNAPSHOT_SECONDS = 1.0


@dataclass(slots=True)
class Snapshot:
    room: Room
    hello: dict[str, Any]
    newest_chat_id: int
    built_at: float = field(default_factory=time.monotonic)


class Snapshots:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.rooms: dict[int, Snapshot] = {}

    def subscribe(self, bus: EventBus) -> None:
        """What viewers must not see stale: the show's state, the pinned line, the rules, deletions."""

        async def drop(event: Any) -> None:
            self.rooms.pop(event.room_id, None)

        for kind in (
            ShowStarted,
            ShowEnded,
            PublisherDisconnected,
            ReplayReady,
            ChatPolicyChanged,
            ChatMessageRemoved,
        ):
            bus.subscribe(kind, drop)

    async def get(self, room_id: int) -> Snapshot:
        cached = self.rooms.get(room_id)
        if cached is not None and time.monotonic() - cached.built_at < SNAPSHOT_SECONDS:
            return cached
        async with self.db.unit_of_work() as session:
            room = await session.get(Room, room_id)
            if room is None:
                raise RoomNotFound()
            state = await room_state(session, room)
            recent = await interaction_service.list_recent_chat(
                session, room_id=room.id, limit=self.settings.realtime.history_size
            )
            policy = await chat_policy.get_policy(session, room.id)
            pinned = await chat_policy.pinned_event(session, policy)
        chat = [ChatOut.model_validate(m).model_dump(mode="json") for m in recent]
        hello = {
            "room_id": room.id,
            "state": state.model_dump(mode="json"),
            "chat": chat,
            "pinned": pinned,
            "likes": state.show.like_count if state.show else 0,
            "policy": {
                "mode": policy.mode,
                "slow_mode_seconds": policy.slow_mode_seconds,
                "min_account_age_minutes": policy.min_account_age_minutes,
            },
        }
        snapshot = Snapshot(room=room, hello=hello, newest_chat_id=max((m["id"] for m in chat), default=0))
        self.rooms[room_id] = snapshot
        return snapshot


def make_admit(db: Database, settings: Settings, pipeline: ChatPipeline) -> Admit:
    snapshots = Snapshots(db, settings)
    snapshots.subscribe(db.bus)

    async def admit(ws: WebSocket, target: str) -> Admission:
        if not target.isdigit() or not 0 < int(target) < 2**31:
            raise BadRequest("Room ids are positive integers")
        principal, standing = await _principal(db, settings, ws, int(target))
        snapshot = await snapshots.get(int(target))
        room = snapshot.room
        if not live_service.can_see(principal, room):
            raise RoomNotFound()
        identity = (
            {
                "id": principal.user_id,
                "name": principal.display_name,
                "role": principal.role.value if principal.role else None,
                **standing,
            }
            if principal.is_authenticated
            else None
        )
        fresh = [e for e in pipeline.recent_events(room.id) if e["id"] > snapshot.newest_chat_id]
        chat = [*snapshot.hello["chat"], *fresh][-settings.realtime.history_size :]
        hello = {**snapshot.hello, "me": identity, "chat": chat}
        viewer = RoomViewer(
            principal=principal, room_id=room.id, tenant_id=room.tenant_id, anon_id=_device(ws)
        )
        pipeline.warm(principal, room.id)
        return Admission(channel=f"room:{room.id}", identity=identity, context=viewer, hello=hello)

    return admit


async def _principal(
    db: Database, settings: Settings, ws: WebSocket, room_id: int
) -> tuple[Principal, dict[str, Any]]:
    """Anonymous viewers cost no query; members are looked up by session cookie, bearer header
    or one-time ticket (identity.tickets; never a token in the URL), with their standing in the
    room (``muted_until``, ``banned``) so the page can say so at once."""
    if (
        not tickets.offered(ws)
        and not ws.cookies.get(session_cookie(settings))
        and "authorization" not in ws.headers
    ):
        return ANONYMOUS, {}
    async with db.unit_of_work() as session:
        principal, _ = await resolve_principal(session, ws)
        if principal.user_id is None:
            return principal, {}
        sanctions = await moderation_service.active_sanctions(
            session, room_id=room_id, user_id=principal.user_id
        )
    decided = moderation_service.strongest(sanctions)
    kind, until = decided if decided else (None, None)
    return principal, {
        "banned": kind == "ban",
        "muted_until": until.isoformat() if kind == "mute" and until else None,
    }


def _device(ws: WebSocket) -> str:
    """The browser's device id (cookie or header, as the pages know it), else one for this socket."""
    sent = (
        ws.headers.get(DEVICE_HEADER) or ws.cookies.get(DEVICE_COOKIE) or ws.query_params.get("device") or ""
    )
    return sent if DEVICE_ID.fullmatch(sent) else "s-" + new_device()
