"""Comments on posts, through the word filter like posts. A post's ``comment_count`` is the
number of its visible comments: every change of a comment's state moves it in the same
transaction, conditional on the state read, so it stays exact under concurrency."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import false, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.community import service as community_service
from livecircle.community.discussion.errors import CommentNotFound, PostNotVisible
from livecircle.community.discussion.events import CommentPublished
from livecircle.community.discussion.models import DELETED, HELD, VISIBLE, Comment, Post
from livecircle.community.discussion.posts import access_post, check_may_change
from livecircle.community.discussion.screening import (
    Author,
    Screen,
    Screened,
    check_texts,
    clean,
    log_held,
)
from livecircle.config import CommunitySettings
from livecircle.identity.schemas import Principal
from livecircle.kit.clock import utcnow
from livecircle.kit.db import one_sqlite_writer
from livecircle.kit.events import emit
from livecircle.privacy import consent


async def get_comment(session: AsyncSession, comment_id: int) -> Comment:
    """Any comment but a deleted one. Raises CommentNotFound."""
    comment = await session.get(Comment, comment_id)
    if comment is None or comment.state == DELETED:
        raise CommentNotFound()
    return comment


async def access_comment(session: AsyncSession, principal: Principal, comment_id: int) -> Comment:
    """The comment if the caller may read it (as ``access_post``: visible ones and their own
    held ones for members, all for admins). Raises CommentNotFound, NotCommunityMember."""
    comment = await get_comment(session, comment_id)
    community = await community_service.check_member(session, principal, comment.community_id)
    if comment.state == VISIBLE or (comment.state == HELD and comment.author_id == principal.user_id):
        return comment
    if await community_service.is_admin(session, principal, community):
        return comment
    raise CommentNotFound()


async def check_comment(
    session: AsyncSession,
    screen: Screen,
    rules: CommunitySettings,
    principal: Principal,
    post_id: int,
    body: str,
) -> Comment:
    """Comment on a visible post.

    Raises PostNotFound, NotCommunityMember, PostNotVisible, DiscussionTextInvalid,
    MessageBlocked. Emits CommentPublished (unless held)."""
    assert principal.user_id is not None
    post = await access_post(session, principal, post_id)
    if post.state != VISIBLE:
        raise PostNotVisible()
    await consent.require_guardian(session, principal.user_id)
    author = Author(post.tenant_id, post.community_id, principal.user_id)
    screened = await check_texts(
        screen, author, "comment", (clean(body, max_length=rules.comment_max_length),)
    )
    return await do_comment(session, post, author, screened)


async def do_comment(
    session: AsyncSession, post: Post, author: Author, screened: Screened, *, now: datetime | None = None
) -> Comment:
    await one_sqlite_writer(session)
    comment = Comment(
        tenant_id=post.tenant_id,
        community_id=post.community_id,
        post_id=post.id,
        author_id=author.user_id,
        body=screened.texts[0],
        state=HELD if screened.held else VISIBLE,
        open_reports=0,
        flagged=screened.flagged,
        created_at=now or utcnow(),
    )
    session.add(comment)
    await session.flush()
    if screened.held:
        log_held(session, author, "comment", comment.id, screened.flagged)
        return comment
    await _count(session, post.id, +1)
    emit(session, CommentPublished(post.tenant_id, post.community_id, post.id, comment.id, author.user_id))
    return comment


async def _count(session: AsyncSession, post_id: int, step: int) -> None:
    await session.execute(
        update(Post)
        .where(Post.id == post_id)
        .values(comment_count=Post.comment_count + step)
        .execution_options(synchronize_session=False)
    )


async def set_comment_state(
    session: AsyncSession, comment: Comment, new: str, *, only_from: str | None = None
) -> str | None:
    """Move the comment to ``new`` (from ``only_from`` if given) and its post's count with it.
    Returns the state it left, or None when nothing changed."""
    await one_sqlite_writer(session)
    for _ in range(3):
        old = await session.scalar(select(Comment.state).where(Comment.id == comment.id))
        if old is None or old == new or (only_from is not None and old != only_from):
            break
        changed = await session.scalar(
            update(Comment)
            .where(Comment.id == comment.id, Comment.state == old)
            .values(state=new)
            .returning(Comment.id)
            .execution_options(synchronize_session=False)
        )
        if changed is not None:
            step = int(new == VISIBLE) - int(old == VISIBLE)
            if step:
                await _count(session, comment.post_id, step)
            await session.refresh(comment)
            return old
    await session.refresh(comment)
    return None


async def check_delete_comment(session: AsyncSession, principal: Principal, comment_id: int) -> None:
    """Raises CommentNotFound, NotCommunityMember, NotAuthor."""
    comment = await access_comment(session, principal, comment_id)
    await check_may_change(session, principal, comment.community_id, comment.author_id)
    await set_comment_state(session, comment, DELETED)


async def list_comments(
    session: AsyncSession, principal: Principal, post: Post, *, admin: bool, cursor: int | None, limit: int
) -> tuple[list[Comment], int | None]:
    """Oldest first after ``cursor`` (a comment id): visible ones and the caller's own held
    ones; admins also see held and hidden ones."""
    query = select(Comment).where(Comment.post_id == post.id, Comment.state != DELETED)
    if not admin:
        own = (
            (Comment.state == HELD) & (Comment.author_id == principal.user_id)
            if principal.user_id
            else false()
        )
        query = query.where(or_(Comment.state == VISIBLE, own))
    if cursor is not None:
        query = query.where(Comment.id > cursor)
    rows = list(await session.scalars(query.order_by(Comment.id).limit(limit + 1)))
    next_cursor = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], next_cursor
