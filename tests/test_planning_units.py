"""Planning's pure parts and its schema: the n-gram keyword finder on Chinese chat, the month
arithmetic, and the migration that matches the planning models (and the alert rule's show)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from livecircle.analytics.planning.calendar import month_range, shift
from livecircle.analytics.planning.errors import BadMonth
from livecircle.analytics.planning.keywords import terms, top_keywords
from livecircle.kit.db import Base
from livecircle.models_registry import load_all
from tests.conftest import migrate

load_all()
PLANNING_TABLES = (
    "analytics_plan_topic",
    "analytics_plan_suggestion",
    "analytics_plan_show",
    "analytics_plan_month_target",
    "analytics_plan_kpi_default",
    "analytics_alert_rule",
)


def test_keywords_are_what_viewers_keep_naming_not_fillers() -> None:
    lines = [
        ("这支口红是什么色号", 1),
        ("口红会不会拔干", 1),
        ("求链接口红", 2),
        ("主播好美", 1),
        ("主播好美", 2),
        ("主播好美", 2),
        ("不粘锅好用吗", 1),
        ("不粘锅怎么洗 加我微信 13912345678", 2),
        ("求不粘锅链接", 1),
        ("I love this Lipstick", 1),
        ("lipstick shade?", 2),
        ("LIPSTICK please", 2),
        ("哈哈哈哈", 1),
    ]
    found = {k.word: k for k in top_keywords(lines, min_lines=3)}
    assert set(found) == {"口红", "不粘锅", "lipstick"}
    assert (found["口红"].lines, sorted(found["口红"].shows)) == (3, [1, 2])
    # A line with contact details is counted, never quoted.
    assert found["不粘锅"].lines == 3
    assert found["不粘锅"].examples == ["不粘锅好用吗", "求不粘锅链接"]


def test_a_phrase_wins_over_its_parts_and_particles_break_words() -> None:
    lines = [(text, 1) for text in ("口红试色来一个", "想看口红试色", "口红试色呢", "口红试色吧")]
    assert [k.word for k in top_keywords(lines, min_lines=3)] == ["口红试色"]
    assert "红的" not in terms("口红的颜色")
    assert "口红" in terms("口红的颜色")


def test_months() -> None:
    start, end = month_range("2031-12")
    assert (start.isoformat(), end.isoformat()) == ("2031-12-01T00:00:00+00:00", "2032-01-01T00:00:00+00:00")
    assert (shift("2031-01", -1), shift("2031-12", 1)) == ("2030-12", "2032-01")
    for bad in ("2031-13", "2031-00", "31-01", "1999-01"):
        with pytest.raises(BadMonth):
            month_range(bad)


def test_the_planning_tables_match_their_migration(tmp_path: Path) -> None:
    path = tmp_path / "schema.db"
    migrate(f"sqlite+aiosqlite:///{path}")
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    mine = [d for d in diff if any(name in repr(d) for name in PLANNING_TABLES)]
    assert mine == []
