"""Each tenant's word filter: the shipped default list plus the operator's words.

Filters are immutable; a change builds a new one and swaps the reference, so a
message being checked meanwhile finishes with the old filter and none is lost.
A change made on this node applies at once (``invalidate``); other nodes notice
within ``refresh_seconds`` by comparing the list's signature.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from livecircle.kit.db import Database
from livecircle.moderation.models import ModerationWord
from livecircle.moderation.wordfilter import WordEntry, WordFilter, load_word_list, parse_action

log = logging.getLogger(__name__)
DEFAULT_LIST = Path(__file__).parent / "data" / "default_words.txt"


@dataclass(slots=True)
class _Loaded:
    filter: WordFilter
    signature: tuple[object, ...]
    checked_at: float


class FilterRegistry:
    def __init__(
        self, db: Database, *, refresh_seconds: float = 5.0, default_list: Path = DEFAULT_LIST
    ) -> None:
        self.db = db
        self.refresh_seconds = refresh_seconds
        self.defaults: list[WordEntry] = load_word_list(default_list)
        self._loaded: dict[int, _Loaded] = {}

    def invalidate(self, tenant_id: int) -> None:
        self._loaded.pop(tenant_id, None)

    async def get(self, tenant_id: int) -> WordFilter:
        loaded = self._loaded.get(tenant_id)
        now = time.monotonic()
        if loaded is not None and now - loaded.checked_at < self.refresh_seconds:
            return loaded.filter
        signature = await self._signature(tenant_id)
        if loaded is not None and loaded.signature == signature:
            loaded.checked_at = now
            return loaded.filter
        word_filter = WordFilter([*self.defaults, *await self._tenant_words(tenant_id)])
        self._loaded[tenant_id] = _Loaded(word_filter, signature, now)
        return word_filter

    async def _signature(self, tenant_id: int) -> tuple[object, ...]:
        async with self.db.unit_of_work() as session:
            row = (
                await session.execute(
                    select(
                        func.count(), func.max(ModerationWord.id), func.max(ModerationWord.updated_at)
                    ).where(ModerationWord.tenant_id == tenant_id)
                )
            ).one()
        return tuple(row)

    async def _tenant_words(self, tenant_id: int) -> list[WordEntry]:
        async with self.db.unit_of_work() as session:
            rows = await session.scalars(select(ModerationWord).where(ModerationWord.tenant_id == tenant_id))
            entries = []
            for row in rows:
                try:
                    entries.append(
                        WordEntry(word=row.word, action=parse_action(row.action), category=row.category)
                    )
                except ValueError:  # stored before a stricter rule: skip it, never break chat
                    log.warning("word list entry skipped", extra={"word_id": row.id, "tenant_id": tenant_id})
            return entries
