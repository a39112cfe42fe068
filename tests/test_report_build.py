"""The report's building blocks on a DuckDB replica in memory: peak and burst rules, speed on
millions of other shows' events, and a PDF that survives characters outside its font."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from livecircle.analytics.report import build, service
from livecircle.analytics.report.document import render_html
from livecircle.analytics.report.formulas import INTERACTIONS
from livecircle.analytics.report.pdf import MISSING, clean, render_pdf
from livecircle.analytics.store import connect, load_rows
from livecircle.kit.clock import utcnow
from livecircle.kit.tracking import event_row
from tests import services

SHOW, TENANT, ROOM = 7, 1, 3
U1, U2, U3, U4 = 900_001, 900_002, 900_003, 900_004  # outside the noise's user ids


def planted(start: datetime) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def ev(kind: str, minute: int, **fields: Any) -> None:
        ts = start + timedelta(minutes=minute, seconds=5)
        row = event_row(kind, tenant_id=TENANT, room_id=ROOM, show_id=SHOW, ts=ts, **fields)
        rows.append(row | {"seq": len(rows) + 1})

    for user in (U1, U2, U3, U4):
        ev("view_start", 0, user_id=user)
    ev("view_start", 1, anon_id="a-1")
    for minute, online in ((0, 2), (1, 5)):
        ev("online_sample", minute, amount=online)
    ev("like", 2, user_id=U1, amount=20)
    ev("chat", 6, user_id=U2)
    ev("gift", 9, user_id=U3, amount=30, props={"count": 3, "currency": "coin"})
    ev("lottery_started", 8)
    ev("flash_sale", 5, props={"sale_id": 1})
    ev("product_click", 5, user_id=U1, props={"product_id": 11})
    ev("order_placed", 6, user_id=U1, amount=1000, props={"order_id": 1, "product_id": 11})
    ev("order_paid", 7, user_id=U1, amount=1000, props={"order_id": 1})
    ev("follow", 3, user_id=U4)
    return rows


def context(start: datetime, **fields: Any) -> build.ShowContext:
    return build.ShowContext(
        show_id=SHOW,
        tenant_id=TENANT,
        title="数码专场 📱 𠀋",
        room_id=ROOM,
        room_title="数码间",
        category="数码",
        host_id=1,
        host_name="主播",
        started_at=start,
        ended_at=start + timedelta(minutes=12),
        as_of=utcnow(),
        **fields,
    )


def noise(con: duckdb.DuckDBPyConnection, count: int) -> None:
    """``count`` events of 2,000 other shows of the same tenant, interleaved, over 90 days."""
    con.execute(
        """
        INSERT INTO events
        SELECT i + 1000000, 'n' || i, TIMESTAMP '2026-08-01' + to_seconds(i % 7776000), 1,
          (['view_start', 'chat', 'like', 'gift', 'product_click', 'order_placed', 'order_paid',
            'online_sample', 'view_end', 'share'])[1 + (i // 2000) % 10],
          CASE WHEN i % 7 = 0 THEN NULL ELSE i % 200000 END,
          CASE WHEN i % 7 = 0 THEN 'a' || (i % 50000) ELSE NULL END,
          1 + i % 300, 10000 + (i % 2000), i % 1000,
          '{"product_id": ' || (i % 500) || ', "order_id": ' || i || ', "count": 1, "currency": "coin"}'
        FROM range(?) t(i)
        """,
        [count],
    )


def test_peaks_are_apart_and_annotated_with_actions_and_bursts() -> None:
    totals = [0, 9, 8, 0, 0, 6, 0, 0, 5, 1]
    gifts = [0, 0, 0, 0, 0, 6, 0, 0, 0, 0]
    minutes = [
        {"minute": m, "total": t, "gifts": g} for m, (t, g) in enumerate(zip(totals, gifts, strict=True))
    ]
    actions = [
        {"minute": 0, "type": "poll_started", "props": {}},
        {"minute": 7, "type": "coupon_drop", "props": {}},
    ]
    peaks = build.peaks(minutes, actions, bursts=[5])
    assert [(p["minute"], p["total"]) for p in peaks] == [(1, 9), (5, 6), (8, 5)]  # 2 is next to 1
    assert [[c["type"] for c in p["causes"]] for p in peaks] == [
        ["poll_started"],
        ["gift_burst"],
        ["coupon_drop"],
    ]
    assert build.peaks([{"minute": 0, "total": 0, "gifts": 0}], [], []) == []


def test_sql_lists_match_the_documented_types() -> None:
    for kind in INTERACTIONS:
        assert f"'{kind}'" in build._DOERS
    for kind in build.HOST_ACTIONS:
        assert f"'{kind}'" in build._ACTIONS


def test_a_report_among_many_other_events_is_unchanged() -> None:
    # How fast it is among millions lives in bench/analytics (docs/benchmarks.md), not here.
    start = utcnow().replace(microsecond=0) - timedelta(minutes=20)
    alone, crowded = connect(), connect()
    for con in (alone, crowded):
        load_rows(con, planted(start))
    noise(crowded, 300_000)
    previous = [{"show_id": 10_001, "title": "上一场", "ended_at": None, "figures": None}]
    ctx = context(start, previous=previous, targets={"orders": 2})
    expected = build.compute(alone, ctx)
    data = build.compute(crowded, ctx)
    for section in (
        "figures",
        "curve",
        "interaction",
        "funnel",
        "products",
        "segments",
        "formulas",
        "targets",
    ):
        assert data[section] == expected[section], section
    comments = next(r for r in data["comparison"]["rows"] if r["metric"] == "comments")
    assert comments["mean"] == 15  # show 10001 holds 150 noise events, one in ten a chat line
    assert [s["people"] for s in data["funnel"]["steps"]] == [5, 1, 1, 1]
    assert data["interaction"]["gift_bursts"] == [9]
    assert [c["type"] for p in data["interaction"]["peaks"] for c in p["causes"]] == [
        "lottery_started",
        "gift_burst",
        "flash_sale",
    ]
    mix = {m["stage"]: m["count"] for m in data["segments"]["mix"]}
    assert (mix["converted"], mix["new"]) == (1, 3)
    assert crowded.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchall()[0][0] == 0


def test_the_pdf_replaces_characters_outside_its_font(tmp_path: Path) -> None:
    assert clean("面霜 📱 𠀋 ok") == f"面霜 {MISSING} {MISSING} ok"
    start = utcnow() - timedelta(minutes=20)
    con = connect()
    load_rows(con, planted(start))
    data = build.compute(con, context(start))
    data["products"][0]["name"] = "手机壳 🎁 限量"
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(render_pdf(data))  # a missing glyph would warn, and warnings are errors here
    assert "数码专场" in render_html(data)
    services.require("poppler-utils", bool(shutil.which("pdftotext")), "apt install poppler-utils")
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], check=True, capture_output=True, timeout=60
    ).stdout.decode()
    assert f"数码专场 {MISSING} {MISSING}" in text
    assert f"手机壳 {MISSING} 限量" in text


def test_every_csv_table_has_its_columns() -> None:
    start = utcnow() - timedelta(minutes=20)
    con = connect()
    load_rows(con, planted(start))
    data = build.compute(con, replace(context(start), targets={"viewers": 4}))
    for table, columns in service.CSV_TABLES.items():
        lines = service.export_csv(data, table).lstrip("\ufeff").splitlines()
        assert lines[0] == ",".join(columns), table
        assert len(lines) > 1, table
    with pytest.raises(service.UnknownTable):
        service.export_csv(data, "nope")
