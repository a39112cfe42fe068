"""Legal holds: rows the law keeps after their subject's erasure (orders, payments, the ledger).

The erasure replaces the personal fields of such a row with the subject's pseudonym and
writes a hold record here: (pseudonym, table, row key, the law's purpose, until when). The
rows themselves name nobody any more; only an auditor who holds a member's id can compute
their pseudonym (``privacy.pseudonym``, keyed with the server's secret) and find the records.
Member and operator APIs never read this table; ``list_holds`` is for the audit role only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, String, Table, cast, exists, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from livecircle.kit.clock import utcnow
from livecircle.kit.db import UtcDateTime
from livecircle.privacy.models import LegalHold
from livecircle.privacy.pseudonym import Pseudonym, digest, pseudonym_key

MAX_HOLDS = 500


def row_key(table: Table) -> ColumnElement[str]:
    """The row's primary key as text (``7``, or ``3:42`` for a composite key)."""
    parts: list[ColumnElement[str]] = [cast(column, String) for column in table.primary_key.columns]
    key = parts[0]
    for part in parts[1:]:
        key = key + literal(":") + part
    return key


async def hold_rows(
    session: AsyncSession,
    table: Table,
    condition: ColumnElement[bool],
    *,
    pseudonym: int,
    reason: str,
    until: datetime,
) -> int:
    """Record a hold for every row of ``table`` matching ``condition`` not held already."""
    key = row_key(table)
    held = exists().where(
        LegalHold.table_name == table.name, LegalHold.row_key == key, LegalHold.pseudonym == pseudonym
    )
    rows = select(
        literal(pseudonym),
        literal(table.name),
        key,
        literal(reason[:300]),
        literal(until, type_=UtcDateTime()),
        literal(utcnow(), type_=UtcDateTime()),
    ).where(condition, ~held)
    columns = ["pseudonym", "table_name", "row_key", "reason", "hold_until", "created_at"]
    result = await session.execute(insert(LegalHold).from_select(columns, rows))
    return int(getattr(result, "rowcount", 0) or 0)


async def pseudonym_of(session: AsyncSession, secret: str, user_id: int) -> int | None:
    """The pseudonym an erased account's held rows carry (None: the account has none). Reads
    only: an auditor's look-up makes no pseudonym."""
    wanted = digest(pseudonym_key(secret), f"user:{user_id}")
    found = await session.scalar(select(Pseudonym.id).where(Pseudonym.digest == wanted))
    return None if found is None else -int(found)


async def list_holds(session: AsyncSession, *, pseudonym: int | None = None) -> list[LegalHold]:
    """Hold records, newest first (one pseudonym's, or all): for the audit role only."""
    query = select(LegalHold).order_by(LegalHold.id.desc()).limit(MAX_HOLDS)
    if pseudonym is not None:
        query = query.where(LegalHold.pseudonym == pseudonym)
    return list(await session.scalars(query))


def not_held(subject: ColumnElement[int] | InstrumentedAttribute[int]) -> ColumnElement[bool]:
    """Rows whose subject is a live account. An erasure puts the pseudonym (a negative id) in
    the subject column of the rows it holds: member and operator lists leave those out."""
    return subject > 0
