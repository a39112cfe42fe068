"""Gifts in a live room: the economy moves the coins, this part tells the room.

A gift is debited, shared and recorded by ``economy`` in one transfer; once
it has committed, its effect goes to every viewer as a ``gift`` event that the
overload policy never samples away (``pri``). Repeats of the same gift by the
same viewer within ``combo_seconds`` count up a combo (x2, x3 …).
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.config import Settings
from livecircle.economy import service as economy_service
from livecircle.economy.gift_send import GiftSend
from livecircle.economy.ledger import Posted
from livecircle.identity.schemas import Principal
from livecircle.kit import effects
from livecircle.kit.errors import Forbidden
from livecircle.live import service as live_service
from livecircle.realtime.hub import Hub


class Combos:
    """The running combo of each (room, viewer, gift) on this node."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._last: dict[tuple[int, int, int], tuple[float, int]] = {}

    def next(self, room_id: int, user_id: int, gift_id: int, count: int) -> int:
        key = (room_id, user_id, gift_id)
        now = time.monotonic()
        last = self._last.get(key)
        combo = (last[1] if last and now - last[0] <= self.seconds else 0) + count
        self._last[key] = (now, combo)
        if len(self._last) > 100_000:  # forget the oldest half
            for stale in sorted(self._last, key=lambda k: self._last[k][0])[:50_000]:
                del self._last[stale]
        return combo


async def check_send_gift(
    session: AsyncSession,
    settings: Settings,
    hub: Hub,
    combos: Combos,
    *,
    principal: Principal,
    room_id: int,
    gift_id: int,
    count: int,
    key: str,
) -> Posted:
    """Send a gift to the room's host; its effect reaches the room after commit.

    Raises RoomNotFound, Forbidden (another brand's room) and the economy's errors.
    """
    assert principal.user_id is not None
    room = await live_service.access_room(session, principal, room_id)
    if principal.tenant_id != room.tenant_id:
        raise Forbidden("Gifts in this room are paid with coins of its own community")
    show = await live_service.get_live_show(session, room.id)
    posted = await economy_service.do_send_gift(
        session,
        settings.economy,
        GiftSend(
            tenant_id=room.tenant_id,
            user_id=principal.user_id,
            host_id=room.owner_id,
            gift_id=gift_id,
            count=count,
            key=key,
            room_id=room.id,
            show_id=show.id if show else None,
        ),
    )
    if not posted.replayed:
        gift: dict[str, Any] = posted.result["gift"]
        event = {
            "type": "gift",
            "pri": 1,  # gifts are always delivered
            "user_id": principal.user_id,
            "display_name": principal.display_name,
            "gift": gift,
            "count": count,
            "amount": posted.result["amount"],
            "currency": posted.result["currency"],
        }

        async def broadcast() -> None:
            combo = combos.next(room.id, principal.user_id or 0, int(gift["id"]), count)
            await hub.publish(f"room:{room.id}", {**event, "combo": combo})

        effects.defer(session, broadcast)
    return posted
