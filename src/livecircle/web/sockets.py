"""Room socket admission: who joins ``room:{id}`` and what the hello snapshot holds."""

from __future__ import annotations

from starlette.websockets import WebSocket

from livecircle.config import Settings
from livecircle.identity.deps import resolve_principal
from livecircle.interaction import policy as chat_policy
from livecircle.interaction import service as interaction_service
from livecircle.interaction.schemas import ChatOut
from livecircle.interaction.writer import ChatWriter
from livecircle.kit.db import Database
from livecircle.kit.errors import BadRequest
from livecircle.live import service as live_service
from livecircle.live.schemas import RoomViewer
from livecircle.live.state import room_state
from livecircle.realtime.gateway import Admission, Admit


def make_admit(db: Database, settings: Settings, writer: ChatWriter) -> Admit:
    async def admit(ws: WebSocket, target: str) -> Admission:
        if not target.isdigit() or not 0 < int(target) < 2**31:
            raise BadRequest("Room ids are positive integers")
        await writer.flush()  # the snapshot includes lines still waiting for their batch
        async with db.unit_of_work() as session:
            principal, _ = await resolve_principal(session, ws)
            room = await live_service.access_room(session, principal, int(target))
            state = await room_state(session, room)
            recent = await interaction_service.list_recent_chat(
                session, room_id=room.id, limit=settings.realtime.history_size
            )
            policy = await chat_policy.get_policy(session, room.id)
            pinned = await chat_policy.pinned_event(session, policy)
        identity = (
            {
                "id": principal.user_id,
                "name": principal.display_name,
                "role": principal.role.value if principal.role else None,
            }
            if principal.is_authenticated
            else None
        )
        hello = {
            "room_id": room.id,
            "me": identity,
            "state": state.model_dump(mode="json"),
            "chat": [ChatOut.model_validate(m).model_dump(mode="json") for m in recent],
            "pinned": pinned,
            "likes": state.show.like_count if state.show else 0,
            "policy": {
                "mode": policy.mode,
                "slow_mode_seconds": policy.slow_mode_seconds,
                "min_account_age_minutes": policy.min_account_age_minutes,
            },
        }
        viewer = RoomViewer(principal=principal, room_id=room.id, tenant_id=room.tenant_id)
        return Admission(channel=f"room:{room.id}", identity=identity, context=viewer, hello=hello)

    return admit
