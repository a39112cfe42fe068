"""Live Q&A in a real browser: a viewer asks, another upvotes, the host marks it answered, and
all three room pages follow over the socket without a reload. No media (adapter "none"),
SQLite (the ``stage`` fixture, tests/e2e/conftest.py)."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Locator, Page, expect

from tests.e2e.stage import HOST_EMAIL, Stage

pytestmark = pytest.mark.e2e


def question(page: Page, text: str) -> Locator:
    return page.locator("#qa-list .qa-item", has=page.locator(".qa-text", has_text=text))


async def test_a_question_is_asked_upvoted_and_answered_on_every_page(stage: Stage) -> None:
    await stage.go_live()
    asker, voter = await stage.member("提问者"), await stage.member("点赞者")
    mine, theirs, host = await asyncio.gather(
        stage.open(asker.email), stage.open(voter.email), stage.open(HOST_EMAIL)
    )
    for page in (mine, theirs, host):
        await expect(page.locator("#qa-panel")).to_have_attribute("data-live", "true")
        await expect(page.locator("#qa-empty")).to_be_visible()

    text = "这款礼盒可以定制贺卡吗？"
    await mine.fill("#qa-input", text)
    await mine.click("#qa-ask")
    await expect(mine.locator("#qa-input")).to_have_value("")
    for page in (mine, theirs, host):
        await expect(question(page, text).locator(".qa-votes")).to_have_text("0")
        await expect(page.locator("#qa-count")).to_have_text("1 个问题")
    await expect(question(mine, text).locator(".qa-vote")).to_be_disabled()  # not your own
    assert await theirs.locator(".qa-actions").count() == 0  # viewers get no moderator buttons
    assert await mine.locator(".qa-actions").count() == 0

    await question(theirs, text).locator(".qa-vote").click()
    await expect(question(theirs, text).locator(".qa-vote")).to_have_attribute("aria-pressed", "true")
    for page in (mine, theirs, host):
        await expect(question(page, text).locator(".qa-votes")).to_have_text("1")

    await question(host, text).locator(".qa-answer").click()
    for page in (mine, theirs, host):
        await expect(question(page, text).locator(".qa-badge.answered")).to_have_text("✓ 已回答")
    await expect(question(theirs, text).locator(".qa-vote")).to_be_disabled()  # answered: voting over
    await expect(question(host, text).locator(".qa-answer")).to_have_text("重新打开")
