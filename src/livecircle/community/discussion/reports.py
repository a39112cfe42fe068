"""Reports and the moderation queue. Any member reports a visible post or comment once (the
unique (target, reporter) key); ``REPORTS_TO_HIDE`` open reports hide the target until an admin
reviews it. The queue holds what the word filter held and what is reported, oldest first; an
admin approves (visible again, reports dismissed) or removes (hidden, reports upheld)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.community import service as community_service
from livecircle.community.discussion.comments import access_comment, get_comment, set_comment_state
from livecircle.community.discussion.errors import PostNotVisible, ReportOwnContent
from livecircle.community.discussion.events import CommentPublished, ContentReported, PostPublished
from livecircle.community.discussion.models import (
    DELETED,
    HELD,
    HIDDEN,
    VISIBLE,
    Comment,
    ContentReport,
    Post,
)
from livecircle.community.discussion.posts import access_post, get_post, set_post_state
from livecircle.identity.schemas import Principal
from livecircle.kit.clock import utcnow
from livecircle.kit.db import dialect_insert, one_sqlite_writer
from livecircle.kit.events import emit
from livecircle.moderation import service as moderation_service

REPORTS_TO_HIDE = 3  # open reports that hide a post or comment until an admin reviews it
QUEUE_LIMIT = 200
TargetKind = Literal["post", "comment"]
Target = Post | Comment


@dataclass(frozen=True, slots=True)
class Reported:
    report: ContentReport
    created: bool


async def get_target(session: AsyncSession, kind: TargetKind, target_id: int) -> Target:
    """Raises PostNotFound, CommentNotFound."""
    if kind == "post":
        return await get_post(session, target_id)
    return await get_comment(session, target_id)


async def check_report(
    session: AsyncSession, principal: Principal, kind: TargetKind, target_id: int, *, reason: str
) -> Reported:
    """Report a visible post or comment; reporting it again returns the first report.

    Raises PostNotFound, CommentNotFound, NotCommunityMember, PostNotVisible, ReportOwnContent.
    Emits ContentReported for a new report."""
    assert principal.user_id is not None
    target: Target
    if kind == "post":
        target = await access_post(session, principal, target_id)
    else:
        target = await access_comment(session, principal, target_id)
    if target.author_id == principal.user_id:
        raise ReportOwnContent()
    if target.state != VISIBLE:
        raise PostNotVisible("Only visible posts and comments can be reported")
    return await do_report(
        session, kind, target, reporter_id=principal.user_id, reason=" ".join(reason.split())
    )


async def do_report(
    session: AsyncSession, kind: TargetKind, target: Target, *, reporter_id: int, reason: str
) -> Reported:
    await one_sqlite_writer(session)
    report_id = await session.scalar(
        dialect_insert(session, ContentReport)
        .values(
            tenant_id=target.tenant_id,
            community_id=target.community_id,
            target_kind=kind,
            target_id=target.id,
            reporter_id=reporter_id,
            reason=reason,
            status="open",
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["target_kind", "target_id", "reporter_id"])
        .returning(ContentReport.id)
    )
    if report_id is None:
        return Reported(await _report_of(session, kind, target.id, reporter_id), created=False)
    model = type(target)
    open_reports = await session.scalar(
        update(model)
        .where(model.id == target.id)
        .values(open_reports=model.open_reports + 1)
        .returning(model.open_reports)
        .execution_options(synchronize_session=False)
    )
    hidden = int(open_reports or 0) >= REPORTS_TO_HIDE and await _hide(session, kind, target)
    emit(
        session, ContentReported(target.tenant_id, target.community_id, kind, target.id, reporter_id, hidden)
    )
    report = await session.get(ContentReport, report_id)
    assert report is not None
    return Reported(report, created=True)


async def _hide(session: AsyncSession, kind: TargetKind, target: Target) -> bool:
    """Hide a visible target (the threshold was reached); False if it was not visible any more."""
    if isinstance(target, Post):
        left = await set_post_state(session, target, HIDDEN, only_from=VISIBLE)
    else:
        left = await set_comment_state(session, target, HIDDEN, only_from=VISIBLE)
    if left is None:
        return False
    moderation_service.log_action(
        session,
        tenant_id=target.tenant_id,
        room_id=None,
        actor_id=None,
        action="auto_hide_reported",
        target_user_id=target.author_id,
        community_id=target.community_id,
        kind=kind,
        target_id=target.id,
        reports=REPORTS_TO_HIDE,
    )
    return True


async def _report_of(session: AsyncSession, kind: str, target_id: int, reporter_id: int) -> ContentReport:
    found = await session.scalar(
        select(ContentReport).where(
            ContentReport.target_kind == kind,
            ContentReport.target_id == target_id,
            ContentReport.reporter_id == reporter_id,
        )
    )
    assert found is not None
    return found


# ---- the queue ----


def _waiting(model: type[Post] | type[Comment]) -> ColumnElement[bool]:
    return (model.state != DELETED) & or_(model.state == HELD, model.open_reports > 0)


async def list_queue(session: AsyncSession, *, community_id: int) -> list[dict[str, Any]]:
    """Held and reported posts and comments, oldest first (by when they were written, or first
    reported): what ``QueueItemOut`` shows."""
    posts = await session.scalars(
        select(Post).where(Post.community_id == community_id, _waiting(Post)).limit(QUEUE_LIMIT)
    )
    comments = await session.scalars(
        select(Comment).where(Comment.community_id == community_id, _waiting(Comment)).limit(QUEUE_LIMIT)
    )
    reports = await _open_reports(session, community_id)
    items = [_item("post", p, reports) for p in posts] + [_item("comment", c, reports) for c in comments]
    items.sort(key=lambda item: (item["since"], item["target_kind"], item["target_id"]))
    return items[:QUEUE_LIMIT]


async def _open_reports(
    session: AsyncSession, community_id: int
) -> dict[tuple[str, int], list[ContentReport]]:
    rows = await session.scalars(
        select(ContentReport)
        .where(ContentReport.community_id == community_id, ContentReport.status == "open")
        .order_by(ContentReport.id)
    )
    found: defaultdict[tuple[str, int], list[ContentReport]] = defaultdict(list)
    for report in rows:
        found[(report.target_kind, report.target_id)].append(report)
    return found


def _item(kind: str, target: Target, reports: dict[tuple[str, int], list[ContentReport]]) -> dict[str, Any]:
    mine = reports.get((kind, target.id), [])
    since: datetime = target.created_at if target.state == HELD or not mine else mine[0].created_at
    return {
        "target_kind": kind,
        "target_id": target.id,
        "post_id": target.id if isinstance(target, Post) else target.post_id,
        "author_id": target.author_id,
        "title": target.title if isinstance(target, Post) else "",
        "body": target.body,
        "state": target.state,
        "flagged": target.flagged,
        "open_reports": len(mine),
        "reasons": [r.reason for r in mine if r.reason],
        "since": since,
    }


# ---- review ----


async def check_review(
    session: AsyncSession, principal: Principal, kind: TargetKind, target_id: int, *, approve: bool
) -> Target:
    """Raises PostNotFound, CommentNotFound, NotCommunityAdmin."""
    target = await get_target(session, kind, target_id)
    await community_service.check_admin(session, principal, target.community_id)
    await do_review(session, kind, target, actor_id=principal.user_id, approve=approve)
    return target


async def do_review(
    session: AsyncSession, kind: TargetKind, target: Target, *, actor_id: int | None, approve: bool
) -> None:
    """Approve: visible, open reports dismissed. Remove: hidden, open reports upheld.

    Emits PostPublished / CommentPublished when an approval made it visible."""
    new = VISIBLE if approve else HIDDEN
    if isinstance(target, Post):
        left = await set_post_state(session, target, new)
    else:
        left = await set_comment_state(session, target, new)
    resolved = await _resolve_reports(session, kind, target, actor_id, "dismissed" if approve else "upheld")
    moderation_service.log_action(
        session,
        tenant_id=target.tenant_id,
        room_id=None,
        actor_id=actor_id,
        action="approve" if approve else "remove",
        target_user_id=target.author_id,
        community_id=target.community_id,
        kind=kind,
        target_id=target.id,
        reports=resolved,
    )
    if approve and left is not None:
        _published(session, target)


async def _resolve_reports(
    session: AsyncSession, kind: str, target: Target, actor_id: int | None, status: str
) -> int:
    """Close the target's open reports and take exactly them off its counter."""
    closed = list(
        await session.scalars(
            update(ContentReport)
            .where(
                ContentReport.target_kind == kind,
                ContentReport.target_id == target.id,
                ContentReport.status == "open",
            )
            .values(status=status, resolved_at=utcnow(), resolved_by=actor_id)
            .returning(ContentReport.id)
            .execution_options(synchronize_session=False)
        )
    )
    if closed:
        model = type(target)
        await session.execute(
            update(model)
            .where(model.id == target.id)
            .values(open_reports=model.open_reports - len(closed))
            .execution_options(synchronize_session=False)
        )
        await session.refresh(target)
    return len(closed)


def _published(session: AsyncSession, target: Target) -> None:
    if isinstance(target, Post):
        emit(
            session,
            PostPublished(target.tenant_id, target.community_id, target.id, target.author_id, target.kind),
        )
    else:
        emit(
            session,
            CommentPublished(
                target.tenant_id, target.community_id, target.post_id, target.id, target.author_id
            ),
        )
