"""Finding a data subject's rows anywhere, from the data map alone.

A row is the subject's when a column tagged ``subject`` holds their user id, a column tagged
``alias`` holds one of their device or anonymous ids, or a column tagged ``parent`` points to
a row that is theirs (a payment of their order). Their aliases are the alias values found in
the rows their id names (the anonymous ids merged into the account at sign-up).

Export and erasure both walk ``walk_tables``: every table with a linking column, children
before parents, leaving out the restricted hold stores (``datamap.HOLD_STORES``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, ColumnElement, Integer, MetaData, Table, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.privacy.datamap import (
    Personal,
    alias_columns,
    hold_store_reason,
    is_linked,
    subject_columns,
    tag_of,
)


@dataclass(frozen=True, slots=True)
class Subject:
    user_id: int
    aliases: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class Link:
    """One way a table's rows are found: the column and the condition on it."""

    column: Column[Any]
    tag: Personal
    condition: ColumnElement[bool]


def walk_tables(metadata: MetaData, *, skip: Collection[str] = ()) -> list[Table]:
    """Tables holding subjects' rows, children before parents (a parent row is still there
    when its children are found through it)."""
    return [
        table
        for table in reversed(metadata.sorted_tables)
        if is_linked(table) and hold_store_reason(table) is None and table.name not in skip
    ]


async def aliases_of(session: AsyncSession, metadata: MetaData, user_id: int) -> set[str]:
    """The device and anonymous ids merged into ``user_id`` (alias columns tagged ``source``)."""
    found: set[str] = set()
    for table in metadata.sorted_tables:
        direct = [c for c in subject_columns(table) if isinstance(c.type, Integer)]
        if not direct or hold_store_reason(table) is not None:
            continue
        mine = or_(*(c == user_id for c in direct))
        for column in alias_columns(table):
            tag = tag_of(column)
            if tag is None or not tag.source:
                continue  # e.g. the devices that opened the member's invite link: other people's
            rows = await session.scalars(select(column).where(mine, column.is_not(None)).distinct())
            found.update(str(value) for value in rows if value)
    return found


def links(table: Table, subject: Subject, *, depth: int = 0) -> list[Link]:
    """The conditions that find the subject's rows in ``table``, one per linking column."""
    found: list[Link] = []
    for column in table.columns:
        tag = tag_of(column)
        if tag is None:
            continue
        if tag.subject and isinstance(column.type, Integer):
            found.append(Link(column, tag, column == subject.user_id))
        elif tag.alias:
            condition = column.in_(sorted(subject.aliases)) if subject.aliases else false()
            found.append(Link(column, tag, condition))
        elif tag.parent and depth < 4:
            parent_rows = _parent_condition(column, subject, depth)
            if parent_rows is not None:
                found.append(Link(column, tag, parent_rows))
    return found


def _parent_condition(column: Column[Any], subject: Subject, depth: int) -> ColumnElement[bool] | None:
    fk = next(iter(column.foreign_keys), None)
    if fk is None:
        return None
    parent = fk.column.table
    parent_links = links(parent, subject, depth=depth + 1)
    if not parent_links:
        return None
    mine = or_(*(link.condition for link in parent_links))
    return column.in_(select(fk.column).where(mine))


def condition(table: Table, subject: Subject) -> ColumnElement[bool] | None:
    """Any of the table's links: the subject's rows, or None when nothing links them."""
    found = links(table, subject)
    return or_(*(link.condition for link in found)) if found else None


def primary_key(table: Table) -> list[Column[Any]]:
    return list(table.primary_key.columns)
