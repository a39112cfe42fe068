"""Points for chatting: each stored, visible line of a signed-in member earns the ``chat`` rule.

The chat writer hands over the lines it has committed; they are paid here a
moment later, off the chat path, each under the key ``chat:{message_id}`` (so a
line never pays twice) within the rule's daily cap, which the economy holds in
the database. A member who reached today's cap is remembered until the day
changes, so their further lines cost no database work.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from livecircle.config import EconomySettings, Settings
from livecircle.economy import points
from livecircle.kit.background import Periodic
from livecircle.kit.db import Database

RULE = "chat"


class ChatEarnings:
    def __init__(
        self, db: Database, settings: Settings, *, interval: float = 1.0, max_pending: int = 100_000
    ) -> None:
        self.db = db
        self.settings = settings
        self.max_pending = max_pending
        self.pending: list[dict[str, Any]] = []
        self.paid = 0
        self._capped: set[tuple[int, int]] = set()  # (tenant, user) at today's cap
        self._day: date | None = None
        self._lock = asyncio.Lock()  # a flush returns only once the lines it found are paid
        self._loop = Periodic("chat-earnings", interval, self.flush, final=self.flush)

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    def stored(self, rows: list[dict[str, Any]]) -> None:
        """Lines the chat writer has committed (any status; only visible members' lines pay)."""
        self.pending.extend(
            row
            for row in rows
            if row["status"] == "visible" and row["user_id"] is not None and row["kind"] == "chat"
        )
        if len(self.pending) > self.max_pending:
            del self.pending[: len(self.pending) - self.max_pending]

    async def flush(self) -> None:
        """Pay every pending line now, after any flush already paying (the timer's or a caller's)."""
        rules = self.settings.economy
        async with self._lock:
            if RULE not in rules.points.earn:
                self.pending.clear()
                return
            lines, self.pending = self.pending, []
            for done, row in enumerate(lines):
                try:
                    await self._pay(rules, row)
                except Exception:
                    self.pending[:0] = lines[done:]  # kept for the next flush (the key stops a double pay)
                    raise

    async def _pay(self, rules: EconomySettings, row: dict[str, Any]) -> None:
        """One line's points, counted in the UTC day the line was sent."""
        who = (row["tenant_id"], row["user_id"])
        day = row["created_at"].date()
        if day != self._day:
            self._day, self._capped = day, set()
        if who in self._capped:
            return
        earned = await points.award(
            self.db,
            rules,
            tenant_id=row["tenant_id"],
            user_id=row["user_id"],
            rule=RULE,
            key=f"chat:{row['id']}",
            now=row["created_at"],
            room_id=row["room_id"],
            show_id=row["show_id"],
        )
        if earned is None:
            self._capped.add(who)
        else:
            self.paid += earned.points
