"""What a personal value becomes when its row stays but its subject is erased.

- an id naming the subject (a ``subject`` column): their keyed pseudonym (a negative integer,
  ``privacy.pseudonym``) when the row is kept by law or the column may not be empty, else NULL;
- a device or anonymous id (an ``alias`` column): the subject's text pseudonym (``p:`` + hex),
  so per-person counts in analytics still hold;
- an e-mail: ``erased-<n>@invalid``; a name: "已注销用户" / "deleted user";
- a unique or key-like text (idempotency keys, dedupe keys, event ids): ``erased:<row id>``,
  unique like the value it replaces and derived from nothing personal;
- other text: NULL, or "" when the column may not be empty; JSON: NULL or ``{}``;
- numbers, dates and flags that may be NULL become NULL; others keep their value (a count, a
  date: nothing that names anyone once the ids around it are gone).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Column, Integer, LargeBinary, String, Table, UniqueConstraint, cast, literal
from sqlalchemy.sql.elements import ColumnElement

from livecircle.privacy.datamap import Category, Erase, Personal

DELETED_NAME = {"zh-CN": "已注销用户", "en": "deleted user"}
_KEYLIKE = ("key", "client_key", "event_id", "dedupe", "dedupe_key", "code", "provider_ref", "token")


@dataclass(frozen=True, slots=True)
class Placeholders:
    pseudonym: int  # the subject's integer pseudonym (negative)
    text_pseudonym: str  # the subject's text pseudonym (``p:`` + 32 hex digits)
    deleted_name: str


def subject_value(column: Column[Any], tag: Personal, p: Placeholders) -> Any:
    """The new value of the column that named the subject."""
    if tag.alias or isinstance(column.type, String):
        return p.text_pseudonym[: _length(column)]
    if tag.erase == Erase.LEGAL_HOLD or not column.nullable:
        return p.pseudonym
    return None


def other_value(table: Table, column: Column[Any], tag: Personal, p: Placeholders) -> Any:
    """The new value of another personal column of a row that stays. Returns ``KEEP`` when the
    value stays as it is."""
    if tag.erase == Erase.LEGAL_HOLD:
        return KEEP
    kind = column.type
    if isinstance(kind, JSON):
        return None if column.nullable else {}
    if isinstance(kind, LargeBinary):
        return None if column.nullable else b""
    if isinstance(kind, String):
        return _text(table, column, tag, p)
    if isinstance(kind, Integer) and tag.subject:
        return subject_value(column, tag, p)
    return None if column.nullable else KEEP


def _text(table: Table, column: Column[Any], tag: Personal, p: Placeholders) -> Any:
    if column.name == "email":
        return literal("erased-") + _row_id(table) + literal("@invalid")
    if column.name.endswith("name") and tag.category in (
        Category.PROFILE,
        Category.CONTENT,
        Category.ACTIVITY,
    ):
        return p.deleted_name
    if _unique(table, column) or column.name in _KEYLIKE or tag.category == Category.DEVICE:
        if column.nullable and not _unique(table, column) and tag.category == Category.DEVICE:
            return None
        return literal("erased:") + _row_id(table)
    return None if column.nullable else ""


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()


def _row_id(table: Table) -> ColumnElement[str]:
    first = next(iter(table.primary_key.columns))
    return cast(first, String)


def _unique(table: Table, column: Column[Any]) -> bool:
    if column.unique:
        return True
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint) and any(c is column for c in constraint.columns):
            return True
    return any(index.unique and any(c is column for c in index.columns) for index in table.indexes)


def _length(column: Column[Any]) -> int:
    length = getattr(column.type, "length", None)
    return int(length) if length else 64
