"""Each tenant's word filter: the shipped default list plus the operator's words.

Filters are immutable; a change builds a new one and swaps the reference, so a
message being checked meanwhile finishes with the old filter and none is lost.
A change made on this node applies at once (``invalidate``); other nodes notice
within ``refresh_seconds`` by comparing the list's signature.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import func, select

from livecircle.kit.cache import LoadingCache
from livecircle.kit.db import Database
from livecircle.moderation.models import ModerationWord
from livecircle.moderation.wordfilter import WordEntry, WordFilter, load_word_list, parse_action

log = logging.getLogger(__name__)
DEFAULT_LIST = Path(__file__).parent / "data" / "default_words.txt"


class FilterRegistry:
    def __init__(
        self, db: Database, *, refresh_seconds: float = 5.0, default_list: Path = DEFAULT_LIST
    ) -> None:
        self.db = db
        self.refresh_seconds = refresh_seconds
        self.defaults: list[WordEntry] = load_word_list(default_list)
        # A check every refresh_seconds runs behind the lines, which meanwhile use the filter in hand.
        self._cache: LoadingCache[int, WordFilter] = LoadingCache(refresh_seconds)
        self._built: dict[int, tuple[tuple[object, ...], WordFilter]] = {}

    def invalidate(self, tenant_id: int) -> None:
        self._cache.forget(tenant_id)
        self._built.pop(tenant_id, None)

    async def get(self, tenant_id: int) -> WordFilter:
        return await self._cache.get(tenant_id, lambda: self._load(tenant_id))

    async def _load(self, tenant_id: int) -> WordFilter:
        """The tenant's filter, rebuilt only when its word list's signature changed."""
        signature = await self._signature(tenant_id)
        built = self._built.get(tenant_id)
        if built is not None and built[0] == signature:
            return built[1]
        word_filter = WordFilter([*self.defaults, *await self._tenant_words(tenant_id)])
        self._built[tenant_id] = (signature, word_filter)
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
