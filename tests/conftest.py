"""Test harness: every test runs against a real server on loopback, once on
SQLite and once on PostgreSQL (started here), with the schema built by Alembic.

Services are started by the fixtures, never assumed running; with CI=true a
missing service fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from alembic import command
from alembic.config import Config

from livecircle.config import (
    HttpSettings,
    MediaSettings,
    PasswordHashSettings,
    RateLimit,
    RealtimeSettings,
    SecuritySettings,
    Settings,
)
from livecircle.demo import DEMO_PASSWORD, seed_demo
from livecircle.identity import service as identity_service
from livecircle.identity.schemas import Role
from livecircle.kit.db import Database
from livecircle.main import create_app
from tests import services

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ["sqlite", "postgresql"]
CHEAP_HASHING = PasswordHashSettings(time_cost=1, memory_cost_kib=8, parallelism=1)
SUITE_SECURITY = SecuritySettings(
    login_per_ip=RateLimit(limit=100_000, window_seconds=60),
    register_per_ip=RateLimit(limit=100_000, window_seconds=60),
)


# Tests whose assertions involve wall-clock time (a browser waiting for a frame, a planted dip
# alerted within 10 s, an encoder's stream) run alone, after the rest has run on two workers
# (`make test`): a second worker beside them would be measuring the machine, not the code.
SERIAL_MODULES = frozenset(
    {
        "test_cohost",
        "test_flashsale_nodes",
        "test_media",
        "test_multinode",
        "test_runofshow_script",
        "test_serve",
        "test_simulated_recall",
        "test_simulated_show",
        "test_simulator",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.parent.name == "e2e" or item.path.stem in SERIAL_MODULES:
            item.add_marker(pytest.mark.serial)
        # One worker per database (`--dist loadgroup`): a worker switching between them would
        # tear its session's server down and start the other (a PostgreSQL cluster) each time.
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("db_url") if callspec is not None else None
        if isinstance(backend, str):
            item.add_marker(pytest.mark.xdist_group(backend))


@pytest.fixture(scope="session", params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
        return
    services.require("postgresql", services.have_postgres(), "PostgreSQL server binaries not found")
    with services.postgres_server() as url:
        yield url


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """A migrated PostgreSQL of the module's own, for tests of behaviour only PostgreSQL has
    (concurrent commits, dropped connections, the batch writers)."""
    services.require("postgresql", services.have_postgres(), "PostgreSQL server binaries not found")
    with services.postgres_server() as url:
        migrate(url)
        yield url


def migrate(url: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "heads")


def make_settings(url: str, var_dir: Path, **media: Any) -> Settings:
    http_port = services.free_port()
    return Settings(
        env="test",
        var_dir=var_dir,
        database_url=url,
        log_json=True,
        log_level="WARNING",
        http=HttpSettings(port=http_port),
        media=MediaSettings(rtmp_port=services.free_port(), reconnect_grace_seconds=2.0, **media),
        realtime=RealtimeSettings(watch_credit_seconds=1.0),
        # The cheapest argon2id: the suite makes thousands of accounts (171 ms each at the default).
        password_hash=CHEAP_HASHING,
        # Every test signs up and in from 127.0.0.1: per-IP caps that fit the suite (the limits
        # themselves are tested with production-like values in test_ratelimit.py).
        security=SUITE_SECURITY,
    )


@dataclass
class RunningServer:
    settings: Settings
    db: Database
    base_url: str
    app: Any = None

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://")


@contextlib.asynccontextmanager
async def run_server(settings: Settings) -> AsyncIterator[RunningServer]:
    """uvicorn serving create_app(settings) on loopback inside the test loop."""
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=settings.http.port,
        log_config=None,
        lifespan="on",
        ws_per_message_deflate=False,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield RunningServer(
            settings=settings, db=app.state.db, base_url=f"http://127.0.0.1:{settings.http.port}", app=app
        )
    finally:
        server.should_exit = True
        await task
        # The lifespan froze the heap (gc.freeze): give its objects back to the collector now, so
        # whatever this server leaked (an unclosed connection...) is reported against this
        # test, not against whichever later test happens to run a full collection.
        gc.unfreeze()
        gc.collect()


@pytest.fixture(scope="session")
async def server(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningServer]:
    await asyncio.to_thread(migrate, db_url)
    settings = make_settings(db_url, tmp_path_factory.mktemp("var"))
    async with run_server(settings) as running:
        yield running


@pytest.fixture
async def client(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=20) as http:
        yield http


@pytest.fixture(scope="session")
async def demo(server: RunningServer) -> dict[str, Any]:
    return await seed_demo(server.db, server.settings)


@dataclass
class Account:
    user_id: int
    email: str
    password: str
    token: str
    tenant: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_account(
    server: RunningServer,
    *,
    role: Role = Role.MEMBER,
    tenant: str = "demo",
    name: str = "测试用户",
    consents: tuple[str, ...] = ("payment",),
) -> Account:
    """A fresh account (unique e-mail) with ``role`` in ``tenant`` and an API token, which gave
    ``consents`` through the consent API (by default the separate ``payment`` consent that
    top-ups and order payments need; ``consents=()`` for an account that gave none)."""
    email = f"u{uuid.uuid4().hex[:12]}@test.livecircle.local"
    async with server.db.unit_of_work() as session:
        the_tenant = await identity_service.ensure_tenant(session, slug=tenant, name=tenant)
        user = await identity_service.do_register(
            session, email=email, password=DEMO_PASSWORD, display_name=name, tenant=the_tenant, role=role
        )
        token = await identity_service.do_issue_api_token(session, user=user, tenant_id=the_tenant.id)
    account = Account(user_id=user.id, email=email, password=DEMO_PASSWORD, token=token, tenant=tenant)
    if consents:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=20) as http:
            for purpose in consents:
                granted = await http.put(
                    f"/api/v1/me/consents/{purpose}", json={"granted": True}, headers=account.headers
                )
                assert granted.status_code == 200, granted.text
    return account


@pytest.fixture
async def host(server: RunningServer) -> Account:
    return await make_account(server, role=Role.HOST, name="主播")


@pytest.fixture
async def viewer(server: RunningServer) -> Account:
    return await make_account(server, name="观众甲")


@pytest.fixture
async def other_viewer(server: RunningServer) -> Account:
    return await make_account(server, name="观众乙")


async def make_room(
    client: httpx.AsyncClient, owner: Account, *, title: str = "测试直播间", visibility: str = "public"
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/rooms", json={"title": title, "visibility": visibility}, headers=owner.headers
    )
    assert response.status_code == 201, response.text
    room: dict[str, Any] = response.json()
    return room
