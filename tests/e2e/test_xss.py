"""User markup never runs (ASVS v5.0.0-3.2.2, 3.4.3): an XSS payload corpus as chat lines in a
live room, as community posts, titles and comments, and as display names, rendered in Chromium.

Every payload, if it ran, would set ``window.__xss`` or open a dialog. The pages are opened
twice: under the site's CSP (no script may run, and no CSP violation may be reported: the pages
never even try to insert markup), and with the CSP bypassed (the rendering alone, with
``textContent``, must keep every payload inert). The payloads must show as the literal text.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Dialog, Page

from livecircle.demo import DEMO_PASSWORD
from tests.conftest import Account, make_account
from tests.e2e.journey import wait_until
from tests.e2e.stage import Stage

pytestmark = pytest.mark.e2e

PAYLOADS = [
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=2">',
    "<svg onload=window.__xss=3>",
    "<svg/onload=alert(4)>",
    "<ScRiPt>window.__xss=5</sCrIpT>",
    '"><img src=x onerror=window.__xss=6>',
    "'><script>window.__xss=7</script>",
    "</script><script>window.__xss=8</script>",
    '<iframe src="javascript:parent.__xss=9"></iframe>',
    '<a href="javascript:window.__xss=10">点我领券</a>',
    "[点我](javascript:window.__xss=11)",
    "<body onload=window.__xss=12>",
    "<details open ontoggle=window.__xss=13>",
    "<input autofocus onfocus=window.__xss=14>",
    "<video><source onerror=window.__xss=15></video>",
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=16>",
    "&lt;script&gt;window.__xss=17&lt;/script&gt;",
    "&#60;img src=x onerror=window.__xss=18&#62;",
    "\\u003cimg src=x onerror=window.__xss=19\\u003e",
    "<img src=x onerror=&#x77;indow.__xss=20>",
    "javascript:window.__xss=21",
    '<object data="javascript:window.__xss=22"></object>',
    '<embed src="javascript:window.__xss=23">',
    "<style>@import 'javascript:window.__xss=24';</style>",
    '<div style="background:url(javascript:window.__xss=25)">样式</div>',
    "<marquee onstart=window.__xss=26>滚动</marquee>",
    "{{constructor.constructor('window.__xss=27')()}}",
    "${window.__xss=28}",
    '<base href="javascript:window.__xss=29//">',
    "<form><button formaction=javascript:window.__xss=30>提交</button></form>",
    '<img src="x" onerror="alert(31)"/>',
    "<svg><script>window.__xss=32</script></svg>",
    '<a href="jAvAsCrIpT:window.__xss=33">x</a>',
    "<img src=x:x onerror=eval(atob('d2luZG93Ll9feHNzPTM0'))>",
    '" onmouseover="window.__xss=35" x="',
    '<meta http-equiv="refresh" content="0;url=javascript:window.__xss=36">',
    "＜script＞window.__xss=37＜/script＞",
    '<noscript><p title="</noscript><img src=x onerror=window.__xss=38>">',
    "<img src=x onerror=window.__xss=39>主播好！",
    "<<script>script>window.__xss=40<</script>/script>",
]
NAMES = [  # display names are shown beside every line and post
    "<img src=x onerror=window.__xss=101>",
    '"><svg onload=window.__xss=102>',
    "<script>window.__xss=103</script>",
    "'-alert(104)-'",
]
WATCH = """
window.__csp = [];
window.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push([e.violatedDirective, e.blockedURI, e.sourceFile, e.lineNumber, e.sample].join(" "));
});
"""


class Observed:
    """What a browser context saw: dialogs and console complaints about the CSP."""

    def __init__(self) -> None:
        self.dialogs: list[str] = []
        self.console: list[str] = []

    def watch(self, page: Page) -> None:
        async def on_dialog(dialog: Dialog) -> None:
            self.dialogs.append(dialog.message)
            await dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on(
            "console",
            lambda m: (
                self.console.append(f"{page.url} {m.location} {m.text}")
                if "Content Security Policy" in m.text
                else None
            ),
        )


async def verdict(page: Page, observed: Observed) -> dict[str, Any]:
    found: dict[str, Any] = await page.evaluate("({xss: window.__xss ?? null, csp: window.__csp || []})")
    return {**found, "dialogs": list(observed.dialogs), "console": list(observed.console)}


async def context_for(stage: Stage, account: Account, *, bypass_csp: bool) -> BrowserContext:
    context = await stage.browser.new_context(
        base_url=stage.server.base_url,
        locale="zh-CN",
        bypass_csp=bypass_csp,
        viewport={"width": 1280, "height": 900},
    )
    stage.contexts.append(context)
    await context.add_init_script('localStorage.setItem("lc_guide_seen:all", "1");' + WATCH)
    page = await context.new_page()
    await page.goto("/login")
    await page.fill("input[name=email]", account.email)
    await page.fill("input[name=password]", DEMO_PASSWORD)
    await page.click("form[action='/login'] [type=submit]")
    await page.wait_for_url(lambda url: "/login" not in url)
    await page.close()
    return context


Call = Callable[..., Awaitable[Any]]


async def seed_payloads(stage: Stage) -> dict[str, Any]:
    """Chat lines, posts, titles and comments carrying the corpus, from payload-named members."""
    http, host = stage.http, {"Authorization": f"Bearer {stage.host_token}"}
    await stage.go_live()
    members = [await make_account(stage.server, name=name) for name in NAMES]
    chat: list[str] = []
    for n, payload in enumerate(PAYLOADS):
        sender = members[n % len(members)]
        sent = await http.post(
            f"/api/v1/rooms/{stage.room_id}/chat", json={"text": payload}, headers=sender.headers
        )
        assert sent.status_code in (201, 202), sent.text
        if sent.status_code == 201:
            chat.append(sent.json()["message"]["text"])
    group = {"name": f"XSS{uuid.uuid4().hex[:4]}<b>", "description": PAYLOADS[1], "room_id": stage.room_id}
    community = (await http.post("/api/v1/communities", json=group, headers=host)).json()["id"]
    for member in members:
        joined = await http.post(f"/api/v1/communities/{community}/join", json={}, headers=member.headers)
        assert joined.is_success, joined.text
    posts: list[str] = []
    first_post = None
    for n, payload in enumerate(PAYLOADS[:15]):
        body = {"title": PAYLOADS[-1 - n], "body": payload}
        made = await http.post(
            f"/api/v1/communities/{community}/posts", json=body, headers=members[n % 4].headers
        )
        assert made.status_code in (201, 202), made.text
        if made.status_code == 201:
            posts.append(made.json()["body"])
            first_post = first_post or made.json()["id"]
    assert first_post is not None
    comments = []
    for n, payload in enumerate(PAYLOADS):
        made = await http.post(
            f"/api/v1/posts/{first_post}/comments", json={"body": payload}, headers=members[n % 4].headers
        )
        assert made.status_code in (201, 202), made.text
        if made.status_code == 201:
            comments.append(made.json()["body"])
    assert len(chat) >= 30
    assert len(comments) >= 30
    return {"members": members, "chat": chat, "posts": posts, "comments": comments, "community": community}


async def open_room(context: BrowserContext, stage: Stage, observed: Observed, lines: int) -> Page:
    page = await context.new_page()
    observed.watch(page)
    await page.goto(f"/rooms/{stage.room_id}")
    await wait_until(page, "window.lcRoom && window.lcRoom.connected", timeout_ms=10_000)
    await page.locator("#chat-list .chat-line .chat-text").nth(lines - 1).wait_for(timeout=10_000)
    return page


async def open_community(context: BrowserContext, community: int, observed: Observed, comments: int) -> Page:
    page = await context.new_page()
    observed.watch(page)
    await page.goto(f"/communities/{community}")
    first = page.locator(".cd-post").last  # the oldest post: the one with the comments
    await first.locator("button[data-action=comments]").click()
    await page.locator(".cd-comment-body").nth(comments - 1).wait_for(timeout=10_000)
    return page


async def texts(page: Page, selector: str) -> list[str]:
    found: list[str] = await page.locator(selector).all_text_contents()
    return found


@pytest.mark.parametrize("bypass_csp", [False, True], ids=["with-csp", "csp-bypassed"])
async def test_no_payload_runs_in_chat_posts_comments_or_names(stage: Stage, bypass_csp: bool) -> None:
    seeded = await seed_payloads(stage)
    viewer = seeded["members"][0]
    observed = Observed()
    context = await context_for(stage, viewer, bypass_csp=bypass_csp)

    room = await open_room(context, stage, observed, len(seeded["chat"]))
    assert set(seeded["chat"]) <= set(await texts(room, "#chat-list .chat-line .chat-text"))
    assert set(NAMES) <= set(await texts(room, "#chat-list .chat-line .chat-name"))
    room_verdict = await verdict(room, observed)

    feed = await open_community(context, seeded["community"], observed, len(seeded["comments"]))
    assert set(seeded["posts"]) <= set(await texts(feed, ".cd-post .cd-body"))
    assert set(seeded["comments"]) <= set(await texts(feed, ".cd-comment-body"))
    assert any(NAMES[0] in meta for meta in await texts(feed, ".cd-comment-meta"))
    feed_verdict = await verdict(feed, observed)

    for seen in (room_verdict, feed_verdict):
        assert seen["xss"] is None, seen
        assert seen["dialogs"] == [], seen
        assert seen["csp"] == [], seen
        assert seen["console"] == [], seen

    # The control: the same payload inserted as markup is caught, so the checks above can fail.
    await feed.evaluate(
        "document.body.insertAdjacentHTML('beforeend', '<img src=x onerror=window.__xss=999>')"
    )
    caught = "window.__xss === 999" if bypass_csp else "window.__csp.some((v) => v.includes('script-src'))"
    await wait_until(feed, caught, timeout_ms=5_000)
