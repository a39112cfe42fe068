"""Self-service export: a member asks, a durable job builds the archive, a signed link that
expires delivers it.

- ``do_request_export`` checks the limits (one build at a time, ``exports_per_day`` a day:
  429 + Retry-After), stores the request and schedules ``privacy.export`` in the same
  transaction; audited.
- the job (``Exports.build``) writes ``var/exports/<random>.zip`` and schedules
  ``privacy.export_expire`` at the link's expiry, which deletes the file.
- the link is ``/exports/<token>``: the request id and a per-request nonce signed with the
  server's secret (itsdangerous, its own salt; no session token), valid ``export_link_days``.
  A bad signature is a 404, an expired link a 410. Downloads are audited.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.config import Settings
from livecircle.kit import jobs
from livecircle.kit.clock import utcnow
from livecircle.kit.db import Base, Database
from livecircle.kit.jobs import JobRunner
from livecircle.privacy import audit
from livecircle.privacy.export_build import collect, write_archive
from livecircle.privacy.models import BUILDING, EXPIRED, FAILED, PENDING, READY, ExportRequest
from livecircle.privacy.rights_errors import ExportBusy, ExportGone, ExportNotFound, ExportsPerDay

log = logging.getLogger(__name__)

EXPORT_JOB = "privacy.export"
EXPIRE_JOB = "privacy.export_expire"
LEASE_SECONDS = 600.0
DAY = timedelta(days=1)
BUSY_RETRY_SECONDS = 30
_SALT = "livecircle.export-link"


def exports_dir(settings: Settings) -> Path:
    return (settings.var_dir / "exports").resolve()


def _signer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=_SALT)


def link_token(settings: Settings, export: ExportRequest) -> str:
    return _signer(settings).dumps({"x": export.id, "n": export.nonce})


def link_url(settings: Settings, export: ExportRequest) -> str:
    return f"/exports/{link_token(settings, export)}"


async def do_request_export(
    session: AsyncSession, settings: Settings, *, user_id: int, tenant_id: int
) -> ExportRequest:
    """Raises ExportBusy (a build is running), ExportsPerDay (the day's quota is used)."""
    now = utcnow()
    mine = select(ExportRequest).where(ExportRequest.user_id == user_id)
    running = await session.scalar(
        select(func.count()).select_from(mine.where(ExportRequest.status.in_((PENDING, BUILDING))).subquery())
    )
    if running:
        raise ExportBusy(BUSY_RETRY_SECONDS)
    today = list(
        await session.scalars(
            mine.where(ExportRequest.created_at > now - DAY).order_by(ExportRequest.created_at)
        )
    )
    if len(today) >= settings.privacy.exports_per_day:
        raise ExportsPerDay((today[0].created_at + DAY - now).total_seconds())
    export = ExportRequest(user_id=user_id, tenant_id=tenant_id, status=PENDING, nonce=secrets.token_hex(16))
    session.add(export)
    await session.flush()
    await jobs.schedule(
        session,
        EXPORT_JOB,
        key=f"privacy-export:{export.id}:{export.nonce}",
        run_at=now,
        payload={"export_id": export.id},
    )
    await audit.record(
        session,
        action="privacy.export.request",
        target=f"user:{user_id}",
        purpose="the member asked for a copy of their personal data (PIPL art. 45, GDPR art. 15, 20)",
        actor_id=user_id,
        tenant_id=tenant_id,
        detail={"export": export.id},
    )
    return export


async def get_export(session: AsyncSession, *, user_id: int, export_id: int) -> ExportRequest:
    """The member's own export request. Raises ExportNotFound (also for another member's)."""
    export = await session.get(ExportRequest, export_id)
    if export is None or export.user_id != user_id:
        raise ExportNotFound()
    return export


async def list_exports(session: AsyncSession, *, user_id: int, limit: int = 10) -> list[ExportRequest]:
    query = select(ExportRequest).where(ExportRequest.user_id == user_id)
    return list(await session.scalars(query.order_by(ExportRequest.id.desc()).limit(limit)))


async def check_download(session: AsyncSession, settings: Settings, token: str) -> tuple[ExportRequest, Path]:
    """The export and its file behind a link. Raises ExportNotFound (a forged or unknown
    link), ExportGone (expired). Audited."""
    max_age = settings.privacy.export_link_days * 86400
    try:
        claim = _signer(settings).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise ExportGone() from exc
    except BadSignature as exc:
        raise ExportNotFound() from exc
    export = await session.get(ExportRequest, int(claim.get("x", 0))) if isinstance(claim, dict) else None
    if export is None or not secrets.compare_digest(export.nonce, str(claim.get("n", ""))):
        raise ExportNotFound()
    expired = export.expires_at is not None and export.expires_at <= utcnow()
    if export.status == EXPIRED or expired or export.file_name is None:
        raise ExportGone()
    if export.status != READY:
        raise ExportNotFound("The export is not ready yet")
    export.downloaded_at = utcnow()
    await audit.record(
        session,
        action="privacy.export.download",
        target=f"user:{export.user_id}",
        purpose="the member downloaded the copy of their personal data",
        actor_id=export.user_id,
        tenant_id=export.tenant_id,
        detail={"export": export.id},
    )
    return export, exports_dir(settings) / export.file_name


class Exports:
    """The export jobs of one app."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    def register_jobs(self, runner: JobRunner) -> None:
        runner.register(EXPORT_JOB, self._build_job, lease_seconds=LEASE_SECONDS)
        runner.register(EXPIRE_JOB, self._expire_job)

    async def _build_job(self, session: AsyncSession, payload: dict[str, Any]) -> None:
        await self.build(int(payload["export_id"]))

    async def build(self, export_id: int) -> None:
        """Build the archive (idempotent: a finished export is left alone)."""
        async with self.db.unit_of_work() as session:
            export = await session.get(ExportRequest, export_id)
            if export is None or export.status not in (PENDING, BUILDING):
                return
            export.status = BUILDING
            user_id = export.user_id
        try:
            async with self.db.unit_of_work() as session:
                document = await collect(session, Base.metadata, user_id)
            name = f"{secrets.token_urlsafe(24)}.zip"
            size = write_archive(exports_dir(self.settings) / name, document)
        except Exception as exc:
            log.exception("export %s failed", export_id)
            await self._failed(export_id, exc)
            return
        await self._ready(export_id, name, size)

    async def _ready(self, export_id: int, name: str, size: int) -> None:
        now = utcnow()
        expires_at = now + timedelta(days=self.settings.privacy.export_link_days)
        async with self.db.unit_of_work() as session:
            export = await session.get(ExportRequest, export_id)
            if export is None:
                (exports_dir(self.settings) / name).unlink(missing_ok=True)
                return
            export.status, export.file_name, export.size_bytes = READY, name, size
            export.ready_at, export.expires_at = now, expires_at
            await jobs.schedule(
                session,
                EXPIRE_JOB,
                key=expire_key(export),
                run_at=expires_at,
                payload={"export_id": export_id, "nonce": export.nonce},
            )

    async def _failed(self, export_id: int, exc: Exception) -> None:
        async with self.db.unit_of_work() as session:
            export = await session.get(ExportRequest, export_id)
            if export is not None:
                export.status, export.error = FAILED, f"{type(exc).__name__}: {exc}"[:500]

    async def _expire_job(self, session: AsyncSession, payload: dict[str, Any]) -> None:
        export = await session.get(ExportRequest, int(payload["export_id"]))
        if export is not None and export.nonce == payload.get("nonce", export.nonce):
            expire(self.settings, export)


def expire_key(export: ExportRequest) -> str:
    """The expiry job's key. Keys carry the request's nonce: an erased member's requests are
    deleted, and SQLite may give a later request the same id, which must get jobs of its own."""
    return f"privacy-export-expire:{export.id}:{export.nonce}"


def expire(settings: Settings, export: ExportRequest) -> None:
    """The link stops working and the file goes."""
    if export.file_name:
        (exports_dir(settings) / export.file_name).unlink(missing_ok=True)
    export.status, export.file_name = EXPIRED, None


async def delete_files_of(session: AsyncSession, settings: Settings, *, user_id: int) -> None:
    """An erasure removes the member's export files (their rows go with the account)."""
    for export in await session.scalars(select(ExportRequest).where(ExportRequest.user_id == user_id)):
        expire(settings, export)
