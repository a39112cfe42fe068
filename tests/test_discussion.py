"""Community discussion over the real API, on SQLite and PostgreSQL: posts, comments and likes
for members only; the word filter's block / mask / hold; one pinned announcement per community
(also in the database); the feed's order and cursor; likes exact under a concurrent burst;
activity sign-up never over capacity; the daily topic's check-in (打卡) paying once a day;
reports hiding at the threshold; the moderation queue's approve and remove."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from livecircle.community.discussion import checkin, posts
from livecircle.community.discussion import service as discussion_service
from livecircle.community.discussion.events import ActivityScheduled, ActivitySignedUp
from livecircle.community.discussion.models import (
    Activity,
    ActivitySignup,
    Comment,
    ContentReport,
    Post,
    PostLike,
)
from livecircle.community.discussion.reports import REPORTS_TO_HIDE
from livecircle.community.discussion.screening import Author, Screen, Screened
from livecircle.community.models import Community
from livecircle.identity.schemas import Principal
from livecircle.kit.clock import utcnow
from livecircle.kit.events import DomainEvent
from livecircle.moderation.models import ModerationLog
from tests.conftest import Account, RunningServer, make_account

Json = dict[str, Any]


def problem(answer: httpx.Response, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == code


async def new_community(client: httpx.AsyncClient, owner: Account, *members: Account) -> int:
    """A community owned by ``owner`` (a host) that ``members`` joined."""
    made = await client.post("/api/v1/communities", json={"name": "茶友会"}, headers=owner.headers)
    assert made.status_code == 201, made.text
    community_id: int = made.json()["id"]
    for member in members:
        joined = await client.post(f"/api/v1/communities/{community_id}/join", headers=member.headers)
        assert joined.status_code == 200, joined.text
    return community_id


async def people(server: RunningServer, count: int) -> list[Account]:
    return list(await asyncio.gather(*(make_account(server, name=f"成员{n}") for n in range(count))))


async def post(
    client: httpx.AsyncClient, who: Account, community_id: int, body: str, **fields: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/communities/{community_id}/posts", json={"body": body, **fields}, headers=who.headers
    )


async def posted(
    client: httpx.AsyncClient, who: Account, community_id: int, body: str, **fields: Any
) -> Json:
    answer = await post(client, who, community_id, body, **fields)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def feed(client: httpx.AsyncClient, who: Account, community_id: int, **params: Any) -> Json:
    answer = await client.get(f"/api/v1/communities/{community_id}/posts", params=params, headers=who.headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def get_post(client: httpx.AsyncClient, who: Account, post_id: int) -> Json:
    answer = await client.get(f"/api/v1/posts/{post_id}", headers=who.headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def balance(client: httpx.AsyncClient, who: Account) -> int:
    answer = await client.get("/api/v1/points", headers=who.headers)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["balance"])


@contextmanager
def captured(server: RunningServer, *kinds: type[DomainEvent]) -> Iterator[list[DomainEvent]]:
    """The events of ``kinds`` the server releases meanwhile."""
    seen: list[DomainEvent] = []

    async def record(event: DomainEvent) -> None:
        seen.append(event)

    for kind in kinds:
        server.db.bus.subscribe(kind, record)
    try:
        yield seen
    finally:
        for kind in kinds:
            server.db.bus._handlers[kind].remove(record)


async def test_members_post_comment_and_like_and_others_are_refused(
    client: httpx.AsyncClient, server: RunningServer, host: Account, viewer: Account, other_viewer: Account
) -> None:
    community_id = await new_community(client, host, viewer)

    problem(await post(client, other_viewer, community_id, "我还没入群"), 403, "not_community_member")
    refused = await client.get(f"/api/v1/communities/{community_id}/posts", headers=other_viewer.headers)
    problem(refused, 403, "not_community_member")
    assert (await client.get(f"/api/v1/communities/{community_id}/posts")).status_code == 401
    problem(await post(client, viewer, community_id, "公告", kind="announcement"), 403, "not_community_admin")
    problem(await post(client, viewer, community_id, "   "), 422, "validation_error")
    too_long = "长" * (server.settings.community.post_max_length + 1)
    problem(await post(client, viewer, community_id, too_long), 422, "discussion_text_invalid")

    mine = await posted(client, viewer, community_id, "  今天泡了一壶凤凰单丛\n香气很足  ", title=" 分享 ")
    assert (mine["body"], mine["title"], mine["author_name"], mine["state"]) == (
        "今天泡了一壶凤凰单丛\n香气很足",
        "分享",
        "观众甲",
        "visible",
    )
    problem(
        await client.get(f"/api/v1/posts/{mine['id']}", headers=other_viewer.headers),
        403,
        "not_community_member",
    )

    said = await client.post(
        f"/api/v1/posts/{mine['id']}/comments", json={"body": "欢迎！"}, headers=host.headers
    )
    assert said.status_code == 201, said.text
    assert said.json()["author_name"] == "主播"
    assert (await get_post(client, viewer, mine["id"]))["comment_count"] == 1
    listed = (await client.get(f"/api/v1/posts/{mine['id']}/comments", headers=viewer.headers)).json()
    assert [c["body"] for c in listed["items"]] == ["欢迎！"]

    for _ in range(2):  # idempotent: liking twice is one like
        liked = await client.put(f"/api/v1/posts/{mine['id']}/like", headers=host.headers)
        assert (liked.status_code, liked.json()["like_count"], liked.json()["liked"]) == (200, 1, True)
    assert (await get_post(client, host, mine["id"]))["liked"] is True
    assert (await get_post(client, viewer, mine["id"]))["liked"] is False
    for _ in range(2):
        gone = await client.delete(f"/api/v1/posts/{mine['id']}/like", headers=host.headers)
        assert (gone.status_code, gone.json()["like_count"], gone.json()["liked"]) == (200, 0, False)
    problem(
        await client.put(f"/api/v1/posts/{mine['id']}/like", headers=other_viewer.headers),
        403,
        "not_community_member",
    )

    comment_id = said.json()["id"]
    problem(await client.delete(f"/api/v1/comments/{comment_id}", headers=viewer.headers), 403, "not_author")
    assert (await client.delete(f"/api/v1/comments/{comment_id}", headers=host.headers)).status_code == 204
    assert (await get_post(client, viewer, mine["id"]))["comment_count"] == 0
    assert (await client.delete(f"/api/v1/posts/{mine['id']}", headers=viewer.headers)).status_code == 204
    problem(await client.get(f"/api/v1/posts/{mine['id']}", headers=viewer.headers), 404, "post_not_found")
    assert (await feed(client, viewer, community_id))["items"] == []


async def test_the_word_filter_blocks_masks_and_holds_posts_and_comments(
    client: httpx.AsyncClient, server: RunningServer, host: Account, viewer: Account, other_viewer: Account
) -> None:
    community_id = await new_community(client, host, viewer, other_viewer)

    problem(await post(client, viewer, community_id, "一起来网上赌博吧"), 422, "blocked")
    async with server.db.unit_of_work() as session:
        stored = await session.scalar(
            select(func.count()).select_from(Post).where(Post.community_id == community_id)
        )
        blocked = await session.scalar(
            select(func.count())
            .select_from(ModerationLog)
            .where(ModerationLog.action == "auto_block", ModerationLog.target_user_id == viewer.user_id)
        )
    assert (stored, blocked) == (0, 1)

    masked = await posted(client, viewer, community_id, "你这个傻逼说得不对")
    assert "傻逼" not in masked["body"]
    assert "**" in masked["body"]

    held = await post(client, viewer, community_id, "想买的加微信聊")
    assert held.status_code == 202, held.text
    assert (held.json()["state"], held.json()["body"]) == ("held", "想买的加微信聊")
    held_id = held.json()["id"]
    assert [p["id"] for p in (await feed(client, viewer, community_id))["items"]] == [held_id, masked["id"]]
    assert [p["id"] for p in (await feed(client, other_viewer, community_id))["items"]] == [masked["id"]]
    problem(await client.get(f"/api/v1/posts/{held_id}", headers=other_viewer.headers), 404, "post_not_found")

    comment_url = f"/api/v1/posts/{masked['id']}/comments"
    problem(
        await client.post(comment_url, json={"body": "百家乐走起"}, headers=other_viewer.headers),
        422,
        "blocked",
    )
    held_comment = await client.post(
        comment_url, json={"body": "私信我 vx 详谈"}, headers=other_viewer.headers
    )
    assert (held_comment.status_code, held_comment.json()["state"]) == (202, "held")
    assert (await get_post(client, viewer, masked["id"]))["comment_count"] == 0  # held: not counted
    seen_by_viewer = (await client.get(comment_url, headers=viewer.headers)).json()["items"]
    assert seen_by_viewer == []
    seen_by_admin = (await client.get(comment_url, headers=host.headers)).json()["items"]
    assert [c["state"] for c in seen_by_admin] == ["held"]

    queue = (
        await client.get(f"/api/v1/communities/{community_id}/moderation-queue", headers=host.headers)
    ).json()
    assert [(i["target_kind"], i["target_id"], i["state"], i["flagged"]) for i in queue] == [
        ("post", held_id, "held", "加微信"),
        ("comment", held_comment.json()["id"], "held", "vx"),
    ]
    approve = {"decision": "approve"}
    reviewed = await client.post(f"/api/v1/posts/{held_id}/review", json=approve, headers=host.headers)
    assert (reviewed.status_code, reviewed.json()["state"]) == (200, "visible")
    done = await client.post(
        f"/api/v1/comments/{held_comment.json()['id']}/review", json=approve, headers=host.headers
    )
    assert done.json()["state"] == "visible"
    assert [p["id"] for p in (await feed(client, other_viewer, community_id))["items"]] == [
        held_id,
        masked["id"],
    ]
    assert (await get_post(client, viewer, masked["id"]))["comment_count"] == 1


async def test_one_pinned_announcement_per_community(
    client: httpx.AsyncClient, server: RunningServer, host: Account, viewer: Account
) -> None:
    community_id = await new_community(client, host, viewer)
    first = await posted(client, host, community_id, "群规：友善交流", kind="announcement", pinned=True)
    plain = await posted(client, viewer, community_id, "大家好")
    assert first["pinned"] is True
    second = await posted(client, host, community_id, "本周六直播预告", kind="announcement", pinned=True)
    items = (await feed(client, viewer, community_id))["items"]
    assert [(p["id"], p["pinned"]) for p in items] == [
        (second["id"], True),
        (plain["id"], False),
        (first["id"], False),
    ]

    problem(
        await client.put(f"/api/v1/posts/{plain['id']}/pin", headers=host.headers), 409, "post_not_pinnable"
    )
    problem(
        await client.put(f"/api/v1/posts/{first['id']}/pin", headers=viewer.headers),
        403,
        "not_community_admin",
    )
    many = [await posted(client, host, community_id, f"公告 {n}", kind="announcement") for n in range(5)]
    answers = await asyncio.gather(
        *(client.put(f"/api/v1/posts/{a['id']}/pin", headers=host.headers) for a in [first, *many])
    )
    assert [a.status_code for a in answers] == [200] * 6
    async with server.db.unit_of_work() as session:
        rows = await session.scalars(
            select(Post.id).where(Post.community_id == community_id, Post.pinned.is_(True))
        )
        [winner] = list(rows)
    assert [p["id"] for p in (await feed(client, viewer, community_id))["items"] if p["pinned"]] == [winner]
    unpinned = await client.delete(f"/api/v1/posts/{winner}/pin", headers=host.headers)
    assert unpinned.json()["pinned"] is False
    assert not any(p["pinned"] for p in (await feed(client, viewer, community_id))["items"])

    # The database itself refuses a second pinned post, whatever the code above it does.
    with pytest.raises(IntegrityError):
        async with server.db.unit_of_work() as session:
            await session.execute(
                update(Post).where(Post.id.in_([first["id"], second["id"]])).values(pinned=True)
            )


async def test_the_feed_pages_by_cursor_with_the_pinned_post_on_top(
    client: httpx.AsyncClient, host: Account, viewer: Account
) -> None:
    community_id = await new_community(client, host, viewer)
    notice = await posted(client, host, community_id, "置顶公告", kind="announcement", pinned=True)
    ids = [(await posted(client, viewer, community_id, f"第{n}帖"))["id"] for n in range(5)]
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        page = await feed(client, viewer, community_id, limit=2, **({"cursor": cursor} if cursor else {}))
        seen.extend(p["id"] for p in page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [notice["id"], *reversed(ids)]
    assert pages == 3


async def test_likes_stay_exact_under_a_concurrent_burst(
    client: httpx.AsyncClient, server: RunningServer, host: Account
) -> None:
    crowd = await people(server, 20)
    community_id = await new_community(client, host, *crowd)
    target = await posted(client, host, community_id, "点赞测试")
    url = f"/api/v1/posts/{target['id']}/like"
    answers = await asyncio.gather(*(client.put(url, headers=who.headers) for who in crowd + crowd))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers if a.status_code != 200]
    assert (await get_post(client, host, target["id"]))["like_count"] == 20
    undone = await asyncio.gather(*(client.delete(url, headers=who.headers) for who in crowd[:10] * 2))
    assert all(a.status_code == 200 for a in undone)
    async with server.db.unit_of_work() as session:
        rows = await session.scalar(
            select(func.count()).select_from(PostLike).where(PostLike.post_id == target["id"])
        )
        count = await session.scalar(select(Post.like_count).where(Post.id == target["id"]))
    assert (rows, count) == (10, 10)


async def test_activity_sign_up_never_passes_capacity(
    client: httpx.AsyncClient, server: RunningServer, host: Account, other_viewer: Account
) -> None:
    crowd = await people(server, 12)
    community_id = await new_community(client, host, *crowd)
    starts = utcnow() + timedelta(hours=2)
    form = {
        "title": "线上品茶会",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=1)).isoformat(),
        "capacity": 5,
        "link": "https://meet.example.com/tea",
    }
    url = f"/api/v1/communities/{community_id}/activities"
    problem(await client.post(url, json=form, headers=crowd[0].headers), 403, "not_community_admin")
    late = {**form, "ends_at": (starts - timedelta(minutes=1)).isoformat()}
    problem(await client.post(url, json=late, headers=host.headers), 422, "activity_times_invalid")
    with captured(server, ActivityScheduled, ActivitySignedUp) as events:
        made = await client.post(url, json=form, headers=host.headers)
        assert made.status_code == 201, made.text
        activity_id = made.json()["id"]
        signup = f"/api/v1/activities/{activity_id}/signup"
        answers = await asyncio.gather(*(client.put(signup, headers=who.headers) for who in crowd))
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] * 5 + [409] * 7
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"activity_full"}
    scheduled = [e for e in events if isinstance(e, ActivityScheduled)]
    assert [(e.activity_id, e.community_id, e.starts_at) for e in scheduled] == [
        (activity_id, community_id, starts)
    ]
    assert len([e for e in events if isinstance(e, ActivitySignedUp)]) == 5
    winners = [who for who, a in zip(crowd, answers, strict=True) if a.status_code == 201]
    losers = [who for who, a in zip(crowd, answers, strict=True) if a.status_code == 409]

    shown = (await client.get(f"/api/v1/activities/{activity_id}", headers=winners[0].headers)).json()
    assert (shown["signups"], shown["seats_left"], shown["signed_up"], shown["signup_open"]) == (
        5,
        0,
        True,
        True,
    )
    again = await client.put(signup, headers=winners[0].headers)
    assert (again.status_code, again.json()["signups"]) == (200, 5)
    problem(await client.put(signup, headers=other_viewer.headers), 403, "not_community_member")
    problem(
        await client.patch(f"/api/v1/activities/{activity_id}", json={"capacity": 4}, headers=host.headers),
        409,
        "activity_capacity_below_signups",
    )

    freed = await client.delete(signup, headers=winners[0].headers)
    assert (freed.status_code, freed.json()["signups"], freed.json()["seats_left"]) == (200, 4, 1)
    assert (await client.put(signup, headers=losers[0].headers)).status_code == 201
    async with server.db.unit_of_work() as session:
        ids = await discussion_service.list_signup_user_ids(session, activity_id)
    assert sorted(ids) == sorted(w.user_id for w in [*winners[1:], losers[0]])

    later = starts + timedelta(days=1)
    with captured(server, ActivityScheduled) as moved:
        patch = {"starts_at": later.isoformat(), "ends_at": (later + timedelta(hours=1)).isoformat()}
        answer = await client.patch(f"/api/v1/activities/{activity_id}", json=patch, headers=host.headers)
        assert answer.status_code == 200, answer.text
    assert [(e.activity_id, e.starts_at) for e in moved if isinstance(e, ActivityScheduled)] == [
        (activity_id, later)
    ]

    async with server.db.unit_of_work() as session:  # the activity starts: sign-up closes
        await session.execute(update(Activity).where(Activity.id == activity_id).values(starts_at=utcnow()))
    problem(await client.put(signup, headers=losers[1].headers), 409, "activity_signup_closed")
    async with server.db.unit_of_work() as session:
        rows = await session.scalar(
            select(func.count()).select_from(ActivitySignup).where(ActivitySignup.activity_id == activity_id)
        )
    assert rows == 5


async def test_the_daily_check_in_pays_once_a_day(
    client: httpx.AsyncClient, server: RunningServer, host: Account, viewer: Account, other_viewer: Account
) -> None:
    community_id = await new_community(client, host, viewer, other_viewer)
    checkin_url = f"/api/v1/communities/{community_id}/checkin"
    problem(await client.post(checkin_url, headers=viewer.headers), 409, "no_daily_topic")
    problem(await post(client, viewer, community_id, "话题", kind="daily_topic"), 403, "not_community_admin")
    topic = await posted(client, host, community_id, "今天喝了什么茶？", kind="daily_topic", title="每日一茶")
    assert topic["topic_day"] == utcnow().date().isoformat()
    problem(
        await post(client, host, community_id, "第二个话题", kind="daily_topic"), 409, "daily_topic_exists"
    )

    points = server.settings.community.checkin_task_points
    assert points > 0
    before = await balance(client, viewer)
    first = await client.post(checkin_url, json={"text": "正山小种"}, headers=viewer.headers)
    assert first.status_code == 201, first.text
    assert (first.json()["streak"], first.json()["points"], first.json()["post_id"]) == (
        1,
        points,
        topic["id"],
    )
    assert first.json()["comment_id"] is not None
    again = await client.post(checkin_url, json={"text": "再打一次"}, headers=viewer.headers)
    assert (again.status_code, again.json()["created"]) == (200, False)
    assert await balance(client, viewer) == before + points
    assert (await get_post(client, viewer, topic["id"]))[
        "comment_count"
    ] == 1  # the second text is not posted

    other_before = await balance(client, other_viewer)
    burst = await asyncio.gather(*(client.post(checkin_url, headers=other_viewer.headers) for _ in range(5)))
    assert sorted(a.status_code for a in burst) == [200] * 4 + [201]
    assert await balance(client, other_viewer) == other_before + points

    status = (await client.get(checkin_url, headers=viewer.headers)).json()
    assert (status["checked_in"], status["streak"], status["topic"]["id"]) == (True, 1, topic["id"])

    # The next UTC day (through the service functions, with the clock moved): a new topic, a
    # second day of the streak, paid again.
    tomorrow = utcnow() + timedelta(days=1)
    screen = Screen(server.db, server.app.state.chat.filters)
    viewer_principal = Principal(user_id=viewer.user_id, tenant_id=None, role=None)
    async with server.db.unit_of_work() as session:
        community = await session.get(Community, community_id)
        assert community is not None
        author = Author(community.tenant_id, community_id, host.user_id)
        await posts.do_create_post(
            session, community, author, "daily_topic", Screened(("", "明天的话题"), False, ""), now=tomorrow
        )
    async with server.db.unit_of_work() as session:
        next_day = await checkin.check_check_in(
            session, screen, server.settings, viewer_principal, community_id, text=None, now=tomorrow
        )
    assert (next_day.created, next_day.check_in.streak) == (True, 2)
    assert await balance(client, viewer) == before + 2 * points


async def test_reports_hide_at_the_threshold_and_the_queue_resolves_them(
    client: httpx.AsyncClient, server: RunningServer, host: Account, viewer: Account
) -> None:
    reporters = await people(server, REPORTS_TO_HIDE)
    community_id = await new_community(client, host, viewer, *reporters)
    target = await posted(client, viewer, community_id, "这帖子会被举报")
    report_url = f"/api/v1/posts/{target['id']}/reports"
    problem(
        await client.post(report_url, json={"reason": "自己"}, headers=viewer.headers),
        409,
        "report_own_content",
    )

    for n, who in enumerate(reporters[:-1]):
        made = await client.post(report_url, json={"reason": f"广告{n}"}, headers=who.headers)
        assert made.status_code == 201, made.text
    repeat = await client.post(report_url, json={"reason": "再举报"}, headers=reporters[0].headers)
    assert repeat.status_code == 200  # one report per member: the first one back
    assert (await get_post(client, reporters[0], target["id"]))["state"] == "visible"
    last = await client.post(report_url, json={"reason": "刷屏"}, headers=reporters[-1].headers)
    assert last.status_code == 201
    problem(
        await client.get(f"/api/v1/posts/{target['id']}", headers=reporters[0].headers), 404, "post_not_found"
    )
    assert target["id"] not in [p["id"] for p in (await feed(client, reporters[0], community_id))["items"]]

    queue_url = f"/api/v1/communities/{community_id}/moderation-queue"
    problem(await client.get(queue_url, headers=viewer.headers), 403, "not_community_admin")
    [item] = (await client.get(queue_url, headers=host.headers)).json()
    assert (item["target_id"], item["state"], item["open_reports"]) == (
        target["id"],
        "hidden",
        REPORTS_TO_HIDE,
    )
    assert item["reasons"] == ["广告0", "广告1", "刷屏"]
    page = await client.get(
        f"/console/communities/{community_id}/queue", headers={**host.headers, "accept": "text/html"}
    )
    assert page.status_code == 200
    assert "这帖子会被举报" in page.text
    assert 'data-kind="post"' in page.text
    refused = await client.get(
        f"/console/communities/{community_id}/queue", headers={**viewer.headers, "accept": "text/html"}
    )
    assert refused.status_code == 403

    approved = await client.post(
        f"/api/v1/posts/{target['id']}/review", json={"decision": "approve"}, headers=host.headers
    )
    assert (approved.json()["state"], approved.json()["open_reports"]) == ("visible", 0)
    assert (await get_post(client, reporters[0], target["id"]))["state"] == "visible"
    assert (await client.get(queue_url, headers=host.headers)).json() == []

    # A comment reported by everybody at once is hidden once and counted off once; "remove" keeps it hidden.
    said = await client.post(
        f"/api/v1/posts/{target['id']}/comments", json={"body": "评论"}, headers=viewer.headers
    )
    comment_id = said.json()["id"]
    assert (await get_post(client, viewer, target["id"]))["comment_count"] == 1
    burst = await asyncio.gather(
        *(
            client.post(f"/api/v1/comments/{comment_id}/reports", json={}, headers=w.headers)
            for w in reporters * 2
        )
    )
    assert sorted(a.status_code for a in burst) == [200] * REPORTS_TO_HIDE + [201] * REPORTS_TO_HIDE
    assert (await get_post(client, viewer, target["id"]))["comment_count"] == 0
    removed = await client.post(
        f"/api/v1/comments/{comment_id}/review", json={"decision": "remove"}, headers=host.headers
    )
    assert (removed.json()["state"], removed.json()["open_reports"]) == ("hidden", 0)
    assert (await get_post(client, viewer, target["id"]))["comment_count"] == 0
    async with server.db.unit_of_work() as session:
        statuses = await session.execute(
            select(ContentReport.target_kind, ContentReport.status, func.count())
            .where(ContentReport.community_id == community_id)
            .group_by(ContentReport.target_kind, ContentReport.status)
        )
        comment = await session.get(Comment, comment_id)
    assert sorted(tuple(row) for row in statuses.all()) == [
        ("comment", "upheld", REPORTS_TO_HIDE),
        ("post", "dismissed", REPORTS_TO_HIDE),
    ]
    assert comment is not None
    assert comment.state == "hidden"
