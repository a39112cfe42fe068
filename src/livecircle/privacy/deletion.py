"""Account deletion requests: a cooling-off period, then the erasure as a durable job.

``do_request_deletion`` stores the request and schedules ``privacy.erase`` at the end of the
cooling-off period (``privacy.deletion_cooling_off_days``; 0: at once), in the caller's
transaction: a restart loses nothing. Until then the member may sign in again and
``do_cancel_deletion``. The caller also revokes the account's sessions and tokens (identity).
Request, cancellation and completion are audit entries.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.kit import jobs
from livecircle.kit.clock import utcnow
from livecircle.kit.jobs import JobRunner
from livecircle.privacy import audit
from livecircle.privacy.erasure import ERASE_JOB, LEASE_SECONDS, Eraser
from livecircle.privacy.models import CANCELLED, RUNNING, SCHEDULED, DeletionRequest
from livecircle.privacy.rights_errors import DeletionNotFound

_OPEN = (SCHEDULED, RUNNING)


def job_key(request_id: int) -> str:
    return f"privacy-erase:{request_id}"


async def current_deletion(session: AsyncSession, *, user_id: int) -> DeletionRequest | None:
    """The member's scheduled (or running) deletion, if any."""
    query = select(DeletionRequest).where(
        DeletionRequest.user_id == user_id, DeletionRequest.status.in_(_OPEN)
    )
    return await session.scalar(query.order_by(DeletionRequest.id.desc()).limit(1))


async def do_request_deletion(
    session: AsyncSession, *, user_id: int, tenant_id: int, cooling_off_days: int
) -> DeletionRequest:
    """Schedule the erasure of ``user_id`` (asking twice keeps the first date). Audited."""
    existing = await current_deletion(session, user_id=user_id)
    if existing is not None:
        return existing
    now = utcnow()
    request = DeletionRequest(
        user_id=user_id,
        tenant_id=tenant_id,
        status=SCHEDULED,
        erase_at=now + timedelta(days=cooling_off_days),
    )
    session.add(request)
    await session.flush()
    await jobs.schedule(
        session,
        ERASE_JOB,
        key=job_key(request.id),
        run_at=request.erase_at,
        payload={"request_id": request.id},
    )
    await audit.record(
        session,
        action="privacy.deletion.request",
        target=f"user:{user_id}",
        purpose="the member asked to delete their account (PIPL art. 47, GDPR art. 17)",
        actor_id=user_id,
        tenant_id=tenant_id,
        detail={"request": request.id, "erase_at": request.erase_at.isoformat()},
    )
    return request


async def do_cancel_deletion(session: AsyncSession, *, user_id: int) -> DeletionRequest:
    """Keep the account after all. Raises DeletionNotFound (nothing scheduled, or the erasure
    already began). Audited."""
    request = await current_deletion(session, user_id=user_id)
    if request is None or request.status != SCHEDULED:
        raise DeletionNotFound()
    request.status, request.cancelled_at = CANCELLED, utcnow()
    await jobs.cancel(session, job_key(request.id))
    await audit.record(
        session,
        action="privacy.deletion.cancel",
        target=f"user:{user_id}",
        purpose="the member kept their account during the cooling-off period",
        actor_id=user_id,
        tenant_id=request.tenant_id,
        detail={"request": request.id},
    )
    return request


def register_jobs(runner: JobRunner, eraser: Eraser) -> None:
    async def erase(session: AsyncSession, payload: dict[str, Any]) -> None:
        await eraser.run(int(payload["request_id"]))

    runner.register(ERASE_JOB, erase, lease_seconds=LEASE_SECONDS)
