"""Domain events: frozen past-tense facts, released only after commit.

Services call ``emit(session, SomethingHappened(...))``; the unit of work hands
queued events to the ``EventBus`` once the transaction has committed, so a
subscriber never sees a fact that was rolled back. Higher layers subscribe to
events of lower ones; that is how effects flow upward without imports.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """Base class of every domain event."""


Handler = Callable[[Any], Awaitable[None]]


class EventBus:
    def __init__(self) -> None:
        self._handlers: defaultdict[type[DomainEvent], list[Handler]] = defaultdict(list)

    def subscribe(self, event_type: type[DomainEvent], handler: Handler) -> None:
        self._handlers[event_type].append(handler)

    async def publish(self, event: DomainEvent) -> None:
        for handler in self._handlers.get(type(event), ()):
            try:
                await handler(event)
            except Exception:
                # One failing subscriber must not hide the event from the others.
                log.exception("event handler %s failed for %r", handler, event)


def emit(session: AsyncSession, event: DomainEvent) -> None:
    """Queue ``event`` for release after the session's transaction commits."""
    session.info.setdefault("events", []).append(event)


def take_events(session: AsyncSession) -> list[DomainEvent]:
    events: list[DomainEvent] = session.info.pop("events", [])
    return events
