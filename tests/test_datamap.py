"""The data map is complete: every column that looks personal is tagged (or says why not), every
table with personal columns can give up a member's rows to the export and the erasure, and
docs/privacy.md shows the current map. The checks are shown to fail on a table made to break
them, and the migration of the data-rights tables matches their models."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import JSON, Column, ForeignKey, Integer, MetaData, String, Table, create_engine
from typer.testing import CliRunner

from livecircle.cli import app as cli_app
from livecircle.kit.db import Base
from livecircle.models_registry import load_all
from livecircle.privacy import datamap_doc
from livecircle.privacy.datamap import (
    HOLD_STORES,
    Category,
    Erase,
    categories,
    is_linked,
    not_personal,
    personal,
    personal_columns,
    uncovered,
    untagged_suspects,
)
from livecircle.privacy.subjects import walk_tables
from tests.conftest import migrate

ROOT = Path(__file__).resolve().parents[1]
RIGHTS_TABLES = ("privacy_export", "privacy_deletion", "privacy_legal_hold", "privacy_replica_rewrite")

load_all()


def test_every_column_that_looks_personal_is_tagged_or_excused() -> None:
    assert untagged_suspects(Base.metadata) == []


def test_every_table_with_personal_columns_gives_up_a_members_rows() -> None:
    assert uncovered(Base.metadata) == []
    walked = {table.name for table in walk_tables(Base.metadata)}
    for table, column, _ in personal_columns(Base.metadata):
        assert table.name in walked or table.name in HOLD_STORES, f"{table.name}.{column.name}"


def test_the_map_covers_every_category_and_the_key_tables() -> None:
    assert categories(Base.metadata) == set(Category)
    for name in ("identity_user", "interaction_chat_message", "commerce_order", "analytics_event"):
        assert is_linked(Base.metadata.tables[name]), name
    order_user = Base.metadata.tables["commerce_order"].c.user_id.info["personal"]
    assert order_user.erase == Erase.LEGAL_HOLD
    assert Base.metadata.tables["identity_user"].c.password_hash.info["personal"].secret


def test_the_checks_catch_a_table_that_breaks_them() -> None:
    metadata = MetaData()
    Table("identity_user", metadata, Column("id", Integer, primary_key=True))
    Table(
        "shop_review",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("author_id", ForeignKey("identity_user.id")),  # names a user, untagged
        Column("body", String(500), info=personal(Category.CONTENT, "a review")),
        Column("props", JSON),  # JSON, untagged
        Column("title", String(80), info=not_personal("the product's title")),
    )
    assert untagged_suspects(metadata) == ["shop_review.author_id", "shop_review.props"]
    assert uncovered(metadata) == ["shop_review: personal columns but no subject, alias or parent column"]
    with pytest.raises(ValueError, match="say why"):
        not_personal("  ")


def test_docs_privacy_md_shows_the_current_map() -> None:
    document = (ROOT / "docs" / "privacy.md").read_text(encoding="utf-8")
    assert datamap_doc.markdown(Base.metadata) in document, (
        "docs/privacy.md is stale: run `livecircle privacy datamap --write docs/privacy.md`"
    )
    assert "## Retention" in document


def test_the_cli_prints_the_map() -> None:
    result = CliRunner().invoke(cli_app, ["privacy", "datamap"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:5] == ["table", "column", "category", "retention", "erase"]
    chat = next(line for line in lines if line.startswith("interaction_chat_message") and " text " in line)
    assert "content" in chat
    assert "delete" in chat
    assert len(lines) == 1 + len(personal_columns(Base.metadata))


def test_the_rights_tables_match_their_migration(tmp_path: Path) -> None:
    path = tmp_path / "schema.db"
    migrate(f"sqlite+aiosqlite:///{path}")
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    mine = [d for d in diff if any(name in repr(d) for name in RIGHTS_TABLES)]
    assert mine == []
