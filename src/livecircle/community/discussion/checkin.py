"""The daily check-in task (打卡): an admin posts the day's topic (one per community and UTC
day); a member checks in on it once a day, optionally with a short text that becomes a comment
on the topic, and is paid ``community.checkin_task_points`` under the key
``community-checkin:{community}:{user}:{day}`` (a repeat never pays twice). A streak counts
consecutive days of check-ins in that community."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.community import service as community_service
from livecircle.community.discussion.comments import do_comment
from livecircle.community.discussion.errors import NoDailyTopic
from livecircle.community.discussion.events import TopicCheckedIn
from livecircle.community.discussion.models import VISIBLE, Post, TopicCheckIn
from livecircle.community.discussion.posts import get_daily_topic
from livecircle.community.discussion.screening import Author, Screen, Screened, check_texts, clean
from livecircle.config import Settings
from livecircle.economy import points
from livecircle.identity.schemas import Principal
from livecircle.kit.clock import utcnow
from livecircle.kit.db import dialect_insert, one_sqlite_writer
from livecircle.kit.events import emit

RULE = "group_checkin"  # the points rule name in the ledger and the daily earnings (≤ 16 chars)
TEXT_MAX = 500


@dataclass(frozen=True, slots=True)
class CheckInResult:
    check_in: TopicCheckIn
    created: bool


def points_key(community_id: int, user_id: int, day: date) -> str:
    return f"community-checkin:{community_id}:{user_id}:{day.isoformat()}"


async def today_topic(session: AsyncSession, community_id: int, day: date) -> Post | None:
    """The day's topic, if there is one members can see."""
    topic = await get_daily_topic(session, community_id, day)
    return topic if topic is not None and topic.state == VISIBLE else None


async def check_check_in(
    session: AsyncSession,
    screen: Screen,
    settings: Settings,
    principal: Principal,
    community_id: int,
    *,
    text: str | None,
    now: datetime | None = None,
) -> CheckInResult:
    """Check in on today's topic; a second check-in the same day returns the first (and its
    text, if any, is not posted).

    Raises CommunityNotFound, NotCommunityMember, NoDailyTopic, DiscussionTextInvalid,
    MessageBlocked. Emits TopicCheckedIn, PointsEarned."""
    assert principal.user_id is not None
    community = await community_service.check_member(session, principal, community_id)
    now = now or utcnow()
    topic = await today_topic(session, community.id, now.date())
    if topic is None:
        raise NoDailyTopic()
    existing = await session.get(TopicCheckIn, (community.id, principal.user_id, now.date()))
    if existing is not None:
        return CheckInResult(existing, created=False)
    author = Author(community.tenant_id, community.id, principal.user_id)
    screened = None
    if text and text.strip():
        limit = min(TEXT_MAX, settings.community.comment_max_length)
        screened = await check_texts(screen, author, "checkin", (clean(text, max_length=limit),))
    return await do_check_in(session, settings, topic, author, comment=screened, now=now)


async def do_check_in(
    session: AsyncSession,
    settings: Settings,
    topic: Post,
    author: Author,
    *,
    comment: Screened | None,
    now: datetime,
) -> CheckInResult:
    """One row per member, community and day (the primary key decides between concurrent
    check-ins); only the call that wrote it posts the comment and pays."""
    day = now.date()
    await one_sqlite_writer(session)
    previous = await session.get(TopicCheckIn, (topic.community_id, author.user_id, day - timedelta(days=1)))
    streak = previous.streak + 1 if previous is not None else 1
    pay = settings.community.checkin_task_points
    written = await session.scalar(
        dialect_insert(session, TopicCheckIn)
        .values(
            community_id=topic.community_id,
            user_id=author.user_id,
            day=day,
            post_id=topic.id,
            streak=streak,
            points=pay,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["community_id", "user_id", "day"])
        .returning(TopicCheckIn.day)
    )
    check_in = await session.get(
        TopicCheckIn, (topic.community_id, author.user_id, day), populate_existing=True
    )
    assert check_in is not None
    if written is None:
        return CheckInResult(check_in, created=False)
    if comment is not None:
        check_in.comment_id = (await do_comment(session, topic, author, comment, now=now)).id
    if pay:
        credit = points.Credit(
            author.tenant_id,
            author.user_id,
            RULE,
            points_key(topic.community_id, author.user_id, day),
            pay,
            now,
        )
        await points.do_credit(session, settings.economy, credit)
    await session.flush()
    emit(session, TopicCheckedIn(author.tenant_id, topic.community_id, author.user_id, day, streak, pay))
    return CheckInResult(check_in, created=True)


@dataclass(frozen=True, slots=True)
class CheckInStatus:
    day: date
    topic: Post | None
    checked_in: bool
    streak: int
    points: int


async def get_status(
    session: AsyncSession, settings: Settings, *, community_id: int, user_id: int, now: datetime | None = None
) -> CheckInStatus:
    """Today's topic, whether the member checked in, and the streak still alive (today's, or
    yesterday's while today is open)."""
    day = (now or utcnow()).date()
    rows = await session.scalars(
        select(TopicCheckIn).where(
            TopicCheckIn.community_id == community_id,
            TopicCheckIn.user_id == user_id,
            TopicCheckIn.day >= day - timedelta(days=1),
        )
    )
    by_day = {row.day: row for row in rows}
    latest = by_day.get(day) or by_day.get(day - timedelta(days=1))
    return CheckInStatus(
        day=day,
        topic=await today_topic(session, community_id, day),
        checked_in=day in by_day,
        streak=latest.streak if latest is not None else 0,
        points=settings.community.checkin_task_points,
    )
