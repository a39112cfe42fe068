"""Retention: how long each class of personal data is kept, and the daily purge.

Every personal column names a retention class in its data-map tag
(``personal(..., retention="activity")``). A class's window is a number of days (``None``:
kept as long as the account, erasure ends it). The purge job (``privacy.retention_purge``,
daily, durable, idempotent) walks the tagged tables and, for rows whose timestamp is past
their class's window: deletes the row when the subject column says ``Erase.DELETE``, else
blanks the tagged columns it can (nullable ones become NULL, texts "", JSON ``{}``); rows
under ``Erase.LEGAL_HOLD`` are never deleted (a ledger must balance), only blanked. Tables
with their own rules (sessions and tokens, the raw analytics events, the audit log) are
purged by hooks that higher layers register (``purge.register_hook``) and are skipped by
the generic walk.

Windows come from ``Settings.retention`` when the lead's ``RetentionSettings`` exists (the
field names are the class names, in days), else from ``DEFAULT_DAYS`` here.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class Retention(StrEnum):
    """The retention classes a data-map tag may name."""

    ACCOUNT = "account"  # the account itself and what lives with it: as long as the account
    SESSION = "session"  # page sessions, API tokens, export files: until they expire / are revoked
    CONTENT = "content"  # what a member wrote (chat, posts, comments): as long as the account
    ACTIVITY = "activity"  # what a member did (views, likes, votes, check-ins, notifications)
    ANALYTICS_RAW = "analytics_raw"  # raw analytics events: pseudonymised after the window
    COMMERCE = "commerce"  # orders, payments, coupons, ledger: >= 3 years (电子商务法 art. 31)
    AUDIT = "audit"  # the audit log: >= 3 years (PIPL art. 56); pruned by privacy.audit


# Days a row of each class is kept after its timestamp; None = no time limit (the account's
# life: erasure, not the purge, ends it).
DEFAULT_DAYS: dict[Retention, int | None] = {
    Retention.ACCOUNT: None,
    Retention.SESSION: 0,  # an expired session or a revoked token goes at the next purge
    Retention.CONTENT: None,
    Retention.ACTIVITY: 730,
    Retention.ANALYTICS_RAW: 180,
    Retention.COMMERCE: 1095,
    Retention.AUDIT: 1095,
}
# The law's floor: a setting below it is raised to it (orders and audit records for 3 years).
MINIMUM_DAYS: dict[Retention, int] = {Retention.COMMERCE: 1095, Retention.AUDIT: 1095}


def windows(settings: Any = None) -> dict[Retention, int | None]:
    """Each class's window in days: ``settings.retention.<class>`` when present, else the
    default; never below the legal minimum."""
    configured = getattr(settings, "retention", None)
    found: dict[Retention, int | None] = {}
    for cls, default in DEFAULT_DAYS.items():
        value = getattr(configured, cls.value, default) if configured is not None else default
        days = None if value is None else int(value)
        floor = MINIMUM_DAYS.get(cls)
        found[cls] = None if days is None else max(days, floor or 0)
    return found


def window_of(name: str, days: Mapping[Retention, int | None]) -> int | None:
    """The window of a class named in a tag (an unknown name: no time limit, never purged)."""
    try:
        return days[Retention(name)]
    except ValueError:
        return None
