"""The data map: which columns hold personal data, why, for how long, and what erasure does.

A model tags each column holding personal data in its ``info``::

    user_id: Mapped[int] = mapped_column(
        ForeignKey("identity_user.id"),
        info=personal(Category.CONTENT, "chat in live rooms", subject=True),
    )

and a column that looks personal but is not says why: ``info=not_personal("the room's own
title")``. The export and erasure runners walk ``Base.metadata`` and act on these tags, so a
new table is covered the day its columns are tagged; a test fails on one that is not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Integer, LargeBinary, MetaData, String, Table, Text

PERSONAL = "personal"
NOT_PERSONAL = "not_personal"


class Category(StrEnum):
    """Categories of personal data, as the export groups them and the privacy notice lists them."""

    IDENTITY = "identity"  # account: e-mail, display name, invite code
    CREDENTIALS = "credentials"  # password hash, session and API token hashes
    PROFILE = "profile"  # what the member says about themself: bio, avatar
    CONTENT = "content"  # what they wrote: chat, posts, comments, questions, reports
    ACTIVITY = "activity"  # what they did: views, likes, follows, check-ins, votes, events
    COMMERCE = "commerce"  # orders, coupons, delivery details
    FINANCIAL = "financial"  # wallet, ledger, payments (sensitive under PIPL art. 28)
    DEVICE = "device"  # device ids, IP addresses
    PREFERENCES = "preferences"  # consent records, notification settings
    INFERRED = "inferred"  # tags, segments, scores computed about them
    SENSITIVE = "sensitive"  # real name, location, age / minor status (PIPL art. 28-31)


class Erase(StrEnum):
    """What erasure does to a tagged column."""

    DELETE = "delete"  # the row goes (the subject's own content, sessions, tokens)
    ANONYMISE = "anonymise"  # the value is replaced by a placeholder or pseudonym; the row stays
    LEGAL_HOLD = "legal_hold"  # the law needs it kept (orders, ledger): restricted, audit-only


@dataclass(frozen=True, slots=True)
class Personal:
    category: Category
    purpose: str
    retention: str  # a retention class (see privacy.retention); settings give its length
    erase: Erase
    subject: bool  # this column names the data subject (the user the row is about)
    # Holds an anonymous or device id: the ids found in the subject's own rows are theirs, and
    # rows holding one of them are the subject's too (events from before they signed up).
    alias: bool = False
    # With ``alias``: this row ties its subject to the alias in it (a merge record, e.g. the
    # anonymous id merged at sign-up). Only such rows say which aliases are a subject's.
    source: bool = False
    # A foreign key to a row of the subject's (a payment of their order): this row is theirs.
    parent: bool = False
    # A credential (password or token hash): listed in an export as present, never exported.
    secret: bool = False

    @property
    def links(self) -> bool:
        """Whether the column says whose the row is."""
        return self.subject or self.alias or self.parent


def personal(
    category: Category,
    purpose: str,
    *,
    retention: str = "account",
    erase: Erase = Erase.DELETE,
    subject: bool = False,
    alias: bool = False,
    parent: bool = False,
    secret: bool = False,
    source: bool = False,
) -> dict[str, Any]:
    """The ``info`` of a column holding personal data."""
    tag = Personal(
        category, purpose, retention, erase, subject, alias=alias, source=source, parent=parent, secret=secret
    )
    return {PERSONAL: tag}


def not_personal(reason: str) -> dict[str, Any]:
    """The ``info`` of a column that could look personal but is not, and why."""
    if not reason.strip():
        raise ValueError("say why the column holds no personal data")
    return {NOT_PERSONAL: reason}


# ---- walking the map ----

# Tables that are themselves the restricted store of what the law makes us keep: erasure never
# rewrites them (an audit entry's hash commits to its content), and only auditors read them.
HOLD_STORES: dict[str, str] = {
    "privacy_audit": "the audit log: append-only and hash-chained, readable by auditors only; "
    "erasure leaves it as it is (PIPL art. 47: storage and security only)",
    "privacy_legal_hold": "the legal-hold records: which pseudonymised rows the law keeps, "
    "readable by auditors only",
}


def tag_of(column: Column[Any]) -> Personal | None:
    tag = column.info.get(PERSONAL)
    return tag if isinstance(tag, Personal) else None


def reason_of(column: Column[Any]) -> str | None:
    reason = column.info.get(NOT_PERSONAL)
    return reason if isinstance(reason, str) else None


def personal_columns(metadata: MetaData) -> list[tuple[Table, Column[Any], Personal]]:
    """Every tagged personal column, table by table in dependency order."""
    found = []
    for table in metadata.sorted_tables:
        for column in table.columns:
            tag = tag_of(column)
            if tag is not None:
                found.append((table, column, tag))
    return found


def tagged(table: Table) -> list[tuple[Column[Any], Personal]]:
    """The table's personal columns with their tags."""
    return [(column, tag) for column in table.columns if (tag := tag_of(column)) is not None]


def subject_columns(table: Table) -> list[Column[Any]]:
    """Columns naming a data subject (a user id)."""
    return [column for column, tag in tagged(table) if tag.subject]


def alias_columns(table: Table) -> list[Column[Any]]:
    """Columns holding a device or anonymous id that may be a subject's."""
    return [column for column, tag in tagged(table) if tag.alias]


def parent_columns(table: Table) -> list[Column[Any]]:
    """Foreign keys to a subject's row: the row is that subject's too."""
    return [column for column, tag in tagged(table) if tag.parent]


def secret_columns(table: Table) -> list[Column[Any]]:
    return [column for column, tag in tagged(table) if tag.secret]


def is_linked(table: Table) -> bool:
    """Whether a subject's rows of the table can be found (by a subject, alias or parent column)."""
    return any(tag.links for _, tag in tagged(table))


def hold_store_reason(table: Table) -> str | None:
    return HOLD_STORES.get(table.name)


def categories(metadata: MetaData) -> set[Category]:
    """The categories the map uses."""
    return {tag.category for _, _, tag in personal_columns(metadata)}


# ---- what looks personal (the safety net of tests/test_datamap.py) ----

_PERSON_IDS = re.compile(
    r"^(user_id|.*_user_id|.*_by_id|.*_by|author_id|owner_id|actor_id|reporter_id|inviter_id|"
    r"invitee_id|host_id)$"
)
_PERSON_TEXTS = re.compile(
    r"^(email|.*name|ip|device.*|anon.*|viewer|owner|text|body|content|message|reason.*|note|title|"
    r"description|address|phone|location|props|detail|payload|result|data|password.*|.*token.*|"
    r".*secret|key|client_key|.*_ref|dedupe.*|mentions|code|value)$"
)


def looks_personal(column: Column[Any]) -> bool:
    """A column whose name, type or foreign key suggests personal data: anything naming a user,
    any free text, JSON or blob, and strings named like e-mails, names, IPs, device or
    anonymous ids, messages, reasons, addresses, keys and references."""
    if any(fk.column.table.name == "identity_user" for fk in column.foreign_keys):
        return True
    if isinstance(column.type, (JSON, Text, LargeBinary)):
        return True
    if isinstance(column.type, String):
        return bool(_PERSON_TEXTS.match(column.name))
    if isinstance(column.type, Integer):
        return bool(_PERSON_IDS.match(column.name))
    return False


def untagged_suspects(metadata: MetaData) -> list[str]:
    """``table.column`` of every column that looks personal and carries neither tag."""
    return [
        f"{table.name}.{column.name}"
        for table in metadata.sorted_tables
        for column in table.columns
        if looks_personal(column) and tag_of(column) is None and reason_of(column) is None
    ]


def uncovered(metadata: MetaData) -> list[str]:
    """Why personal columns would escape export and erasure: a table with personal columns and
    no way to find a subject's rows (nor a place among the hold stores), a parent link that
    leads nowhere, a subject column that is not an id, an alias column that is not text."""
    problems = []
    for table in metadata.sorted_tables:
        found = tagged(table)
        if not found or hold_store_reason(table) is not None:
            continue
        if not is_linked(table):
            problems.append(f"{table.name}: personal columns but no subject, alias or parent column")
        for column, tag in found:
            where = f"{table.name}.{column.name}"
            if tag.parent and not any(is_linked(fk.column.table) for fk in column.foreign_keys):
                problems.append(f"{where}: a parent link must be a foreign key to a table with a subject")
            if tag.subject and not isinstance(column.type, Integer):
                problems.append(f"{where}: a subject column must hold user ids (integers)")
            if tag.alias and not isinstance(column.type, String):
                problems.append(f"{where}: an alias column must hold text ids")
    return problems
