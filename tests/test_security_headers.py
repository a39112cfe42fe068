"""Security headers on every response (ASVS v5.0.0-3.4.1/3.4.3/3.4.4/3.4.6/14.3.2).

A crawl generated from ``app.routes``: every GET route, its path parameters filled from seeded
objects (tests/authz_kit.py: rooms, shows, orders, communities...), as an anonymous visitor, a
member and an operator with real page sessions; plus static files, HLS, redirects, errors
(401/403/404/405/422) and the 500 page. Every response must carry the CSP (no inline script,
``object-src 'none'``, ``base-uri 'none'``, ``frame-ancestors 'none'``), HSTS >= 1 year with
subdomains, nosniff, a frame and a referrer policy; signed-in answers must not be stored.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from livecircle.config import Settings
from livecircle.main import create_app
from tests.authz_kit import Seeded, seed
from tests.conftest import Account, RunningServer
from tests.security_kit import crawl_paths, page_cookie

MEDIA = ("/hls/", "/replay/")  # segments and playlists choose their own caching
YEAR = 31_536_000


def directives(policy: str) -> dict[str, list[str]]:
    found = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        found[name] = sources
    return found


def check_headers(response: httpx.Response, *, signed_in: bool) -> list[str]:
    """What is wrong with one response's headers (empty: nothing)."""
    where = f"{response.request.method} {response.request.url.path} -> {response.status_code}"
    headers, problems = response.headers, []
    csp = directives(headers.get("content-security-policy", "missing"))
    for name, expected in {
        "default-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'none'",
        "frame-ancestors": "'none'",
        "form-action": "'self'",
    }.items():
        if csp.get(name) != [expected]:
            problems.append(f"{where}: CSP {name} is {csp.get(name)}")
    for name in ("script-src", "style-src"):
        sources = csp.get(name, [])
        if "'self'" not in sources or any(s in sources for s in ("'unsafe-inline'", "'unsafe-eval'", "*")):
            problems.append(f"{where}: CSP {name} is {sources}")
    hsts = re.fullmatch(r"max-age=(\d+); includeSubDomains", headers.get("strict-transport-security", ""))
    if hsts is None or int(hsts.group(1)) < YEAR:
        problems.append(f"{where}: HSTS is {headers.get('strict-transport-security')}")
    expected = {
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "referrer-policy": "same-origin",
    }
    problems += [f"{where}: {k} is {headers.get(k)}" for k, v in expected.items() if headers.get(k) != v]
    path = response.request.url.path
    private = signed_in and not path.startswith(("/static/", *MEDIA))
    if private and "no-store" not in headers.get("cache-control", ""):
        problems.append(f"{where}: signed-in answer without no-store: {headers.get('cache-control')}")
    return problems


@pytest.fixture(scope="module")
async def seeded(server: RunningServer) -> Seeded:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        return await seed(server, http)


async def test_every_get_route_carries_the_headers_for_every_kind_of_caller(
    server: RunningServer, seeded: Seeded
) -> None:
    paths = crawl_paths(server.app, seeded)
    assert len(paths) > 100  # the crawl really covers the app
    callers: dict[str, dict[str, str]] = {
        "anonymous": {},
        "member": await page_cookie(server, seeded.buyer),
        "operator": await page_cookie(server, seeded.owner),
    }
    problems: list[str] = []
    statuses: set[int] = set()
    for who, cookies in callers.items():
        async with httpx.AsyncClient(base_url=server.base_url, cookies=cookies, timeout=30) as http:
            for path in paths:
                accept = "application/json" if path.startswith("/api/") else "text/html"
                response = await http.get(path, headers={"Accept": accept})
                statuses.add(response.status_code)
                problems += check_headers(response, signed_in=who != "anonymous")
    assert problems == []
    assert {200, 303} <= statuses  # pages, API answers and redirects were all seen


async def test_static_media_errors_and_redirects_carry_the_headers(
    server: RunningServer, seeded: Seeded, viewer: Account
) -> None:
    room = seeded.public["room"]
    cookies = await page_cookie(server, viewer)
    async with httpx.AsyncClient(base_url=server.base_url, cookies=cookies) as member:
        signed_in = [
            await member.get("/static/app.css"),
            await member.get("/static/room.js"),
            await member.get("/static/vendor/hls.js/hls.min.js"),
            await member.get(f"/hls/{room}/index.m3u8"),
            await member.post("/api/v1/rooms", json={"title": "x"}),  # cookie without CSRF: 403
            await member.get("/api/v1/rooms/not-a-number"),  # 422
            await member.get("/no/such/page", headers={"Accept": "text/html"}),  # 404 page
            await member.get("/api/v1/no/such/thing"),  # 404 problem
            await member.delete("/healthz"),  # 405
        ]
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        anonymous_answers = [
            await anonymous.get("/static/no-such-file.js"),
            await anonymous.get("/console"),  # 303 to the sign-in page
            await anonymous.get("/lang/en", headers={"Referer": "/"}),
            await anonymous.get("/api/v1/me/invite"),  # 401
            await anonymous.post("/api/v1/auth/token", json={}),  # 422
            await anonymous.get("/healthz"),
            await anonymous.get("/readyz"),
            await anonymous.get("/metrics"),
            await anonymous.get("/api/openapi.json"),
            await anonymous.get("/api/docs"),
        ]
    seen = {r.status_code for r in [*signed_in, *anonymous_answers]}
    assert {200, 303, 401, 403, 404, 405, 422} <= seen
    problems = [p for r in signed_in for p in check_headers(r, signed_in=True)]
    problems += [p for r in anonymous_answers for p in check_headers(r, signed_in=False)]
    assert problems == []
    assert signed_in[4].json()["code"] == "csrf_failed"
    static = signed_in[0].headers.get("cache-control", "")
    assert "no-store" not in static  # static files stay cacheable


async def test_the_api_docs_page_runs_no_inline_script(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    """Swagger UI is shipped (no CDN: an offline install has its docs) and starts from a
    static file, under the same CSP as every page."""
    page = await client.get("/api/docs")
    assert page.status_code == 200
    assert re.search(r"<script>", page.text) is None
    assert "http" not in page.text  # nothing from another origin
    assert '<script src="/static/api_docs.js"></script>' in page.text
    csp = directives(page.headers["content-security-policy"])
    assert csp["script-src"] == ["'self'"]
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text):
        assert (await client.get(asset)).status_code == 200, asset


async def test_even_an_unexpected_500_carries_the_headers(tmp_path: Any) -> None:
    """The headers sit outside Starlette's error middleware, which answers an unhandled error."""
    app = create_app(Settings(env="test", var_dir=tmp_path, log_level="WARNING"))

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("unexpected")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.get("/boom")
    assert response.status_code == 500
    assert check_headers(response, signed_in=False) == []
