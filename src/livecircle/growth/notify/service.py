"""Notifications: ``do_notify`` writes the inbox and queues e-mail and webhook deliveries as
durable jobs; the inbox, preferences and the one-click unsubscribe token.

``do_notify`` does no network I/O: it only writes rows in the caller's transaction, so a
rollback sends nothing, and ``delivery.Sender`` sends once the jobs are due.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.growth.notify.errors import NotificationNotFound, UnsubscribeLinkInvalid
from livecircle.growth.notify.models import Notification, NotificationPreference, WebhookEndpoint
from livecircle.growth.notify.schemas import PROMOTIONAL, Channel, Kind, Preferences
from livecircle.identity.models import Tenant, User
from livecircle.kit.clock import utcnow
from livecircle.kit.db import dialect_insert
from livecircle.kit.jobs import Job
from livecircle.privacy import consent

EMAIL_JOB = "growth.send_email"
WEBHOOK_JOB = "growth.send_webhook"
DEDUPE_KEY_MAX = 200
CHUNK = 500  # rows per INSERT: well under SQLite's bound-parameter limit


@dataclass(frozen=True, slots=True)
class Notified:
    """What one ``do_notify`` call queued (duplicates of an earlier call not counted)."""

    inbox: int
    emails: int
    webhooks: int


async def do_notify(
    session: AsyncSession,
    *,
    tenant_id: int,
    user_ids: Iterable[int],
    kind: Kind,
    title: str,
    body: str = "",
    link: str = "",
    dedupe_key: str,
    data: Mapping[str, Any] | None = None,
    email: bool = True,
    to_webhooks: bool = True,
) -> Notified:
    """Notify ``user_ids`` once per ``dedupe_key``: an inbox entry and an e-mail for those whose
    preferences allow them, and one delivery to each active tenant webhook for ``kind`` (with
    user ids, never addresses, and ``data``). ``link`` is a path of this site. Calling again
    with the same key adds nothing for users and endpoints it already covered. ``email=False``
    skips e-mail (the caller knows SMTP is off); ``to_webhooks=False`` skips the tenant's endpoints
    (a campaign sends its own, ``do_webhook``). A promotional ``kind`` (``PROMOTIONAL``) goes
    only to users whose ``marketing`` consent holds now. Preconditions: 1 ≤ len(dedupe_key) ≤
    200, unique across tenants (prefix it with what it is about: "show_reminder:42:...")."""
    if not 0 < len(dedupe_key) <= DEDUPE_KEY_MAX:
        raise ValueError("dedupe_key must have 1 to 200 characters")
    users = sorted(set(user_ids))
    if kind in PROMOTIONAL:
        users = sorted(await consent.allowed_among(session, users, consent.Purpose.MARKETING))
    off = await _opted_out(session, users, kind)
    note = {"tenant_id": tenant_id, "kind": kind.value, "title": title[:200], "body": body, "link": link}
    inbox = await _write_inbox(session, [u for u in users if u not in off[Channel.INBOX]], note, dedupe_key)
    mailed = [u for u in users if u not in off[Channel.EMAIL]] if email else []
    emails = await _schedule(
        session,
        [(f"{EMAIL_JOB}:{dedupe_key}:{u}", {**note, "user_id": u}) for u in mailed],
        EMAIL_JOB,
    )
    endpoints = await _endpoints_for(session, tenant_id, kind) if to_webhooks else []
    about = {"title": note["title"], "body": body, "link": link, "user_ids": users, **(data or {})}
    event = await _webhook_event(session, tenant_id, kind, dedupe_key, about) if endpoints else {}
    webhooks = await _schedule(
        session,
        [(f"{WEBHOOK_JOB}:{dedupe_key}:{e.id}", {"endpoint_id": e.id, "event": event}) for e in endpoints],
        WEBHOOK_JOB,
    )
    return Notified(inbox=inbox, emails=emails, webhooks=webhooks)


async def do_webhook(
    session: AsyncSession, *, tenant_id: int, kind: Kind, dedupe_key: str, data: Mapping[str, Any]
) -> int:
    """Queue one signed delivery of ``data`` to each active endpoint of the tenant for ``kind``,
    once per ``dedupe_key`` (same rules as ``do_notify``'s). The caller checks consent: data
    about a member goes out only with their ``marketing`` consent. Returns deliveries queued."""
    if not 0 < len(dedupe_key) <= DEDUPE_KEY_MAX:
        raise ValueError("dedupe_key must have 1 to 200 characters")
    endpoints = await _endpoints_for(session, tenant_id, kind)
    if not endpoints:
        return 0
    event = await _webhook_event(session, tenant_id, kind, dedupe_key, dict(data))
    return await _schedule(
        session,
        [(f"{WEBHOOK_JOB}:{dedupe_key}:{e.id}", {"endpoint_id": e.id, "event": event}) for e in endpoints],
        WEBHOOK_JOB,
    )


async def _opted_out(session: AsyncSession, user_ids: list[int], kind: Kind) -> dict[Channel, set[int]]:
    off: dict[Channel, set[int]] = {channel: set() for channel in Channel}
    for chunk in _chunks(user_ids):
        rows = await session.execute(
            select(NotificationPreference.user_id, NotificationPreference.channel).where(
                NotificationPreference.user_id.in_(chunk),
                NotificationPreference.kind == kind.value,
                NotificationPreference.enabled.is_(False),
            )
        )
        for user_id, channel in rows.all():
            if channel in off:
                off[Channel(channel)].add(int(user_id))
    return off


async def _write_inbox(
    session: AsyncSession, user_ids: list[int], note: dict[str, Any], dedupe_key: str
) -> int:
    written = 0
    now = utcnow()
    for chunk in _chunks(user_ids):
        rows = [{**note, "user_id": u, "dedupe_key": dedupe_key, "created_at": now} for u in chunk]
        inserted = await session.scalars(
            dialect_insert(session, Notification)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["user_id", "dedupe_key"])
            .returning(Notification.id)
        )
        written += len(inserted.all())
    return written


async def _schedule(session: AsyncSession, jobs: list[tuple[str, dict[str, Any]]], name: str) -> int:
    """``kit.jobs.schedule`` for many jobs at once (same table, same once-per-key rule), due now."""
    scheduled = 0
    now = utcnow()
    for chunk in _chunks(jobs):
        rows = [
            {"name": name, "key": key, "payload": payload, "run_at": now, "state": "pending", "attempts": 0}
            for key, payload in chunk
        ]
        inserted = await session.scalars(
            dialect_insert(session, Job)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(Job.id)
        )
        scheduled += len(inserted.all())
    return scheduled


async def _endpoints_for(session: AsyncSession, tenant_id: int, kind: Kind) -> list[WebhookEndpoint]:
    rows = await session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.active.is_(True))
        .order_by(WebhookEndpoint.id)
    )
    return [e for e in rows if not e.kinds or kind.value in e.kinds]


async def _webhook_event(
    session: AsyncSession, tenant_id: int, kind: Kind, dedupe_key: str, data: dict[str, Any]
) -> dict[str, Any]:
    tenant = await session.get(Tenant, tenant_id)
    digest = hashlib.sha256(f"{tenant_id}:{dedupe_key}".encode()).hexdigest()[:24]
    return {
        "id": f"evt_{digest}",
        "kind": kind.value,
        "created_at": utcnow().isoformat(),
        "tenant": tenant.slug if tenant else str(tenant_id),
        "data": data,
    }


T = TypeVar("T")


def _chunks(items: Sequence[T]) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


# Inbox


async def list_inbox(
    session: AsyncSession, *, user_id: int, limit: int, before: int | None = None
) -> tuple[list[Notification], int | None]:
    """Newest first, ``limit`` entries older than id ``before``; and the ``before`` of the next page."""
    query = select(Notification).where(Notification.user_id == user_id)
    if before is not None:
        query = query.where(Notification.id < before)
    rows = list(await session.scalars(query.order_by(Notification.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


async def count_unread(session: AsyncSession, *, user_id: int) -> int:
    unread = Notification.user_id == user_id, Notification.read_at.is_(None)
    return int(await session.scalar(select(func.count()).select_from(Notification).where(*unread)) or 0)


async def do_mark_read(session: AsyncSession, *, user_id: int, notification_id: int) -> Notification:
    """Idempotent. Raises NotificationNotFound (also for someone else's entry)."""
    note = await session.get(Notification, notification_id)
    if note is None or note.user_id != user_id:
        raise NotificationNotFound()
    if note.read_at is None:
        note.read_at = utcnow()
        await session.flush()
    return note


async def do_mark_all_read(session: AsyncSession, *, user_id: int) -> int:
    """Returns how many entries were unread."""
    result = await session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# Preferences


async def get_preferences(session: AsyncSession, *, user_id: int) -> Preferences:
    """Every kind and channel; on unless the user turned it off."""
    prefs: Preferences = {kind: dict.fromkeys(Channel, True) for kind in Kind}
    rows = await session.scalars(
        select(NotificationPreference).where(NotificationPreference.user_id == user_id)
    )
    for row in rows:
        if row.kind in Kind.__members__.values() and row.channel in Channel.__members__.values():
            prefs[Kind(row.kind)][Channel(row.channel)] = row.enabled
    return prefs


async def do_set_preferences(session: AsyncSession, *, user_id: int, changes: Preferences) -> Preferences:
    """Set the (kind, channel) pairs in ``changes``; the others stay as they are."""
    rows = [
        {"user_id": user_id, "kind": k.value, "channel": c.value, "enabled": on, "updated_at": utcnow()}
        for k, channels in changes.items()
        for c, on in channels.items()
    ]
    if rows:
        insert = dialect_insert(session, NotificationPreference).values(rows)
        await session.execute(
            insert.on_conflict_do_update(
                index_elements=["user_id", "kind", "channel"],
                set_={"enabled": insert.excluded.enabled, "updated_at": insert.excluded.updated_at},
            )
        )
    return await get_preferences(session, user_id=user_id)


async def is_enabled(session: AsyncSession, *, user_id: int, kind: str, channel: Channel) -> bool:
    enabled = await session.scalar(
        select(NotificationPreference.enabled).where(
            NotificationPreference.user_id == user_id,
            NotificationPreference.kind == kind,
            NotificationPreference.channel == channel.value,
        )
    )
    return enabled is not False


# One-click unsubscribe (RFC 8058): the link itself is the credential.


def _unsubscribe_signer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="livecircle.unsubscribe")


def unsubscribe_token(secret: str, *, user_id: int, kind: str) -> str:
    return str(_unsubscribe_signer(secret).dumps({"u": user_id, "k": kind}))


def read_unsubscribe_token(secret: str, token: str) -> tuple[int, Kind]:
    """The user and kind a token stands for. Raises UnsubscribeLinkInvalid."""
    try:
        claims = _unsubscribe_signer(secret).loads(token)
        return int(claims["u"]), Kind(claims["k"])
    except (BadSignature, KeyError, TypeError, ValueError):
        raise UnsubscribeLinkInvalid() from None


async def do_unsubscribe(session: AsyncSession, *, secret: str, token: str) -> tuple[int, Kind]:
    """Turn e-mail off for the token's kind (the inbox keeps it). Idempotent.
    Raises UnsubscribeLinkInvalid."""
    user_id, kind = read_unsubscribe_token(secret, token)
    if await session.get(User, user_id) is None:  # the account was deleted since
        raise UnsubscribeLinkInvalid()
    await do_set_preferences(session, user_id=user_id, changes={kind: {Channel.EMAIL: False}})
    return user_id, kind
