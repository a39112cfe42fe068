"""Joining a community from the live room in a real browser: the host pushes the join card
from the console, it pops up on the viewer's room page, one click joins (credited to the live
show), and the community is then under "my communities". No media, SQLite (``stage``)."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from livecircle.commerce import coupons
from livecircle.community.models import CommunityMember
from livecircle.demo import DEMO_PASSWORD
from livecircle.live import service as live_service
from tests.e2e.journey import signed_in_context, wait_until
from tests.e2e.stage import HOST_EMAIL, Stage

pytestmark = pytest.mark.e2e


async def test_a_viewer_joins_from_the_pushed_card_and_finds_it_under_my_communities(stage: Stage) -> None:
    headers = {"Authorization": f"Bearer {stage.host_token}"}
    created = await stage.http.post(
        "/api/v1/communities",
        json={"name": "茶友会", "rules": "友善交流", "room_id": stage.room_id},
        headers=headers,
    )
    community = created.json()
    await stage.go_live()
    viewer = await stage.member("入群观众")
    room = await stage.open(viewer.email)
    await expect(room.locator(f"#community-list li[data-community-id='{community['id']}']")).to_be_visible()

    host = await stage.open(HOST_EMAIL)
    await host.goto(f"/console/rooms/{stage.room_id}")
    await host.locator(
        f"#community-console-table tr[data-community-id='{community['id']}'] .community-push"
    ).click()
    await expect(host.locator("#community-console-message")).to_have_text("卡片已推送给所有观众。")

    card = room.locator("#community-card")
    await expect(card.locator(".community-card-name")).to_have_text("👥 茶友会")
    await expect(card.locator(".community-card-count")).to_have_text("1 位成员")
    await card.locator(".community-card-join").click()
    await expect(card.locator(".community-welcome")).to_have_text("欢迎加入茶友会！")
    await expect(card.locator(".community-card-count")).to_have_text("2 位成员")  # the room event

    async with stage.server.db.unit_of_work() as session:
        member = await session.get(CommunityMember, (community["id"], viewer.user_id))
    assert member is not None
    assert member.source == "room"
    assert member.show_id is not None

    await room.click("#nav-communities")
    mine = room.locator(f"#my-communities [data-community-id='{community['id']}']")
    await expect(mine.locator(".community-name")).to_have_text("茶友会")
    await mine.locator(".community-name").click()
    await expect(room.locator("#community-leave")).to_be_visible()


async def test_the_first_visit_guide_explains_the_room_and_follows_for_the_gift(stage: Stage) -> None:
    async with stage.server.db.unit_of_work() as session:
        room = await live_service.get_room(session, stage.room_id)
        await coupons.do_create_template(
            session,
            tenant_id=room.tenant_id,
            name=f"关注礼{stage.room_id}",
            kind="fixed",
            amount_off_cents=500,
            channel="follow",
        )
    viewer = await stage.member("新观众")
    page = await stage.open(viewer.email, guide=True)
    dialog = page.locator("#guide")
    await expect(dialog).to_be_visible()  # opens by itself on the first visit
    await expect(page.locator("#guide-rules li").first).to_have_text("登录后即可发言。")
    gift = page.locator("#guide-follow-list li", has_text=f"关注礼{stage.room_id}")
    await expect(gift).to_contain_text("立减 ¥5.00")
    await expect(gift).to_contain_text("关注主播即可领取。")

    await page.click("#guide-follow-button")
    await expect(gift).to_contain_text("已放入你的券包 ✓")  # the follow handed the gift out
    await expect(page.locator("#follow-button")).to_have_text("已关注 ✓")
    await page.check("#guide-never")
    await page.click("#guide-close")
    await expect(dialog).to_be_hidden()

    await page.reload()
    await wait_until(page, "window.lcGuide !== undefined")
    await expect(dialog).to_be_hidden()  # seen: it does not open again by itself
    await page.click("#guide-button")
    await expect(dialog).to_be_visible()


async def test_a_member_posts_likes_and_checks_in_on_the_community_page(stage: Stage) -> None:
    headers = {"Authorization": f"Bearer {stage.host_token}"}
    made = await stage.http.post("/api/v1/communities", json={"name": "打卡群"}, headers=headers)
    community = made.json()
    topic = {"kind": "daily_topic", "title": "今日话题", "body": "你今天喝了什么茶？"}
    posted = await stage.http.post(
        f"/api/v1/communities/{community['id']}/posts", json=topic, headers=headers
    )
    assert posted.status_code == 201, posted.text
    member = await stage.member("群成员")
    member_headers = {"Authorization": f"Bearer {member.token}"}
    joined = await stage.http.post(f"/api/v1/communities/{community['id']}/join", headers=member_headers)
    assert joined.status_code == 200, joined.text
    context = await signed_in_context(stage.browser, stage.server.base_url, member.email, DEMO_PASSWORD)
    stage.contexts.append(context)
    page = await context.new_page()
    await page.goto(f"/communities/{community['id']}")

    await expect(page.locator("#cd-topic-body")).to_contain_text("你今天喝了什么茶？")
    await page.fill("#cd-post-body", "刚泡了一壶凤凰单丛")
    await page.click("#cd-post-submit")
    mine = page.locator("#cd-feed .cd-post", has=page.locator(".cd-body", has_text="刚泡了一壶凤凰单丛"))
    await expect(mine).to_be_visible()
    await mine.locator("button[data-action=like]").click()
    await expect(mine.locator("button[data-action=like]")).to_have_text("♥ 1")

    before = (await stage.http.get("/api/v1/points", headers=member_headers)).json()["balance"]
    await page.fill("#cd-checkin-text", "单丛，蜜兰香")
    await page.click("#cd-checkin")
    await expect(page.locator("#cd-streak")).to_contain_text("已连续打卡 1 天")
    await expect(page.locator("#cd-checkin-form")).to_be_hidden()
    after = (await stage.http.get("/api/v1/points", headers=member_headers)).json()["balance"]
    assert after - before == stage.server.settings.community.checkin_task_points
