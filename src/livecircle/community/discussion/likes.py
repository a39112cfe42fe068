"""Likes on posts: one per account (the primary key decides between concurrent likes), and
``like_count`` moves in the same transaction as the row, so it is exact under any burst."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from livecircle.community.discussion.errors import PostNotVisible
from livecircle.community.discussion.events import PostLiked
from livecircle.community.discussion.models import VISIBLE, Post, PostLike
from livecircle.community.discussion.posts import access_post
from livecircle.identity.schemas import Principal
from livecircle.kit.clock import utcnow
from livecircle.kit.db import dialect_insert, one_sqlite_writer
from livecircle.kit.events import emit


async def check_like(session: AsyncSession, principal: Principal, post_id: int, *, liked: bool) -> Post:
    """Like (``liked``) or take the like back; repeating either changes nothing.

    Raises PostNotFound, NotCommunityMember, PostNotVisible. Emits PostLiked for a new like."""
    assert principal.user_id is not None
    post = await access_post(session, principal, post_id)
    if post.state != VISIBLE:
        raise PostNotVisible()
    if liked:
        await do_like(session, post, user_id=principal.user_id)
    else:
        await do_unlike(session, post, user_id=principal.user_id)
    return post


async def do_like(session: AsyncSession, post: Post, *, user_id: int) -> bool:
    """True when this call added the like."""
    await one_sqlite_writer(session)
    added = await session.scalar(
        dialect_insert(session, PostLike)
        .values(post_id=post.id, user_id=user_id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["post_id", "user_id"])
        .returning(PostLike.user_id)
    )
    if added is None:
        await session.refresh(post, ["like_count"])
        return False
    await _count(session, post, +1)
    emit(session, PostLiked(post.tenant_id, post.community_id, post.id, user_id, post.author_id))
    return True


async def do_unlike(session: AsyncSession, post: Post, *, user_id: int) -> bool:
    """True when this call took the like back."""
    await one_sqlite_writer(session)
    gone = await session.scalar(
        delete(PostLike)
        .where(PostLike.post_id == post.id, PostLike.user_id == user_id)
        .returning(PostLike.user_id)
    )
    if gone is None:
        await session.refresh(post, ["like_count"])
        return False
    await _count(session, post, -1)
    return True


async def _count(session: AsyncSession, post: Post, step: int) -> None:
    count = await session.scalar(
        update(Post)
        .where(Post.id == post.id)
        .values(like_count=Post.like_count + step)
        .returning(Post.like_count)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(post, "like_count", int(count or 0))


async def liked_ids(session: AsyncSession, *, user_id: int | None, post_ids: Sequence[int]) -> set[int]:
    """Which of ``post_ids`` the caller liked."""
    if user_id is None or not post_ids:
        return set()
    rows = await session.scalars(
        select(PostLike.post_id).where(PostLike.user_id == user_id, PostLike.post_id.in_(post_ids))
    )
    return set(rows)
