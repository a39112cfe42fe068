"""Discussion JSON API: the feed, posts, announcements and daily topics, comments, likes and
the daily check-in task (打卡). Members only; announcements, daily topics and pins are for the
community's admins. Held by the word filter, a post or comment answers 202 (state ``held``)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from livecircle.community import service as community_service
from livecircle.community.discussion import checkin, comments, likes, posts, views
from livecircle.community.discussion.deps import Cursor, Limit, ObjectId, TextScreen
from livecircle.community.discussion.models import HELD
from livecircle.community.discussion.schemas import (
    CheckInIn,
    CheckInOut,
    CheckInStatusOut,
    CommentIn,
    CommentOut,
    CommentsOut,
    FeedOut,
    LikeOut,
    PostCreate,
    PostOut,
)
from livecircle.identity.deps import CurrentUser
from livecircle.kit.deps import AppSettings, DbSession

router = APIRouter(prefix="/api/v1", tags=["community discussion"])


@router.get("/communities/{community_id}/posts")
async def feed(
    community_id: ObjectId,
    session: DbSession,
    principal: CurrentUser,
    cursor: Cursor = None,
    limit: Limit = 20,
) -> FeedOut:
    """The pinned announcement first, then the newest posts; pass ``next_cursor`` back for older ones."""
    await community_service.check_member(session, principal, community_id)
    rows, next_cursor = await posts.list_feed(session, principal, community_id, cursor=cursor, limit=limit)
    return FeedOut(items=await views.post_views(session, principal, rows), next_cursor=next_cursor)


@router.post("/communities/{community_id}/posts", status_code=status.HTTP_201_CREATED)
async def create_post(
    community_id: ObjectId,
    data: PostCreate,
    session: DbSession,
    principal: CurrentUser,
    settings: AppSettings,
    screen: TextScreen,
    response: Response,
) -> PostOut:
    """201 when members see it; 202 when the word filter held it for an admin."""
    post = await posts.check_create_post(session, screen, settings.community, principal, community_id, data)
    if post.state == HELD:
        response.status_code = status.HTTP_202_ACCEPTED
    return await views.post_view(session, principal, post)


@router.get("/posts/{post_id}")
async def get_post(post_id: ObjectId, session: DbSession, principal: CurrentUser) -> PostOut:
    return await views.post_view(session, principal, await posts.access_post(session, principal, post_id))


@router.delete("/posts/{post_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_post(post_id: ObjectId, session: DbSession, principal: CurrentUser) -> Response:
    """Its author or an admin."""
    await posts.check_delete_post(session, principal, post_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/posts/{post_id}/pin")
async def pin(post_id: ObjectId, session: DbSession, principal: CurrentUser) -> PostOut:
    """Pin an announcement on top (the one pinned before is unpinned)."""
    post = await posts.check_pin(session, principal, post_id, pinned=True)
    return await views.post_view(session, principal, post)


@router.delete("/posts/{post_id}/pin")
async def unpin(post_id: ObjectId, session: DbSession, principal: CurrentUser) -> PostOut:
    post = await posts.check_pin(session, principal, post_id, pinned=False)
    return await views.post_view(session, principal, post)


@router.put("/posts/{post_id}/like")
async def like(post_id: ObjectId, session: DbSession, principal: CurrentUser) -> LikeOut:
    """Idempotent: liking twice is one like."""
    post = await likes.check_like(session, principal, post_id, liked=True)
    return LikeOut(post_id=post.id, like_count=post.like_count, liked=True)


@router.delete("/posts/{post_id}/like")
async def unlike(post_id: ObjectId, session: DbSession, principal: CurrentUser) -> LikeOut:
    post = await likes.check_like(session, principal, post_id, liked=False)
    return LikeOut(post_id=post.id, like_count=post.like_count, liked=False)


@router.get("/posts/{post_id}/comments")
async def post_comments(
    post_id: ObjectId, session: DbSession, principal: CurrentUser, cursor: Cursor = None, limit: Limit = 50
) -> CommentsOut:
    """Oldest first; admins also see held and hidden comments."""
    post = await posts.access_post(session, principal, post_id)
    admin = await posts.is_community_admin(session, principal, post.community_id)
    rows, next_cursor = await comments.list_comments(
        session, principal, post, admin=admin, cursor=cursor, limit=limit
    )
    return CommentsOut(items=await views.comment_views(session, rows), next_cursor=next_cursor)


@router.post("/posts/{post_id}/comments", status_code=status.HTTP_201_CREATED)
async def comment(
    post_id: ObjectId,
    data: CommentIn,
    session: DbSession,
    principal: CurrentUser,
    settings: AppSettings,
    screen: TextScreen,
    response: Response,
) -> CommentOut:
    """201 when members see it; 202 when the word filter held it for an admin."""
    row = await comments.check_comment(session, screen, settings.community, principal, post_id, data.body)
    if row.state == HELD:
        response.status_code = status.HTTP_202_ACCEPTED
    [view] = await views.comment_views(session, [row])
    return view


@router.delete("/comments/{comment_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_comment(comment_id: ObjectId, session: DbSession, principal: CurrentUser) -> Response:
    await comments.check_delete_comment(session, principal, comment_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/communities/{community_id}/checkin")
async def check_in_status(
    community_id: ObjectId, session: DbSession, principal: CurrentUser, settings: AppSettings
) -> CheckInStatusOut:
    """Today's topic (UTC day), whether the caller checked in, and the streak in this community."""
    assert principal.user_id is not None
    await community_service.check_member(session, principal, community_id)
    found = await checkin.get_status(session, settings, community_id=community_id, user_id=principal.user_id)
    topic = await views.post_view(session, principal, found.topic) if found.topic else None
    return CheckInStatusOut(
        day=found.day, topic=topic, checked_in=found.checked_in, streak=found.streak, points=found.points
    )


@router.post("/communities/{community_id}/checkin", status_code=status.HTTP_201_CREATED)
async def check_in(
    community_id: ObjectId,
    session: DbSession,
    principal: CurrentUser,
    settings: AppSettings,
    screen: TextScreen,
    response: Response,
    data: CheckInIn | None = None,
) -> CheckInOut:
    """Check in on today's topic: 201 and points the first time a day, 200 with the same check-in after."""
    text = data.text if data else None
    done = await checkin.check_check_in(session, screen, settings, principal, community_id, text=text)
    if not done.created:
        response.status_code = status.HTTP_200_OK
    return CheckInOut.model_validate(done.check_in).model_copy(update={"created": done.created})
