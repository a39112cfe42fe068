"""The sender: e-mail and webhook deliveries leave the process here, never inside a write
transaction.

Deliveries are durable jobs in ``kit_job`` (``do_notify`` schedules them, once per key). The
``JobRunner`` runs a handler inside the transaction that marks its job done, which suits
database work; but a handler that talks to an SMTP server or a webhook would hold that
transaction (on SQLite, the database's one writer) for as long as the far side takes. So
delivery jobs are not registered with the runner: the sender takes due ones in a short
transaction that leases them (``run_at`` moves past the attempt's time limit), sends with
no transaction open, and records each outcome in another short transaction, with the
runner's back-off and attempt limit. A node that dies mid-send leaves its lease to expire,
and the job is tried again: delivery is at least once, and a retry keeps the Message-ID and
the X-Livecircle-Delivery id so that a receiver can drop the repeat.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiosmtplib
import httpx
import orjson
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.config import Settings
from livecircle.growth.notify import service
from livecircle.growth.notify.mail import MailContent, compose
from livecircle.growth.notify.models import WebhookEndpoint
from livecircle.growth.notify.schemas import KIND_LABELS, PROMOTIONAL, Channel, Kind
from livecircle.identity import service as identity_service
from livecircle.kit import webhooks
from livecircle.kit.clock import utcnow
from livecircle.kit.db import Database, one_sqlite_writer
from livecircle.kit.i18n import Translator
from livecircle.kit.jobs import Job
from livecircle.privacy import consent

log = logging.getLogger(__name__)
JOB_NAMES = (service.EMAIL_JOB, service.WEBHOOK_JOB)
LEASE_MARGIN_SECONDS = 30.0


class DeliveryRefused(Exception):
    """The far side answered, but not with success (a non-2xx webhook answer)."""


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    name: str
    key: str
    payload: dict[str, Any]
    attempts: int


class Sender:
    """Sends due deliveries, up to ``settings.growth.delivery_batch`` at once, every ``every``
    seconds (at once again while there are more)."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        translator: Translator,
        *,
        backoff_seconds: float,
        max_attempts: int,
        every: float = 0.5,
    ) -> None:
        self.db = db
        self.settings = settings
        self.translator = translator
        self.backoff_seconds = backoff_seconds
        self.max_attempts = max_attempts
        self.every = every
        self._http: httpx.AsyncClient | None = None

    async def open(self) -> None:
        # No redirects: a webhook goes where the operator pointed it, nowhere else.
        self._http = httpx.AsyncClient(follow_redirects=False, trust_env=False)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def run_due(self, now: datetime | None = None) -> int:
        """Send what is due at ``now``; returns how many deliveries were attempted."""
        claimed = await self._claim(now or utcnow())
        if claimed:
            errors = await asyncio.gather(*(self._attempt(job) for job in claimed))
            await self._record(claimed, errors)
        return len(claimed)

    def attempt_seconds(self) -> float:
        """An attempt's time limit (aiosmtplib's timeout is per SMTP command, hence the factor)."""
        growth = self.settings.growth
        return max(3 * growth.smtp.timeout_seconds, growth.webhook_timeout_seconds)

    async def _claim(self, now: datetime) -> list[Claimed]:
        due = (Job.state == "pending") & (Job.run_at <= now) & Job.name.in_(JOB_NAMES)
        async with self.db.unit_of_work() as session:
            if await session.scalar(select(Job.id).where(due).limit(1)) is None:
                return []
            await one_sqlite_writer(session)
            picked = (
                select(Job.id)
                .where(due)
                .order_by(Job.run_at, Job.id)
                .limit(self.settings.growth.delivery_batch)
                .with_for_update(skip_locked=True)
            )
            lease = timedelta(seconds=self.attempt_seconds() + LEASE_MARGIN_SECONDS)
            rows = await session.execute(
                update(Job)
                .where(Job.id.in_(picked), due)
                .values(run_at=now + lease, attempts=Job.attempts + 1)
                .returning(Job.id, Job.name, Job.key, Job.payload, Job.attempts)
                .execution_options(synchronize_session=False)
            )
            return [Claimed(*row) for row in rows.all()]

    async def _attempt(self, job: Claimed) -> str | None:
        """None when the job is done (sent, or nothing left to send); else why it failed."""
        try:
            async with asyncio.timeout(self.attempt_seconds()):
                if job.name == service.EMAIL_JOB:
                    await self._email(job)
                else:
                    await self._webhook(job)
        except Exception as exc:
            log.warning("delivery %s failed (attempt %d): %r", job.key, job.attempts, exc)
            return f"{type(exc).__name__}: {exc}"[:2000]
        return None

    async def _record(self, claimed: list[Claimed], errors: list[str | None]) -> None:
        now = utcnow()
        async with self.db.unit_of_work() as session:
            await one_sqlite_writer(session)
            for job, error in zip(claimed, errors, strict=True):
                await _settle(session, job, error, now, self._retry_at(job, now))

    def _retry_at(self, job: Claimed, now: datetime) -> datetime | None:
        """The runner's back-off; None once the attempts are used up."""
        if job.attempts >= self.max_attempts:
            return None
        return now + timedelta(seconds=self.backoff_seconds * 2 ** (job.attempts - 1))

    # E-mail

    async def _email(self, job: Claimed) -> None:
        smtp = self.settings.growth.smtp
        if not smtp.host:
            return  # e-mail is off: nothing to send, now or later
        payload = job.payload
        async with self.db.sessionmaker() as session:  # reads only, closed before the send
            user = await identity_service.get_user(session, int(payload["user_id"]))
            wanted = await service.is_enabled(
                session, user_id=int(payload["user_id"]), kind=payload["kind"], channel=Channel.EMAIL
            ) and await _consented(session, int(payload["user_id"]), str(payload["kind"]))
            address = user.email if user is not None else None
        if address is None or not wanted:
            return  # deleted, or unsubscribed since the notification was queued
        message = compose(
            self._mail_content(payload),
            self._translate,
            sender=smtp.sender,
            to=address,
            message_id=f"<{_digest(job.key)}@livecircle>",
        )
        await aiosmtplib.send(
            message,
            hostname=smtp.host,
            port=smtp.port,
            username=smtp.username or None,
            password=smtp.password or None,
            start_tls=smtp.starttls,
            timeout=smtp.timeout_seconds,
        )

    def _mail_content(self, payload: dict[str, Any]) -> MailContent:
        base = self.settings.http.base_url
        kind = str(payload["kind"])
        token = service.unsubscribe_token(
            self.settings.secret_key, user_id=int(payload["user_id"]), kind=kind
        )
        label = KIND_LABELS.get(Kind(kind), kind) if kind in Kind.__members__.values() else kind
        return MailContent(
            title=str(payload["title"]),
            body=str(payload["body"]),
            url=_absolute(base, str(payload["link"])),
            kind_label=self._translate(label),
            unsubscribe_url=f"{base}/unsubscribe/{token}",
            settings_url=f"{base}/settings/notifications",
        )

    def _translate(self, message: str) -> str:
        return self.translator.gettext(self.settings.default_locale, message)

    # Webhooks

    async def _webhook(self, job: Claimed) -> None:
        if self._http is None:
            raise RuntimeError("the sender is not open")
        async with self.db.sessionmaker() as session:  # reads only, closed before the send
            endpoint = await session.get(WebhookEndpoint, int(job.payload["endpoint_id"]))
            target = (endpoint.url, endpoint.secret) if endpoint is not None and endpoint.active else None
        if target is None:
            return  # the endpoint was deleted or switched off meanwhile
        url, secret = target
        event = dict(job.payload["event"])
        data = dict(event.get("data", {}))
        if data.get("link"):
            data["url"] = _absolute(self.settings.http.base_url, str(data["link"]))
        body = orjson.dumps({**event, "data": data})
        headers = webhooks.signed_headers(
            secret, body, event=str(event["kind"]), delivery=_delivery_id(job.key)
        )
        timeout = self.settings.growth.webhook_timeout_seconds
        response = await self._http.post(url, content=body, headers=headers, timeout=timeout)
        if not 200 <= response.status_code < 300:
            raise DeliveryRefused(f"HTTP {response.status_code} from the endpoint")


async def _settle(
    session: AsyncSession, job: Claimed, error: str | None, now: datetime, retry_at: datetime | None
) -> None:
    values: dict[str, Any]
    if error is None:
        values = {"state": "done", "done_at": now, "last_error": None}
    elif retry_at is None:
        values = {"state": "failed", "last_error": error}
    else:
        values = {"run_at": retry_at, "last_error": error}
    await session.execute(
        update(Job)
        .where(Job.id == job.id, Job.state == "pending")
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def _consented(session: AsyncSession, user_id: int, kind: str) -> bool:
    """A promotional e-mail queued before its member withdrew marketing consent is not sent."""
    if kind not in PROMOTIONAL:
        return True
    return await consent.allows(session, user_id, consent.Purpose.MARKETING)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _delivery_id(key: str) -> str:
    return f"dlv_{_digest(key)[:24]}"


def _absolute(base: str, link: str) -> str:
    if not link or "://" in link:
        return link
    return base.rstrip("/") + "/" + link.lstrip("/")
