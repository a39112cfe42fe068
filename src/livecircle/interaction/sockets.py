"""Inbound socket ops of the interaction domain (see docs/realtime.md)."""

from __future__ import annotations

from typing import Any

from livecircle.config import Settings
from livecircle.economy.deps import is_valid_key
from livecircle.interaction import policy, service
from livecircle.interaction.engine import ChatEngine
from livecircle.interaction.gifts import check_send_gift
from livecircle.kit.db import Database
from livecircle.kit.errors import BadRequest, Unauthenticated
from livecircle.live.schemas import RoomViewer
from livecircle.moderation import service as moderation_service
from livecircle.moderation.schemas import SanctionKind
from livecircle.realtime.gateway import OpHandler
from livecircle.realtime.hub import Connection

MAX_ID = 2**53


def _id(message: dict[str, Any], name: str, *, optional: bool = False) -> int | None:
    value = message.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < MAX_ID:
        raise BadRequest(f"'{name}' must be a positive integer")
    return value


def make_ops(
    db: Database, engine: ChatEngine, settings: Settings, likes_per_second: int
) -> dict[str, OpHandler]:
    pipeline = engine.pipeline

    async def chat(conn: Connection, message: dict[str, Any]) -> None:
        viewer: RoomViewer = conn.context
        text = message.get("text")
        outcome = await pipeline.submit(
            viewer.principal,
            viewer.room_id,
            text if isinstance(text, str) else "",
            reply_to=_id(message, "reply_to", optional=True),
        )
        if outcome.status == "held":
            conn.send_event({"type": "chat_held", "id": outcome.event["id"], "ref": message.get("ref")})

    async def like(conn: Connection, message: dict[str, Any]) -> None:
        viewer: RoomViewer = conn.context
        count = message.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or not 0 < count <= 100:
            raise BadRequest("'count' must be 1 to 100")
        room = await pipeline.room(viewer.principal, viewer.room_id)
        granted = engine.likes.allow(id(conn), count, likes_per_second)
        if room.show_id is not None and granted:
            liker = (viewer.principal.user_id, None if viewer.principal.user_id else viewer.anon_id)
            engine.likes.add(room.room_id, room.show_id, granted, tenant_id=viewer.tenant_id, liker=liker)

    async def delete(conn: Connection, message: dict[str, Any]) -> None:
        viewer: RoomViewer = conn.context
        message_id = _id(message, "message_id")
        assert message_id is not None
        await engine.writer.flush()
        async with db.unit_of_work() as session:
            room = await service.check_moderate_room(session, viewer.principal, viewer.room_id)
            await service.do_delete_message(session, room=room, actor=viewer.principal, message_id=message_id)

    def sanction(kind: SanctionKind, *, lift: bool = False) -> OpHandler:
        async def handler(conn: Connection, message: dict[str, Any]) -> None:
            viewer: RoomViewer = conn.context
            user_id = _id(message, "user_id")
            assert user_id is not None
            if viewer.principal.user_id is None:  # an anonymous viewer: refused, not a crash
                raise Unauthenticated("Sign in to moderate")
            minutes = message.get("minutes", 10)
            if not isinstance(minutes, int) or isinstance(minutes, bool) or not 0 < minutes <= 525_600:
                raise BadRequest("'minutes' must be 1 to 525600")
            reason = str(message.get("reason", ""))[:200]
            async with db.unit_of_work() as session:
                room = await service.check_moderate_room(session, viewer.principal, viewer.room_id)
                ids = {"tenant_id": room.tenant_id, "room_id": room.id, "actor_id": viewer.principal.user_id}
                if lift:
                    await moderation_service.do_lift(session, **ids, user_id=user_id, kind=kind)
                else:
                    await moderation_service.do_sanction(
                        session, **ids, user_id=user_id, kind=kind, minutes=minutes, reason=reason
                    )

        return handler

    async def pin(conn: Connection, message: dict[str, Any]) -> None:
        viewer: RoomViewer = conn.context
        message_id = _id(message, "message_id", optional=True)
        await engine.writer.flush()
        async with db.unit_of_work() as session:
            room = await service.check_moderate_room(session, viewer.principal, viewer.room_id)
            await policy.do_pin(session, room_id=room.id, message_id=message_id)

    async def report(conn: Connection, message: dict[str, Any]) -> None:
        viewer: RoomViewer = conn.context
        message_id = _id(message, "message_id")
        assert message_id is not None
        if viewer.principal.user_id is None:
            raise BadRequest("Sign in to report a message")
        await engine.writer.flush()
        async with db.unit_of_work() as session:
            await service.do_report_message(
                session,
                principal=viewer.principal,
                room_id=viewer.room_id,
                message_id=message_id,
                reason=str(message.get("reason", ""))[:200],
            )
        conn.send_event({"type": "reported", "message_id": message_id, "ref": message.get("ref")})

    async def gift(conn: Connection, message: dict[str, Any]) -> None:
        viewer: RoomViewer = conn.context
        key, count = message.get("key"), message.get("count", 1)
        if not isinstance(key, str) or not is_valid_key(key):
            raise BadRequest("'key' (an idempotency key, e.g. a UUID) is required")
        if not isinstance(count, int) or isinstance(count, bool) or not 0 < count <= 999:
            raise BadRequest("'count' must be 1 to 999")
        gift_id = _id(message, "gift_id")
        assert gift_id is not None
        if viewer.principal.user_id is None:
            raise Unauthenticated("Sign in to send gifts")
        async with db.unit_of_work() as session:
            posted = await check_send_gift(
                session,
                settings,
                engine.hub,
                engine.combos,
                principal=viewer.principal,
                room_id=viewer.room_id,
                gift_id=gift_id,
                count=count,
                key=key,
            )
        conn.send_event({"type": "gift_sent", "ref": message.get("ref"), **posted.result})

    return {
        "gift": gift,
        "chat": chat,
        "like": like,
        "delete": delete,
        "mute": sanction(SanctionKind.MUTE),
        "unmute": sanction(SanctionKind.MUTE, lift=True),
        "ban": sanction(SanctionKind.BAN),
        "unban": sanction(SanctionKind.BAN, lift=True),
        "pin": pin,
        "report": report,
    }
