"""Rate limits with 429 + Retry-After (ASVS v5.0.0-2.4.1) on sign-in (API and page), sign-up and
password change; in memory on one node, and in Redis shared by two nodes.

The servers here run production-like limits with a 2-second window (the suite's own server
relaxes the per-IP caps, since every test signs in from 127.0.0.1). Each test speaks from its
own loopback address (127.x.y.z), so the per-IP windows of different tests never mix.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from livecircle.config import RateLimit, SecuritySettings
from livecircle.kit.ratelimit import MemoryStore, RateLimited, RateLimiter, RedisStore
from tests import services
from tests.conftest import Account, RunningServer, make_account, make_settings, run_server

WINDOW = 3.0  # the windows these tests wait out; the attempts that fill one must fit in it
LONG = 60.0  # the windows no test waits out
LIMITS = SecuritySettings(
    login_per_account_ip=RateLimit(limit=10, window_seconds=WINDOW),
    login_per_ip=RateLimit(limit=25, window_seconds=LONG),
    register_per_ip=RateLimit(limit=3, window_seconds=WINDOW),
    password_change_per_user=RateLimit(limit=3, window_seconds=LONG),
)


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    services.require("redis", services.have_redis(), "redis-server is not installed")
    with services.redis_server() as url:
        yield url


@pytest.fixture(scope="module", params=["memory", "redis"])
async def nodes(
    request: pytest.FixtureRequest, server: RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[list[RunningServer]]:
    """One node counting in memory, or two nodes sharing Redis (on the suite's database)."""
    redis = request.getfixturevalue("redis_url") if request.param == "redis" else ""
    if redis:  # one Redis serves this module on both databases, whose user ids overlap
        client = Redis.from_url(redis)
        await client.flushall()
        await client.aclose()
    async with contextlib.AsyncExitStack() as stack:
        running = []
        for _ in range(2 if redis else 1):
            var: Path = tmp_path_factory.mktemp("ratelimit")
            settings = make_settings(server.settings.db_url, var, adapter="none")
            settings = settings.model_copy(update={"security": LIMITS, "redis_url": redis})
            running.append(await stack.enter_async_context(run_server(settings)))
        yield running


@contextlib.asynccontextmanager
async def speaking_from(nodes: list[RunningServer], ip: str) -> AsyncIterator[list[httpx.AsyncClient]]:
    """One client per node, each connecting from the loopback address ``ip``."""
    async with contextlib.AsyncExitStack() as stack:
        clients = []
        for node in nodes:
            transport = httpx.AsyncHTTPTransport(local_address=ip)
            client = httpx.AsyncClient(base_url=node.base_url, transport=transport, timeout=20)
            clients.append(await stack.enter_async_context(client))
        yield clients


def new_ip() -> str:
    return f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float) -> None:
    """Poll ``check`` until it holds (the window has to pass: that is what is tested)."""
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "still refused after the window"
        await asyncio.sleep(0.5)


def assert_limited(response: httpx.Response, window: float = WINDOW) -> None:
    assert response.status_code == 429, response.text
    retry = int(response.headers["retry-after"])
    assert 1 <= retry <= math.ceil(window)


async def sign_in(http: httpx.AsyncClient, account: Account, password: str) -> httpx.Response:
    return await http.post("/api/v1/auth/token", json={"email": account.email, "password": password})


async def test_the_eleventh_sign_in_of_an_account_from_one_ip_is_refused(nodes: list[RunningServer]) -> None:
    """Ten failures (spread over both nodes when there are two) fill the window; the eleventh
    attempt is refused even with the right password; another IP is not affected; after the
    window the owner gets in."""
    account = await make_account(nodes[0], name="撞库目标")
    async with speaking_from(nodes, new_ip()) as clients, speaking_from(nodes, new_ip()) as elsewhere:
        for attempt in range(10):
            reply = await sign_in(clients[attempt % len(clients)], account, "wrong-password")
            assert reply.status_code == 401
        refused = await sign_in(clients[-1], account, account.password)
        assert_limited(refused)
        assert refused.json()["code"] == "rate_limited"
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert (await sign_in(elsewhere[0], account, account.password)).status_code == 200

        async def works_again() -> bool:
            return (await sign_in(clients[0], account, account.password)).status_code == 200

        await eventually(works_again, timeout=WINDOW + 3)


async def test_one_ip_trying_many_accounts_is_capped(nodes: list[RunningServer]) -> None:
    async with speaking_from(nodes, new_ip()) as clients:
        for attempt in range(25):
            guess = {"email": f"nobody{attempt}@example.com", "password": "guess"}
            reply = await clients[attempt % len(clients)].post("/api/v1/auth/token", json=guess)
            assert reply.status_code == 401
        guess = {"email": "one-more@example.com", "password": "guess"}
        assert_limited(await clients[0].post("/api/v1/auth/token", json=guess), window=LONG)


async def test_the_sign_in_page_answers_429_with_retry_after(nodes: list[RunningServer]) -> None:
    account = await make_account(nodes[0], name="页面撞库")
    async with speaking_from(nodes[:1], new_ip()) as (browser,):
        await browser.get("/login")
        form = {"email": account.email, "password": "wrong", "csrf_token": browser.cookies["lc_csrf"]}
        for _ in range(10):
            assert (await browser.post("/login", data=form)).status_code == 401
        page = await browser.post("/login", data=form | {"password": account.password})
    assert_limited(page)
    assert page.headers["content-type"].startswith("text/html")
    assert "lc_session" not in page.cookies
    assert "尝试次数过多" in page.text


async def test_sign_ups_from_one_ip_are_capped(nodes: list[RunningServer]) -> None:
    async def register(http: httpx.AsyncClient) -> httpx.Response:
        email = f"r{uuid.uuid4().hex[:10]}@example.com"
        body = {"email": email, "password": "long-enough-1", "display_name": "新人"}
        return await http.post("/api/v1/auth/register", json=body)

    async with speaking_from(nodes, new_ip()) as clients:
        for attempt in range(3):
            assert (await register(clients[attempt % len(clients)])).status_code == 201
        assert_limited(await register(clients[0]))

        async def works_again() -> bool:
            return (await register(clients[-1])).status_code == 201

        await eventually(works_again, timeout=WINDOW + 3)


async def test_password_changes_are_capped(nodes: list[RunningServer]) -> None:
    account = await make_account(nodes[0], name="改密码")
    wrong = {"current_password": "not-it", "new_password": "a-new-password"}
    right = {"current_password": account.password, "new_password": "a-new-password"}
    async with speaking_from(nodes, new_ip()) as clients:
        for attempt in range(3):
            reply = await clients[attempt % len(clients)].put(
                "/api/v1/me/password", json=wrong, headers=account.headers
            )
            assert reply.json()["code"] == "wrong_password"
        refused = await clients[0].put("/api/v1/me/password", json=right, headers=account.headers)
    assert_limited(refused, window=LONG)


# ---- the limiter itself, on an injected clock ----


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[tuple[RateLimiter, Clock]]:
    clock = Clock()
    store = RedisStore(request.getfixturevalue("redis_url")) if request.param == "redis" else MemoryStore()
    limiter = RateLimiter(store, clock=clock)
    try:
        yield limiter, clock
    finally:
        await limiter.close()


async def test_a_sliding_window(limiter: tuple[RateLimiter, Clock]) -> None:
    rl, clock = limiter
    key = f"t:{uuid.uuid4().hex}"
    for _ in range(3):
        clock.now += 1
        await rl.acquire(key, limit=3, window=10)
    with pytest.raises(RateLimited) as refused:
        await rl.acquire(key, limit=3, window=10)
    assert refused.value.retry_after == 8  # the oldest of the three leaves the window in 8 s
    assert refused.value.headers == {"Retry-After": "8"}
    clock.now += 8
    await rl.acquire(key, limit=3, window=10)  # one slot came free...
    with pytest.raises(RateLimited):
        await rl.acquire(key, limit=3, window=10)  # ...and only one


async def test_only_recorded_failures_count(limiter: tuple[RateLimiter, Clock]) -> None:
    rl, clock = limiter
    key = f"t:{uuid.uuid4().hex}"
    for _ in range(5):
        await rl.check(key, limit=2, window=60)  # checks alone count nothing
    await rl.record(key, limit=2, window=60)
    await rl.record(key, limit=2, window=60)
    with pytest.raises(RateLimited):
        await rl.check(key, limit=2, window=60)
    clock.now += 60
    await rl.check(key, limit=2, window=60)


async def test_a_claim_is_granted_once(limiter: tuple[RateLimiter, Clock]) -> None:
    rl, _ = limiter
    key = f"nonce:{uuid.uuid4().hex}"
    assert await rl.claim(key, ttl=30) is True
    assert await rl.claim(key, ttl=30) is False
    assert await rl.claim(key + "-other", ttl=30) is True
