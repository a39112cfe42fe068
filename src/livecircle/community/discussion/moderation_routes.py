"""Reports and the moderation queue: members report posts and comments; the community's admins
see what is held or reported, oldest first, and approve or remove it."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from livecircle.community import service as community_service
from livecircle.community.discussion import reports, views
from livecircle.community.discussion.deps import ObjectId
from livecircle.community.discussion.reports import TargetKind
from livecircle.community.discussion.schemas import QueueItemOut, ReportIn, ReportOut, ReviewIn, ReviewOut
from livecircle.identity.deps import CurrentUser
from livecircle.identity.schemas import Principal
from livecircle.kit.deps import DbSession

router = APIRouter(prefix="/api/v1", tags=["community moderation"])


async def _report(
    session: DbSession,
    principal: Principal,
    kind: TargetKind,
    target_id: int,
    data: ReportIn,
    response: Response,
) -> ReportOut:
    done = await reports.check_report(session, principal, kind, target_id, reason=data.reason)
    response.status_code = status.HTTP_201_CREATED if done.created else status.HTTP_200_OK
    return ReportOut.model_validate(done.report)


@router.post("/posts/{post_id}/reports", status_code=status.HTTP_201_CREATED)
async def report_post(
    post_id: ObjectId, data: ReportIn, session: DbSession, principal: CurrentUser, response: Response
) -> ReportOut:
    """One report per member and post (200 with the first one after that); enough open reports
    hide the post until an admin reviews it."""
    return await _report(session, principal, "post", post_id, data, response)


@router.post("/comments/{comment_id}/reports", status_code=status.HTTP_201_CREATED)
async def report_comment(
    comment_id: ObjectId, data: ReportIn, session: DbSession, principal: CurrentUser, response: Response
) -> ReportOut:
    return await _report(session, principal, "comment", comment_id, data, response)


@router.get("/communities/{community_id}/moderation-queue")
async def moderation_queue(
    community_id: ObjectId, session: DbSession, principal: CurrentUser
) -> list[QueueItemOut]:
    """Held and reported posts and comments, oldest first (admins)."""
    await community_service.check_admin(session, principal, community_id)
    return await views.queue_views(session, await reports.list_queue(session, community_id=community_id))


async def _review(
    session: DbSession, principal: Principal, kind: TargetKind, target_id: int, data: ReviewIn
) -> ReviewOut:
    target = await reports.check_review(
        session, principal, kind, target_id, approve=data.decision == "approve"
    )
    return ReviewOut(
        target_kind=kind, target_id=target.id, state=target.state, open_reports=target.open_reports
    )


@router.post("/posts/{post_id}/review")
async def review_post(
    post_id: ObjectId, data: ReviewIn, session: DbSession, principal: CurrentUser
) -> ReviewOut:
    """``approve``: visible, its reports dismissed; ``remove``: hidden, its reports upheld."""
    return await _review(session, principal, "post", post_id, data)


@router.post("/comments/{comment_id}/review")
async def review_comment(
    comment_id: ObjectId, data: ReviewIn, session: DbSession, principal: CurrentUser
) -> ReviewOut:
    return await _review(session, principal, "comment", comment_id, data)
