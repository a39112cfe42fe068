"""Posts, announcements and daily topics: write (through the word filter), read (the feed:
pinned first, then newest, by cursor), pin (one announcement per community), delete, and the
state changes review and reports make. Everything runs in the caller's unit of work."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ColumnElement, false, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from livecircle.community import service as community_service
from livecircle.community.discussion.errors import (
    DailyTopicExists,
    NotAuthor,
    NotPinnable,
    PostNotFound,
)
from livecircle.community.discussion.events import PostPublished
from livecircle.community.discussion.models import DELETED, HELD, VISIBLE, Post
from livecircle.community.discussion.schemas import PostCreate
from livecircle.community.discussion.screening import (
    Author,
    Screen,
    Screened,
    check_texts,
    clean,
    log_held,
)
from livecircle.community.models import Community
from livecircle.config import CommunitySettings
from livecircle.identity.schemas import Principal
from livecircle.kit.clock import utcnow
from livecircle.kit.db import one_sqlite_writer
from livecircle.kit.events import emit
from livecircle.privacy import consent

ADMIN_KINDS = ("announcement", "daily_topic")
TITLE_MAX = 200


async def get_post(session: AsyncSession, post_id: int) -> Post:
    """Any post but a deleted one. Raises PostNotFound."""
    post = await session.get(Post, post_id)
    if post is None or post.state == DELETED:
        raise PostNotFound()
    return post


async def access_post(session: AsyncSession, principal: Principal, post_id: int) -> Post:
    """The post if the caller may read it: members see visible posts and their own held ones,
    admins every post but deleted ones.

    Raises PostNotFound, CommunityNotFound, NotCommunityMember."""
    post = await get_post(session, post_id)
    community = await community_service.check_member(session, principal, post.community_id)
    if post.state == VISIBLE or (post.state == HELD and post.author_id == principal.user_id):
        return post
    if await community_service.is_admin(session, principal, community):
        return post
    raise PostNotFound()


async def check_may_change(
    session: AsyncSession, principal: Principal, community_id: int, author_id: int
) -> None:
    """Its author, or an admin of the community. Raises NotAuthor."""
    if principal.user_id == author_id:
        return
    community = await community_service.get_community(session, community_id)
    if not await community_service.is_admin(session, principal, community):
        raise NotAuthor()


# ---- writing ----


async def check_create_post(
    session: AsyncSession,
    screen: Screen,
    rules: CommunitySettings,
    principal: Principal,
    community_id: int,
    data: PostCreate,
) -> Post:
    """A post by a member; announcements and daily topics by admins only.

    A daily topic is the community's topic of the current UTC day (one a day). Held by the
    word filter, the post is stored ``held`` (shown to its author and the admins' queue).
    Raises CommunityNotFound, NotCommunityMember, NotCommunityAdmin, DiscussionTextInvalid,
    MessageBlocked, DailyTopicExists. Emits PostPublished (unless held)."""
    assert principal.user_id is not None
    community = await community_service.check_member(session, principal, community_id)
    await consent.require_guardian(session, principal.user_id)
    if data.kind in ADMIN_KINDS:
        await community_service.check_admin(session, principal, community_id)
    title = clean(data.title, max_length=TITLE_MAX, one_line=True, required=False)
    body = clean(data.body, max_length=rules.post_max_length)
    author = Author(community.tenant_id, community.id, principal.user_id)
    screened = await check_texts(screen, author, "post", (title, body))
    post = await do_create_post(session, community, author, data.kind, screened)
    if screened.held:
        log_held(session, author, "post", post.id, screened.flagged)
    elif data.pinned and data.kind == "announcement":
        await do_pin(session, post)
    return post


async def do_create_post(
    session: AsyncSession,
    community: Community,
    author: Author,
    kind: str,
    screened: Screened,
    *,
    now: datetime | None = None,
) -> Post:
    """Store a screened (title, body). Raises DailyTopicExists. Emits PostPublished (unless held)."""
    now = now or utcnow()
    title, body = screened.texts
    held = screened.held
    post = Post(
        tenant_id=community.tenant_id,
        community_id=community.id,
        author_id=author.user_id,
        kind=kind,
        title=title,
        body=body,
        state=HELD if held else VISIBLE,
        pinned=False,
        topic_day=now.date() if kind == "daily_topic" else None,
        like_count=0,
        comment_count=0,
        open_reports=0,
        flagged=screened.flagged,
        created_at=now,
    )
    await one_sqlite_writer(session)
    session.add(post)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:  # the unique (community, topic_day): today's topic is there already
        raise DailyTopicExists() from None
    if not held:
        emit(session, PostPublished(post.tenant_id, post.community_id, post.id, post.author_id, post.kind))
    return post


# ---- pinning ----


async def check_pin(session: AsyncSession, principal: Principal, post_id: int, *, pinned: bool) -> Post:
    """Pin a visible announcement on top of the feed (unpinning the one pinned before), or unpin it.

    Raises PostNotFound, NotCommunityAdmin, NotPinnable."""
    post = await get_post(session, post_id)
    await community_service.check_admin(session, principal, post.community_id)
    if not pinned:
        await _set_pinned(session, post, False)
        return post
    if post.kind != "announcement" or post.state != VISIBLE:
        raise NotPinnable()
    await do_pin(session, post)
    return post


async def do_pin(session: AsyncSession, post: Post) -> None:
    """Two admins pinning at once take turns on the community (its row locked on PostgreSQL, one
    writer on SQLite); the partial unique index is the backstop."""
    await one_sqlite_writer(session)
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(Community.id).where(Community.id == post.community_id).with_for_update())
    await session.execute(
        update(Post)
        .where(Post.community_id == post.community_id, Post.pinned.is_(True), Post.id != post.id)
        .values(pinned=False)
        .execution_options(synchronize_session="fetch")
    )
    await _set_pinned(session, post, True)


async def _set_pinned(session: AsyncSession, post: Post, pinned: bool) -> None:
    await session.execute(
        update(Post)
        .where(Post.id == post.id)
        .values(pinned=pinned)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(post, "pinned", pinned)


# ---- state changes ----


async def set_post_state(
    session: AsyncSession, post: Post, new: str, *, only_from: str | None = None
) -> str | None:
    """Move the post to ``new`` (from ``only_from`` if given); a post leaving ``visible`` is
    unpinned. Conditional on the state read, so two concurrent changes cannot both count.
    Returns the state it left, or None when nothing changed."""
    await one_sqlite_writer(session)
    for _ in range(3):
        old = await session.scalar(select(Post.state).where(Post.id == post.id))
        if old is None or old == new or (only_from is not None and old != only_from):
            break
        values: dict[str, object] = {"state": new} if new == VISIBLE else {"state": new, "pinned": False}
        changed = await session.scalar(
            update(Post)
            .where(Post.id == post.id, Post.state == old)
            .values(**values)
            .returning(Post.id)
            .execution_options(synchronize_session=False)
        )
        if changed is not None:
            await session.refresh(post)
            return old
    await session.refresh(post)
    return None


async def check_delete_post(session: AsyncSession, principal: Principal, post_id: int) -> None:
    """Raises PostNotFound, NotCommunityMember, NotAuthor."""
    post = await access_post(session, principal, post_id)
    await check_may_change(session, principal, post.community_id, post.author_id)
    await set_post_state(session, post, DELETED)


# ---- reading ----


def readable(principal: Principal) -> ColumnElement[bool]:
    """Visible posts, and the caller's own held ones."""
    own_held = (Post.state == HELD) & (Post.author_id == principal.user_id) if principal.user_id else false()
    return or_(Post.state == VISIBLE, own_held)


async def list_feed(
    session: AsyncSession, principal: Principal, community_id: int, *, cursor: int | None, limit: int
) -> tuple[list[Post], int | None]:
    """The pinned announcement first (first page only), then the newest posts before ``cursor``
    (a post id). Returns the page and the cursor of the next one (None: no more)."""
    base = select(Post).where(Post.community_id == community_id, readable(principal))
    page: list[Post] = []
    if cursor is None:
        page.extend(await session.scalars(base.where(Post.pinned.is_(True))))
    rest = base.where(Post.pinned.is_(False))
    if cursor is not None:
        rest = rest.where(Post.id < cursor)
    rows = list(await session.scalars(rest.order_by(Post.id.desc()).limit(limit + 1)))
    next_cursor = rows[limit - 1].id if len(rows) > limit else None
    return page + rows[:limit], next_cursor


async def get_daily_topic(session: AsyncSession, community_id: int, day: date) -> Post | None:
    found: Post | None = await session.scalar(
        select(Post).where(
            Post.community_id == community_id, Post.topic_day == day, Post.kind == "daily_topic"
        )
    )
    return found


async def is_community_admin(session: AsyncSession, principal: Principal, community_id: int) -> bool:
    community = await community_service.get_community(session, community_id)
    return await community_service.is_admin(session, principal, community)
