"""A revoked API token is refused on every node at once: two nodes share Redis, the token is
cached as valid on node B, the password is changed on node A, and B refuses the token on the
very next request (without the cluster message, B would serve it from its cache for 10 s)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from livecircle.demo import DEMO_PASSWORD
from livecircle.identity.deps import TOKEN_SECONDS
from tests import services
from tests.conftest import RunningServer, make_account, make_settings, run_server
from tests.privacy_kit import eventually


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    services.require("redis", services.have_redis(), "redis-server is not installed")
    with services.redis_server() as url:
        yield url


@pytest.fixture
async def two_nodes(
    server: RunningServer, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[list[RunningServer]]:
    client = Redis.from_url(redis_url)
    await client.flushall()  # the module runs on both databases, whose ids overlap
    await client.aclose()
    async with contextlib.AsyncExitStack() as stack:
        running = []
        for _ in range(2):
            var: Path = tmp_path_factory.mktemp("tokens")
            settings = make_settings(server.settings.db_url, var, adapter="none")
            settings = settings.model_copy(update={"redis_url": redis_url})
            running.append(await stack.enter_async_context(run_server(settings)))
        yield running


async def test_a_password_change_on_one_node_revokes_the_token_on_the_other_at_once(
    server: RunningServer, two_nodes: list[RunningServer]
) -> None:
    node_a, node_b = two_nodes
    account = await make_account(server, name="两台机器")
    other = await make_account(server, name="旁观者")  # its token must keep working
    async with (
        httpx.AsyncClient(base_url=node_a.base_url, timeout=20) as on_a,
        httpx.AsyncClient(base_url=node_b.base_url, timeout=20) as on_b,
    ):
        assert (await on_b.get("/api/v1/me", headers=account.headers)).status_code == 200  # cached on B
        assert (await on_b.get("/api/v1/me", headers=other.headers)).status_code == 200
        # A second session of the account: the change keeps it and revokes the rest.
        signed_in = await on_a.post(
            "/api/v1/auth/token", json={"email": account.email, "password": DEMO_PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        keeper = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
        changed = await on_a.put(
            "/api/v1/me/password",
            json={"current_password": DEMO_PASSWORD, "new_password": "another-Passw0rd"},
            headers=keeper,
        )
        assert changed.status_code == 204, changed.text

        async def refused_on_b() -> bool | None:
            return (await on_b.get("/api/v1/me", headers=account.headers)).status_code == 401 or None

        # Well inside the cache's lifetime: only the cluster message can make B refuse it.
        await eventually(refused_on_b, timeout=TOKEN_SECONDS / 4)
        assert (await on_b.get("/api/v1/me", headers=keeper)).status_code == 200
        assert (await on_b.get("/api/v1/me", headers=other.headers)).status_code == 200
