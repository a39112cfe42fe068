"""Database base class, column types and the unit of work.

The request (or job, or socket message) owns the transaction: services only
``flush``; ``Database.unit_of_work`` commits on success, then releases the
queued effects and domain events; on error it rolls back and drops them.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from livecircle.kit import effects
from livecircle.kit.clock import as_utc
from livecircle.kit.events import EventBus, take_events

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UtcDateTime column")
        return as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# A pooled connection that sat idle longer than this is pinged before it is used: PostgreSQL may
# have restarted, or something on the way dropped it. One given back moments ago is not.
# SQLAlchemy's ``pool_pre_ping`` pings on every checkout (BEGIN, ";", ROLLBACK before a request's
# first query): profiled, that was a third of a flash-sale rush's statements.
IDLE_PING_SECONDS = 5.0


def _note_checkin(_dbapi_conn: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_when_idle(dialect: Dialect) -> Callable[[Any, Any, Any], None]:
    def ping(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_conn)
        except Exception as error:  # the pool replaces the connection and tries again
            raise DisconnectionError("the connection was lost while idle") from error

    return ping


def make_engine(url: str, *, server_settings: dict[str, str] | None = None) -> AsyncEngine:
    """An engine with our pool and pragmas; ``server_settings`` are PostgreSQL settings for
    each of its connections (ignored on SQLite)."""
    # Pools big enough for a busy node's steady state: connections opened beyond ``pool_size``
    # are closed when given back, and a rush that keeps opening them spends its time on
    # connection set-up (profiled: a flash-sale rush of 64 clients did 30 requests/s so).
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 10}, pool_size=16, max_overflow=8)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    connect_args = {"server_settings": server_settings} if server_settings else {}
    engine = create_async_engine(url, pool_size=32, max_overflow=8, connect_args=connect_args)
    event.listen(engine.sync_engine, "checkin", _note_checkin)
    event.listen(engine.sync_engine, "checkout", _ping_when_idle(engine.dialect))
    return engine


class Database:
    def __init__(self, url: str, bus: EventBus | None = None) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.bus = bus or EventBus()
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        # Work done inside the transaction just before it commits (the analytics outbox).
        self.before_commit: list[Callable[[AsyncSession], Awaitable[None]]] = []

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """One transaction; effects and events are released only after it commits."""
        async with self.sessionmaker() as session:
            try:
                yield session
                for hook in self.before_commit:
                    await hook(session)
                await session.commit()
            except BaseException:
                await session.rollback()
                effects.drop(session)
                raise
            await self.release(session)

    async def warm(self) -> int:
        """Open the pool's steady number of connections now (PostgreSQL): a fresh node's first
        burst of requests otherwise opens them one by one while it serves (profiled: the first
        64 buyers of a rush waited ~100 ms behind 32 connection set-ups). Returns how many."""
        if self.engine.dialect.name != "postgresql":
            return 0
        pool: Any = self.engine.pool
        opened = [self.engine.connect() for _ in range(pool.size())]
        await asyncio.gather(*(conn.start() for conn in opened))
        await asyncio.gather(*(conn.close() for conn in opened))
        return len(opened)

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[AsyncConnection]:
        """A connection outside any transaction, for one read on a hot path: no ORM session and
        no BEGIN / COMMIT round trips (profiled: an API token's lookup cost 1.4 ms of CPU in a
        unit of work, 0.5 ms here). Nothing written here waits for a commit: read only."""
        async with self._autocommit.connect() as conn:
            yield conn

    async def release(self, session: AsyncSession) -> None:
        await effects.release(session)
        for domain_event in take_events(session):
            await self.bus.publish(domain_event)

    async def dispose(self) -> None:
        await self.engine.dispose()


def dialect_insert(session: AsyncSession, table: type[Any]) -> Any:
    """INSERT with the backend's ON CONFLICT support (PostgreSQL or SQLite)."""
    return dialect_insert_for(session.get_bind().dialect.name, table)


def dialect_insert_for(dialect: str, table: type[Any] | Table) -> Any:
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


_sqlite_writers: weakref.WeakKeyDictionary[Engine, asyncio.Lock] = weakref.WeakKeyDictionary()
_WRITER_LOCK = "kit.sqlite_writer"


def sqlite_writer(engine: Engine) -> asyncio.Lock:
    """The lock this process's writers take in turn on a SQLite database."""
    return _sqlite_writers.setdefault(engine, asyncio.Lock())


async def one_sqlite_writer(session: AsyncSession) -> None:
    """SQLite has one writer at a time, and connections that wait for it sleep in its busy
    handler with growing back-off: a thousand concurrent writers then crawl (and a read that
    turns into a write fails on a stale snapshot). Contended writers of this process queue on
    an asyncio lock instead, taken before the transaction's first write and held until it
    ends. A transaction that has written already goes on without it (it holds SQLite's lock).
    A no-op on other databases."""
    bind = session.get_bind()
    if bind.dialect.name != "sqlite" or session.info.get(_WRITER_LOCK) is not None:
        return
    # Hold a connection before queueing for the lock: a lock holder waiting for the pool
    # while the pool's connections wait for the lock would deadlock.
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    if raw.driver_connection is not None and raw.driver_connection.in_transaction:
        # This transaction has written already, so it holds SQLite's write lock: queueing now
        # behind a lock holder that waits for SQLite would deadlock until the busy timeout.
        return
    lock = sqlite_writer(bind.engine)
    await lock.acquire()
    session.info[_WRITER_LOCK] = lock

    def release(_session: Any, transaction: Any) -> None:
        if transaction.parent is not None:  # a savepoint ended; the transaction goes on
            return
        held = session.info.pop(_WRITER_LOCK, None)
        if held is not None:
            held.release()

    event.listen(session.sync_session, "after_transaction_end", release)
