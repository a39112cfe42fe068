"""The DuckDB replica's loads: rows already held are skipped (a re-read of the cursor's last
seconds adds nothing), and the daily rollup moves with every load exactly as a full rebuild
from the events would make it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from livecircle.analytics.store import connect, load_rows, rebuild_rollups
from livecircle.kit.tracking import event_row

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
