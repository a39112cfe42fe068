"""Polls in a real browser (issue 6): the host launches a poll from the console page, two signed-in
viewers see it pop up in the room, each votes a different option, and both pages show the new
counts without a reload; the host's list counts the ballots too. No media (adapter "none")."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Locator, Page, expect

from livecircle.demo import DEMO_PASSWORD
from tests.e2e.journey import signed_in_context
from tests.e2e.stage import HOST_EMAIL, Stage

pytestmark = pytest.mark.e2e

TITLE = "下一款上什么颜色？"
COLOURS = ["樱花粉", "薄荷绿", "雾霾蓝"]


async def host_console(stage: Stage) -> Page:
    context = await signed_in_context(stage.browser, stage.server.base_url, HOST_EMAIL, DEMO_PASSWORD)
    stage.contexts.append(context)
    page = await context.new_page()
    await page.goto(f"/console/rooms/{stage.room_id}")
    await page.locator("#poll-form .poll-option-input").first.wait_for()
    return page


async def launch_poll(host: Page) -> None:
    """Title, three options (the third added with the button), single choice, 60 s, launch."""
    await host.locator("#poll-title").fill(TITLE)
    await host.click("#poll-form .poll-q-add-option")
    options = host.locator("#poll-form .poll-option-input")
    await expect(options).to_have_count(3)
    for i, colour in enumerate(COLOURS):
        await options.nth(i).fill(colour)
    await host.locator("#poll-duration").fill("60")
    await host.click("#poll-launch")
    await expect(host.locator("#poll-form-message")).to_have_text("投票已发起，所有观众都能看到。")


async def vote(page: Page, colour: str) -> None:
    card = page.locator(".poll-card", has_text=TITLE)
    await card.locator(".poll-option", has_text=colour).click()
    await card.locator(".poll-vote").click()
    await expect(card.locator(".poll-message")).to_have_text("投票成功，感谢参与！")


async def test_two_viewers_vote_and_both_see_the_results_update(stage: Stage) -> None:
    await stage.go_live()
    first, second = await stage.member("投票甲"), await stage.member("投票乙")
    viewers = list(await asyncio.gather(stage.open(first.email), stage.open(second.email)))
    for page in viewers:  # a reload would lose this mark
        await page.evaluate("window.__sameDocument = true")
    host = await host_console(stage)
    await launch_poll(host)

    # The card pops up on both pages without a reload: the question, three choices, a countdown.
    for page in viewers:
        card = page.locator(".poll-card", has_text=TITLE)
        await expect(card).to_be_visible(timeout=5_000)
        await expect(card.locator(".poll-option")).to_have_text(COLOURS)
        await expect(card.locator(".poll-option input[type=radio]")).to_have_count(3)
        await expect(card.locator(".poll-countdown")).to_contain_text("后截止")
        await expect(card.locator(".poll-results")).to_be_hidden()

    # Viewer A votes first and sees the results at once; B then votes another colour.
    await vote(viewers[0], COLOURS[0])
    first_card = viewers[0].locator(".poll-card", has_text=TITLE)
    await expect(first_card.locator(".poll-total")).to_have_attribute("data-ballots", "1")
    await expect(first_card.locator(".poll-bar.mine")).to_contain_text(COLOURS[0])
    await vote(viewers[1], COLOURS[2])

    # Both pages count two ballots, one vote each for pink and blue, without a reload.
    expected = {COLOURS[0]: ("1", "50%"), COLOURS[1]: ("0", "0%"), COLOURS[2]: ("1", "50%")}
    for page in viewers:
        card = page.locator(".poll-card", has_text=TITLE)
        await expect(card.locator(".poll-total")).to_have_attribute("data-ballots", "2", timeout=5_000)
        await expect(card.locator(".poll-total")).to_have_text("2 人已投票")
        for colour, (votes, percent) in expected.items():
            bar = card.locator(".poll-bar", has_text=colour)
            await expect(bar).to_have_attribute("data-votes", votes)
            await expect(bar.locator(".poll-votes")).to_have_text(f"{votes} 票")
            await expect(bar.locator(".poll-percent")).to_have_text(percent)
        assert await page.evaluate("window.__sameDocument === true")

    # The host's list counts them too, and offers the CSV export.
    row = host.locator("#poll-list tr", has_text=TITLE)
    await expect(row.locator(".poll-ballots")).to_have_text("2 人已投票", timeout=8_000)
    csv_url = f"/api/v1/polls/{await poll_id(row)}/results.csv"
    await expect(row.locator(".poll-csv")).to_have_attribute("href", csv_url)

    # The host closes it: both viewers see the final results.
    await row.locator(".poll-close").click()
    await expect(host.locator("#poll-list-message")).to_have_text("投票已结束。")
    for page in viewers:
        card = page.locator(".poll-card", has_text=TITLE)
        await expect(card.locator(".poll-countdown")).to_have_text("已结束", timeout=5_000)
        await expect(card.locator(".poll-final")).to_be_visible()


async def poll_id(row: Locator) -> str:
    value = await row.get_attribute("data-poll-id")
    assert value
    return value
