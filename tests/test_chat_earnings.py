"""Chat points are paid off the chat path on a timer; a caller's flush (a test settling the
chat, the shutdown) must not return while the timer's flush is still paying lines it took."""

from __future__ import annotations

import asyncio
import itertools

from livecircle.interaction.earnings import ChatEarnings
from livecircle.kit.clock import utcnow
from tests.conftest import Account, RunningServer
from tests.test_economy import _tenant_id

_ids = itertools.count(9_000_000_000)


async def test_a_flush_waits_for_the_flush_already_paying(server: RunningServer, viewer: Account) -> None:
    tenant_id = await _tenant_id(server, viewer)
    earnings = ChatEarnings(server.db, server.settings)
    now = utcnow()
    line = {"status": "visible", "kind": "chat", "tenant_id": tenant_id, "user_id": viewer.user_id}
    earnings.stored(
        [line | {"id": next(_ids), "created_at": now, "room_id": None, "show_id": None} for _ in range(3)]
    )
    earnings.stored([line | {"id": next(_ids), "status": "held", "created_at": now} for _ in range(2)])
    timer = asyncio.create_task(earnings.flush())  # the timer's flush takes the lines and starts paying
    await asyncio.sleep(0)
    await earnings.flush()
    assert earnings.paid == 3 * server.settings.economy.points.earn["chat"].points
    await timer
