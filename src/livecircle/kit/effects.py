"""Side effects (broadcasts, jobs) queued during a unit of work, run after commit.

A rollback drops them: nobody is told about something that did not happen.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)

Effect = Callable[[], Awaitable[None]]


def defer(session: AsyncSession, effect: Effect) -> None:
    """Run ``effect`` once the current transaction has committed."""
    session.info.setdefault("effects", []).append(effect)


def drop(session: AsyncSession) -> None:
    session.info.pop("effects", None)
    session.info.pop("events", None)


async def release(session: AsyncSession) -> None:
    effects: list[Effect] = session.info.pop("effects", [])
    for effect in effects:
        try:
            await effect()
        except Exception:
            log.exception("after-commit effect %r failed", effect)
