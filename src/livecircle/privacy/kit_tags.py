"""Data-map tags of the tables ``kit`` defines (the job queue, the analytics event log).

``kit`` sits below ``privacy`` and cannot import the tag helpers, so their columns are tagged
from here, once, when this module is imported (``models_registry.load_all`` imports it, and
so do the export and erasure runners).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table

from livecircle.kit.jobs import Job
from livecircle.kit.tracking import AnalyticsEvent
from livecircle.privacy.datamap import Category, Erase, not_personal, personal

_EVENTS = "what members do, for the product's analytics (views, orders, follows, sign-ups)"

TAGS: dict[str, dict[str, dict[str, Any]]] = {
    "kit_job": {
        "name": not_personal("the kind of job, e.g. poll.close"),
        "key": not_personal("a job's idempotency key, made of object ids (poll, sale, show)"),
        "payload": not_personal("object ids a job needs (show, poll, sale, request): no person's data"),
        "last_error": not_personal("the error message of a failed handler"),
    },
    "analytics_event": {
        "event_id": personal(
            Category.ACTIVITY,
            "deduplication key of an event; some embed the member's id",
            retention="analytics_raw",
            erase=Erase.ANONYMISE,
        ),
        "user_id": personal(
            Category.ACTIVITY, _EVENTS, retention="analytics_raw", erase=Erase.ANONYMISE, subject=True
        ),
        "anon_id": personal(
            Category.DEVICE,
            "the anonymous viewer id of events before sign-in",
            retention="analytics_raw",
            erase=Erase.ANONYMISE,
            alias=True,
        ),
        "props": personal(
            Category.ACTIVITY,
            "the facts of an event (order, session, rule)",
            retention="analytics_raw",
            erase=Erase.ANONYMISE,
        ),
    },
}


def apply() -> None:
    tables: dict[str, Table] = {
        "kit_job": Job.__table__,  # type: ignore[dict-item]
        "analytics_event": AnalyticsEvent.__table__,  # type: ignore[dict-item]
    }
    for name, columns in TAGS.items():
        for column, info in columns.items():
            tables[name].c[column].info.update(info)


apply()
