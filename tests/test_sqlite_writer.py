"""SQLite's one writer: a transaction that has written without the process's writer queue and
then asks for it (an outbox insert just before commit) must not wait behind a queued writer
that is itself waiting for SQLite: that deadlocked until the 10 s busy timeout."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from livecircle.kit.db import Database, one_sqlite_writer


async def test_a_writing_transaction_never_queues_behind_a_writer_waiting_for_it(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'writer.db'}")
    try:
        async with db.unit_of_work() as session:
            await session.execute(text("CREATE TABLE t (who TEXT)"))
        first_wrote = asyncio.Event()

        async def queued_writer() -> None:
            await first_wrote.wait()
            async with db.unit_of_work() as session:
                await one_sqlite_writer(session)  # holds the queue, then waits for SQLite
                await session.execute(text("INSERT INTO t VALUES ('queued')"))

        async def early_writer() -> None:
            async with db.unit_of_work() as session:
                await session.execute(text("INSERT INTO t VALUES ('early')"))  # SQLite's lock, no queue
                first_wrote.set()
                await asyncio.sleep(0.2)  # the queued writer now holds the queue
                await one_sqlite_writer(session)  # before commit, as the analytics outbox does
                await session.execute(text("INSERT INTO t VALUES ('early, again')"))

        await asyncio.wait_for(asyncio.gather(early_writer(), queued_writer()), timeout=5)
        async with db.sessionmaker() as session:
            rows = (await session.execute(text("SELECT who FROM t ORDER BY rowid"))).scalars().all()
        assert rows == ["early", "early, again", "queued"]
    finally:
        await db.dispose()
