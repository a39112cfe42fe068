"""Building a member's copy of their data from the data map (PIPL art. 45, GDPR art. 15 and 20).

For every table holding rows of theirs (``privacy.subjects``): the row ids, the row's times
and its tagged personal columns, grouped by table and by data-map category. Credentials
(password and token hashes) are listed as present, never exported. In a row that is theirs
only as a secondary party (an ``Erase.ANONYMISE`` link: they invited someone, they resolved
a report), only that link and the row's ids and times are theirs to see.

The archive is a zip: ``data.json`` (everything) and one CSV per table.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Date, DateTime, MetaData, Table, case, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.kit.clock import utcnow
from livecircle.kit.db import UtcDateTime
from livecircle.privacy import kit_tags
from livecircle.privacy.datamap import Category, Erase, Personal, tag_of
from livecircle.privacy.subjects import Link, Subject, aliases_of, links, walk_tables

FORMAT = "livecircle.export/1"
PRESENT = "present, not exported"
assert kit_tags.TAGS  # the kit tables are tagged before the map is walked


async def collect(session: AsyncSession, metadata: MetaData, user_id: int) -> dict[str, Any]:
    """The member's data as one JSON-ready document."""
    subject = Subject(user_id, frozenset(await aliases_of(session, metadata, user_id)))
    tables: dict[str, Any] = {}
    for table in sorted(walk_tables(metadata), key=lambda t: t.name):
        found = links(table, subject)
        if found:
            part = await _table(session, table, found)
            if part["rows"]:
                tables[table.name] = part
    return {
        "format": FORMAT,
        "generated_at": utcnow().isoformat(),
        "subject": {"user_id": user_id, "aliases": sorted(subject.aliases)},
        "categories": _categories(tables),
        "tables": tables,
    }


async def _table(session: AsyncSession, table: Table, found: list[Link]) -> dict[str, Any]:
    flags = [case((link.condition, 1), else_=0).label(f"_by_{link.column.name}") for link in found]
    query = select(table, *flags).where(or_(*(link.condition for link in found)))
    keys = [c.name for c in table.primary_key.columns]
    rows, secrets, used = [], set(), set()
    for raw in (await session.execute(query.order_by(*table.primary_key.columns))).mappings():
        full = any(raw[f"_by_{link.column.name}"] and link.tag.erase != Erase.ANONYMISE for link in found)
        by = [link.column for link in found if raw[f"_by_{link.column.name}"]]
        row: dict[str, Any] = {}
        for column in table.columns:
            tag = tag_of(column)
            if tag is not None and tag.secret:
                secrets.add(column.name)
            elif _shown(column, tag, full=full, by=by):
                row[column.name] = _json(raw[column.name])
                used.add(column.name)
        rows.append(row)
    return {
        "key": keys,
        "columns": {column.name: _describe(column) for column in table.columns if column.name in used},
        "secrets": dict.fromkeys(sorted(secrets), PRESENT),
        "rows": rows,
    }


def _shown(column: Column[Any], tag: Personal | None, *, full: bool, by: list[Column[Any]]) -> bool:
    if column.primary_key or _is_time(column):
        return True
    if tag is None:
        return False
    mine = any(c is column for c in by)
    if full:
        return mine or not tag.subject  # other people's ids are theirs, not the member's
    return mine


def _is_time(column: Column[Any]) -> bool:
    return isinstance(column.type, (UtcDateTime, DateTime, Date))


def _describe(column: Column[Any]) -> dict[str, Any]:
    tag = tag_of(column)
    if tag is None:
        return {"kind": "key" if column.primary_key else "time"}
    return {"category": tag.category.value, "purpose": tag.purpose, "retention": tag.retention}


def _categories(tables: dict[str, Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {c.value: [] for c in Category}
    for name, part in tables.items():
        for described in part["columns"].values():
            category = described.get("category")
            if category and name not in found[category]:
                found[category].append(name)
        if part["secrets"] and name not in found[Category.CREDENTIALS.value]:
            found[Category.CREDENTIALS.value].append(name)
    return {category: names for category, names in found.items() if names}


def _json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def write_archive(path: Path, document: dict[str, Any]) -> int:
    """The zip: ``data.json`` and ``<table>.csv`` per table; returns its size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(document, ensure_ascii=False, indent=2, default=str))
        for name, part in document["tables"].items():
            archive.writestr(f"{name}.csv", _csv(part))
    return path.stat().st_size


def _csv(part: dict[str, Any]) -> str:
    columns = list(dict.fromkeys(name for row in part["rows"] for name in row))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in part["rows"]:
        writer.writerow([_cell(row.get(name)) for name in columns])
    return "\ufeff" + out.getvalue()  # a BOM: spreadsheet apps then read the Chinese right


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else value
