"""The gift batcher writes several batches at once on PostgreSQL (one at a time on SQLite, which
has one writer), and never puts a payer in two batches being written: each payer's sends are
decided against their own wallet in arrival order, so the wallets come out exact."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import text

from livecircle.economy import service
from livecircle.economy.batcher import GiftBatcher, batcher_for, close_batcher
from livecircle.economy.errors import InsufficientBalance
from livecircle.economy.gift_send import GiftSend, Job
from livecircle.identity.schemas import Role
from livecircle.kit.db import Database
from tests.conftest import Account, RunningServer, make_account
from tests.test_economy import _tenant_id, audit, fund, gift_id

PAYERS = 24
SENDS = 4  # per payer, of which the wallet pays for 3


class Recorder:
    """Wraps the batcher's write: when each batch ran, and whose wallets it held."""

    def __init__(self, batcher: GiftBatcher) -> None:
        self.batches: list[tuple[float, float, set[int]]] = []
        self._write = batcher._write

    async def __call__(self, batch: list[Job]) -> None:
        started = time.monotonic()
        try:
            await self._write(batch)
        finally:
            self.batches.append((started, time.monotonic(), {job.send.user_id for job in batch}))

    def overlapping(self) -> list[tuple[set[int], set[int]]]:
        """The payers of every two batches that were written at the same time."""
        found = []
        for i, (start, end, payers) in enumerate(self.batches):
            for other_start, other_end, others in self.batches[i + 1 :]:
                if start < other_end and other_start < end:
                    found.append((payers, others))
        return found


@pytest.fixture
async def payers(server: RunningServer) -> list[Account]:
    made = [await make_account(server, consents=()) for _ in range(PAYERS)]
    for account in made:
        await fund(server, account, 3)
    return made


async def test_batches_run_side_by_side_on_postgresql_with_disjoint_payers(
    server: RunningServer, client: Any, payers: list[Account], monkeypatch: pytest.MonkeyPatch
) -> None:
    host = await make_account(server, role=Role.HOST, consents=())
    tenant_id = await _tenant_id(server, host)
    heart = await gift_id(client, host, "小心心")  # 1 coin
    engine = server.db.engine
    batcher = batcher_for(engine)
    recorder = Recorder(batcher)
    monkeypatch.setattr(batcher, "_write", recorder)

    async def one(payer: Account) -> str:
        key = str(uuid.uuid4())
        gift = GiftSend(tenant_id, payer.user_id, host.user_id, heart, 1, key)
        try:
            async with server.db.unit_of_work() as session:
                await service.do_send_gift(session, server.settings.economy, gift)
        except InsufficientBalance:
            return "broke"
        return "paid"

    outcomes = await asyncio.gather(*(one(payer) for _ in range(SENDS) for payer in payers))
    assert outcomes.count("paid") == 3 * PAYERS
    for payer in payers:
        wallet = await client.get("/api/v1/wallet", headers=payer.headers)
        assert wallet.json()["coins"] == 0
    assert (await audit(server.db)).balanced
    overlapping = recorder.overlapping()
    assert all(not (a & b) for a, b in overlapping), "a payer was in two batches being written"
    if engine.dialect.name == "postgresql":
        assert overlapping, f"no two of {len(recorder.batches)} batches were written at the same time"
    else:
        assert not overlapping


async def test_the_batcher_plans_its_statements_for_each_batch(pg_url: str) -> None:
    """A plan cached while the ledger was small would keep scanning its tables whole."""
    db = Database(pg_url)
    try:
        engine = batcher_for(db.engine).engine
        async with engine.connect() as conn:
            assert await conn.scalar(text("SHOW plan_cache_mode")) == "force_custom_plan"
        async with db.engine.connect() as conn:  # the request path's plans are cached as usual
            assert await conn.scalar(text("SHOW plan_cache_mode")) == "auto"
    finally:
        await close_batcher(db.engine)
        await db.dispose()


async def test_a_send_right_after_a_batch_finished_is_written(
    server: RunningServer, client: Any, payers: list[Account]
) -> None:
    """The caller of the last send resumes before the finished batch's task is forgotten: a send
    made at once must still start a batch of its own."""
    host = await make_account(server, role=Role.HOST, consents=())
    tenant_id = await _tenant_id(server, host)
    heart = await gift_id(client, host, "小心心")
    payer = payers[0]
    async with server.db.unit_of_work() as session:
        for _ in range(3):
            gift = GiftSend(tenant_id, payer.user_id, host.user_id, heart, 1, str(uuid.uuid4()))
            async with asyncio.timeout(10):  # not wait_for: its extra task would hide the race
                posted = await service.do_send_gift(session, server.settings.economy, gift)
            assert not posted.replayed
    wallet = await client.get("/api/v1/wallet", headers=payer.headers)
    assert wallet.json()["coins"] == 0
