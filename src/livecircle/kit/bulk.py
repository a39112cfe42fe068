"""Many rows in one statement: INSERT and UPDATE from column arrays on PostgreSQL.

SQLAlchemy's executemany processes every parameter of every row in Python. On
PostgreSQL each column goes instead as one array (encoded by asyncpg) into
``unnest``, so a thousand rows cost about what one does. Other backends get
the executemany. Python-side column defaults are applied as an INSERT would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import JSON, Column, Table, TextClause, bindparam, insert, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from livecircle.kit.db import dialect_insert_for

# PostgreSQL statements by (kind, table, columns, key columns): built once (a few dozen shapes).
_statements: dict[tuple[str, Table, tuple[str, ...], tuple[str, ...]], TextClause] = {}


async def insert_rows(
    conn: AsyncConnection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    skip_conflicts: Sequence[str] = (),
) -> None:
    """Insert ``rows`` (each with the same keys); missing columns get their Python default.
    With ``skip_conflicts`` (the columns of a unique index), a row that would repeat one is
    left out (``ON CONFLICT DO NOTHING``)."""
    if not rows:
        return
    given = list(rows[0])
    defaults = {
        column.name: _default(column)
        for column in table.columns
        if column.name not in given and column.default is not None
    }
    if conn.dialect.name != "postgresql":
        statement = insert(table)
        if skip_conflicts:
            statement = dialect_insert_for(conn.dialect.name, table).on_conflict_do_nothing(
                index_elements=list(skip_conflicts)
            )
        await conn.execute(statement, [{**defaults, **row} for row in rows])
        return
    names = (*given, *defaults)
    arrays = {f"c{i}": _array(table.columns[name], rows, name, defaults) for i, name in enumerate(names)}
    key = ("insert", table, names, tuple(skip_conflicts))
    if (prepared := _statements.get(key)) is None:
        columns = ", ".join(f'"{name}"' for name in names)
        unnested = ", ".join(_unnest_arg(conn, table.columns[name], f"c{i}") for i, name in enumerate(names))
        # Identifiers come from the table's metadata (``table.columns[name]`` refuses others).
        sql = f'INSERT INTO "{table.name}" ({columns}) SELECT * FROM unnest({unnested})'  # noqa: S608
        if skip_conflicts:
            sql += " ON CONFLICT ({}) DO NOTHING".format(
                ", ".join(f'"{table.columns[c].name}"' for c in skip_conflicts)
            )
        prepared = _statements[key] = text(sql)
    await conn.execute(prepared, arrays)


async def update_rows(
    conn: AsyncConnection, table: Table, keys: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> None:
    """Set the other columns of each row where its ``keys`` columns match (same keys in each row)."""
    if not rows:
        return
    names = list(rows[0])
    values = [name for name in names if name not in keys]
    if conn.dialect.name != "postgresql":
        statement = update(table).values({name: bindparam(f"v_{name}") for name in values})
        for key in keys:
            statement = statement.where(table.columns[key] == bindparam(f"k_{key}"))
        await conn.execute(
            statement,
            [{(f"k_{n}" if n in keys else f"v_{n}"): value for n, value in row.items()} for row in rows],
        )
        return
    arrays = {f"c{i}": _array(table.columns[name], rows, name, {}) for i, name in enumerate(names)}
    cache_key = ("update", table, tuple(names), tuple(keys))
    if (prepared := _statements.get(cache_key)) is None:
        unnested = ", ".join(_unnest_arg(conn, table.columns[name], f"c{i}") for i, name in enumerate(names))
        assignments = ", ".join(f'"{name}" = v."{name}"' for name in values)
        matches = " AND ".join(f't."{key}" = v."{key}"' for key in keys)
        aliases = ", ".join(f'"{name}"' for name in names)
        sql = (
            f'UPDATE "{table.name}" AS t SET {assignments} '  # noqa: S608 - identifiers from the metadata
            f"FROM unnest({unnested}) AS v({aliases}) WHERE {matches}"
        )
        prepared = _statements[cache_key] = text(sql)
    await conn.execute(prepared, arrays)


def _default(column: Column[Any]) -> Any:
    default: Any = column.default
    return default.arg(None) if default.is_callable else default.arg


def _array(
    column: Column[Any], rows: Sequence[Mapping[str, Any]], name: str, defaults: Mapping[str, Any]
) -> list[Any]:
    values = [row[name] if name in row else defaults[name] for row in rows]
    if isinstance(column.type, JSON):
        return [None if value is None else orjson.dumps(value).decode() for value in values]
    return values


def _unnest_arg(conn: AsyncConnection, column: Column[Any], param: str) -> str:
    if isinstance(column.type, JSON):
        return f"CAST(CAST(:{param} AS text[]) AS json[])"
    sql_type = column.type.compile(dialect=conn.dialect)
    return f"CAST(:{param} AS {sql_type}[])"
