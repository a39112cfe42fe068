"""What the API and pages show: posts, comments, activities and queue items with their
authors' names and the caller's own likes and sign-ups (a few queries per page, not per row)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.community.discussion import activities, likes
from livecircle.community.discussion.models import Activity, Comment, Post
from livecircle.community.discussion.schemas import ActivityOut, CommentOut, PostOut, QueueItemOut
from livecircle.identity.models import User
from livecircle.identity.schemas import Principal


async def names(session: AsyncSession, user_ids: Iterable[int]) -> dict[int, str]:
    wanted = set(user_ids)
    if not wanted:
        return {}
    rows = await session.execute(select(User.id, User.display_name).where(User.id.in_(wanted)))
    return {int(user_id): str(name) for user_id, name in rows.all()}


def _name(found: dict[int, str], user_id: int) -> str:
    return found.get(user_id) or f"#{user_id}"


async def post_views(session: AsyncSession, principal: Principal, posts: Sequence[Post]) -> list[PostOut]:
    found = await names(session, (p.author_id for p in posts))
    liked = await likes.liked_ids(session, user_id=principal.user_id, post_ids=[p.id for p in posts])
    return [
        PostOut(**_post_fields(post), author_name=_name(found, post.author_id), liked=post.id in liked)
        for post in posts
    ]


_POST_COLUMNS = [name for name in PostOut.model_fields if name not in ("author_name", "liked")]


def _post_fields(post: Post) -> dict[str, Any]:
    return {name: getattr(post, name) for name in _POST_COLUMNS}


async def post_view(session: AsyncSession, principal: Principal, post: Post) -> PostOut:
    [view] = await post_views(session, principal, [post])
    return view


async def comment_views(session: AsyncSession, comments: Sequence[Comment]) -> list[CommentOut]:
    found = await names(session, (c.author_id for c in comments))
    return [
        CommentOut(
            id=c.id,
            post_id=c.post_id,
            author_id=c.author_id,
            author_name=_name(found, c.author_id),
            body=c.body,
            state=c.state,
            created_at=c.created_at,
        )
        for c in comments
    ]


async def activity_views(
    session: AsyncSession, principal: Principal, rows: Sequence[Activity]
) -> list[ActivityOut]:
    mine = await activities.signed_up_ids(
        session, user_id=principal.user_id, activity_ids=[a.id for a in rows]
    )
    return [activity_view(a, signed_up=a.id in mine) for a in rows]


def activity_view(activity: Activity, *, signed_up: bool) -> ActivityOut:
    return ActivityOut(
        id=activity.id,
        community_id=activity.community_id,
        title=activity.title,
        description=activity.description,
        starts_at=activity.starts_at,
        ends_at=activity.ends_at,
        capacity=activity.capacity,
        signups=activity.signups,
        seats_left=activities.seats_left(activity),
        location=activity.location,
        link=activity.link,
        state=activity.state,
        signup_open=activities.signup_open(activity),
        signed_up=signed_up,
    )


async def queue_views(session: AsyncSession, items: Sequence[dict[str, Any]]) -> list[QueueItemOut]:
    found = await names(session, (item["author_id"] for item in items))
    return [QueueItemOut(**item, author_name=_name(found, item["author_id"])) for item in items]
