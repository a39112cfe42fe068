"""Consent in a real browser: the separate payment consent asked in its own dialog before the
first top-up (saying "not now" pays nothing; agreeing continues the same top-up), and the
privacy-choices page where one click grants and one click withdraws. No CSP violation."""

from __future__ import annotations

import pytest
from playwright.async_api import Page

from livecircle.demo import DEMO_PASSWORD
from livecircle.privacy import consent
from tests.conftest import Account, make_account
from tests.e2e.journey import signed_in_context
from tests.e2e.stage import Stage

pytestmark = pytest.mark.e2e


async def signed_in_page(stage: Stage, account: Account) -> tuple[Page, list[str]]:
    context = await signed_in_context(stage.browser, stage.server.base_url, account.email, DEMO_PASSWORD)
    stage.contexts.append(context)
    page = await context.new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    return page, violations


async def allows(stage: Stage, account: Account, purpose: consent.Purpose) -> bool:
    async with stage.server.db.unit_of_work() as session:
        return await consent.allows(session, account.user_id, purpose)


async def test_the_first_top_up_asks_for_the_payment_consent_on_its_own(stage: Stage) -> None:
    buyer = await make_account(stage.server, name="首充", consents=())
    page, violations = await signed_in_page(stage, buyer)
    await page.goto("/wallet")
    await page.fill("#topup-coins", "300")
    await page.click("#topup-start")
    dialog = page.locator("#consent-dialog[data-purpose=payment]")
    await dialog.wait_for(state="visible", timeout=5_000)
    assert "支付信息（敏感个人信息，单独同意）" in await dialog.inner_text()
    await page.click("#consent-dialog-cancel")  # not now: nothing is paid, nothing recorded
    await page.locator("#topup-status.alert").wait_for(timeout=5_000)
    assert not await allows(stage, buyer, consent.Purpose.PAYMENT)

    await page.click("#topup-start")
    await dialog.wait_for(state="visible", timeout=5_000)
    await page.click("#consent-dialog-agree")
    await page.locator("#topup-status", has_text="300 金币，¥30.00，等待支付").wait_for(timeout=5_000)
    assert await allows(stage, buyer, consent.Purpose.PAYMENT)
    assert await page.locator("#consent-dialog").count() == 0
    assert violations == []


async def test_one_click_to_give_and_one_click_to_withdraw(stage: Stage) -> None:
    member = await make_account(stage.server, name="选择", consents=())
    page, violations = await signed_in_page(stage, member)
    await page.goto("/")
    await page.click("#nav-consent")
    await page.wait_for_url("**/me/consent")
    await page.click("#grant-marketing")
    await page.locator("#consent-saved").wait_for(timeout=5_000)
    assert await allows(stage, member, consent.Purpose.MARKETING)
    await page.click("#withdraw-marketing")
    await page.locator("#grant-marketing").wait_for(timeout=5_000)
    assert not await allows(stage, member, consent.Purpose.MARKETING)
    await page.click("#withdraw-profiling")
    await page.locator("#grant-profiling").wait_for(timeout=5_000)
    assert not await allows(stage, member, consent.Purpose.PROFILING)
    rows = page.locator("#consent-history tbody tr")
    assert await rows.count() == 3
    assert violations == []
