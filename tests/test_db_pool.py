"""The PostgreSQL pool pings a connection only when it sat idle: a connection the server dropped
meanwhile is replaced before a request uses it, and one given back moments ago costs nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from livecircle.kit import db as kit_db
from livecircle.kit.db import Database


def count_pings(database: Database) -> list[int]:
    pings = [0]
    dialect: Any = database.engine.dialect
    real = dialect.do_ping

    def counted(dbapi_conn: Any) -> bool:
        pings[0] += 1
        return bool(real(dbapi_conn))

    dialect.do_ping = counted
    return pings


async def backend_pid(database: Database) -> int:
    async with database.unit_of_work() as session:
        return int(await session.scalar(text("SELECT pg_backend_pid()")) or 0)


async def test_a_connection_dropped_while_idle_is_replaced_before_use(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    database, other = Database(pg_url), Database(pg_url)
    pings = count_pings(database)
    try:
        first = await backend_pid(database)
        async with other.unit_of_work() as session:  # the server (or a firewall) drops it
            await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        monkeypatch.setattr(kit_db, "IDLE_PING_SECONDS", 0.0)
        second = await backend_pid(database)
        assert second != first
        assert pings[0] >= 1
    finally:
        await database.dispose()
        await other.dispose()


async def test_a_connection_used_moments_ago_is_not_pinged(pg_url: str) -> None:
    database = Database(pg_url)
    pings = count_pings(database)
    try:
        pids = {await backend_pid(database) for _ in range(20)}
        assert len(pids) == 1  # the same pooled connection each time
        assert pings[0] == 0
    finally:
        await database.dispose()


async def test_warming_opens_the_pools_steady_connections_before_any_request(pg_url: str) -> None:
    database = Database(pg_url)
    try:
        pool: Any = database.engine.pool
        assert pool.checkedin() == 0
        assert pool.overflow() == -pool.size()  # none opened yet
        assert await database.warm() == pool.size()
        assert pool.checkedin() == pool.size()
        assert pool.overflow() == 0
        for _ in range(3):
            await backend_pid(database)
        assert pool.overflow() == 0  # served from the warm pool: no connection opened since
        assert pool.checkedin() == pool.size()
    finally:
        await database.dispose()
