"""The DuckDB replica's loads: rows already held are skipped (a re-read adds nothing), and the
daily rollup moves with every load exactly as a full rebuild from the events would make it. Its
sync on PostgreSQL: a row that commits after a newer one was copied is still copied, and rows
copied once are not read again."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from livecircle.analytics.store import EventStore, connect, load_rows, rebuild_rollups
from livecircle.identity import service as identity_service
from livecircle.kit.db import Database
from livecircle.kit.tracking import event_row, insert_rows

DAY = datetime(2026, 11, 1, 23, 59)


def rows(first: int, last: int) -> list[dict[str, Any]]:
    kinds = ("chat", "like", "gift", "order_paid")
    made = []
    for seq in range(first, last + 1):
        row = event_row(
            kinds[seq % 4],
            event_id=f"e{seq}",
            ts=DAY + timedelta(minutes=seq % 3),  # some on the 1st, some on the 2nd
            tenant_id=1 + seq % 2,
            user_id=seq % 7 or None,
            anon_id=None if seq % 7 else f"device-{seq}",
            amount=seq if seq % 4 >= 2 else None,
        )
        made.append({**row, "seq": seq})
    return made


def test_loads_skip_rows_held_and_keep_the_daily_rollup_exact() -> None:
    con = connect()
    assert load_rows(con, rows(1, 60)) == 60
    assert load_rows(con, rows(41, 100)) == 40  # 41-60 re-read: skipped
    assert load_rows(con, rows(1, 100)) == 0
    assert con.execute("SELECT count(*), count(DISTINCT seq) FROM events").fetchall() == [(100, 100)]
    kept = con.execute("SELECT * FROM rollup_daily ORDER BY ALL").fetchall()
    expected = con.execute(
        "SELECT tenant_id, CAST(ts AS DATE), type, count(*), coalesce(sum(amount), 0) "
        "FROM events GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    assert kept == expected
    assert {day.day for _, day, *_ in kept} == {1, 2}
    rebuild_rollups(con)
    assert con.execute("SELECT * FROM rollup_daily ORDER BY ALL").fetchall() == expected


@pytest.fixture
async def synced(pg_url: str) -> AsyncIterator[tuple[Database, EventStore, int, list[int]]]:
    db = Database(pg_url)
    store = EventStore(db)
    read: list[int] = []
    real = store._read_since

    async def counted(cursor: int) -> list[dict[str, Any]]:
        found = await real(cursor)
        read.append(len(found))
        return found

    store._read_since = counted  # type: ignore[method-assign]
    async with db.unit_of_work() as session:
        tenant = (await identity_service.ensure_tenant(session, slug="replica", name="replica")).id
    await store.sync()
    try:
        yield db, store, tenant, read
    finally:
        await store.close()
        await db.dispose()


async def held(store: EventStore, *event_ids: str) -> set[str]:
    wanted = list(event_ids)
    found = await store.run(
        lambda con: con.execute("SELECT event_id FROM events WHERE event_id IN ?", [wanted]).fetchall()
    )
    return {event_id for (event_id,) in found}


async def test_a_row_committed_after_a_newer_one_was_copied_is_still_copied(
    synced: tuple[Database, EventStore, int, list[int]],
) -> None:
    db, store, tenant, _ = synced
    late, early = f"late-{uuid.uuid4()}", f"early-{uuid.uuid4()}"
    async with db.sessionmaker() as slow:
        await insert_rows(slow, [event_row("like", tenant_id=tenant, event_id=late)])  # its seq first
        async with db.unit_of_work() as session:
            await insert_rows(session, [event_row("like", tenant_id=tenant, event_id=early)])
        await store.sync()
        assert await held(store, late, early) == {early}
        await slow.commit()
    await store.sync()
    assert await held(store, late, early) == {late, early}


async def test_rows_copied_once_are_not_read_again(
    synced: tuple[Database, EventStore, int, list[int]],
) -> None:
    db, store, tenant, read = synced
    async with db.unit_of_work() as session:
        await insert_rows(session, [event_row("like", tenant_id=tenant) for _ in range(300)])
    read.clear()
    await store.sync()
    await store.sync()
    assert read == [300, 0]
