"""Gift sends in batches: many transfers, one transaction, a handful of statements.

A gift posted alone costs about ten statements and a commit. Under load the
sends that arrive while a batch is being written wait for the next one, and
the next batch takes them all (up to ``MAX_BATCH``): group commit, with no
timer. What a batch does is ``economy.gift_batch``.

If a batch fails as a whole (a lost connection, a constraint), each of its
sends is tried again in a batch of its own, so one bad send fails alone.
"""

from __future__ import annotations

import asyncio
import weakref

from sqlalchemy.ext.asyncio import AsyncEngine

from livecircle.config import EconomySettings
from livecircle.economy import ledger
from livecircle.economy.errors import IdempotencyInFlight
from livecircle.economy.gift_batch import write_batch
from livecircle.economy.gift_send import GiftSend, Job, Known
from livecircle.economy.ledger import Posted
from livecircle.kit.db import make_engine, sqlite_writer
from livecircle.kit.errors import AppError

MAX_BATCH = 256


class GiftBatcher:
    """Queues gift sends for one database and writes them in batches (see the module doc)."""

    def __init__(self, engine: AsyncEngine) -> None:
        # Its own connection: the requests waiting for a batch hold theirs, and
        # a batch must never wait for one of them to come back to the pool.
        self.engine = make_engine(engine.url.render_as_string(hide_password=False))
        self.source = engine  # its SQLite writer lock is shared with ``ledger.post``
        self.loop = asyncio.get_running_loop()
        self._queue: list[Job] = []
        self._drainer: asyncio.Task[None] | None = None
        self.known = Known()

    async def send(self, rules: EconomySettings, send: GiftSend) -> Posted:
        """Post one gift send. Raises what ``economy.service.do_send_gift`` documents."""
        claim = (send.tenant_id, send.key)
        if claim in ledger.in_flight:
            raise IdempotencyInFlight()
        ledger.in_flight.add(claim)
        try:
            digest = ledger.request_hash(send.request())
            job = Job(send=send, rules=rules, future=self.loop.create_future(), digest=digest)
            self._queue.append(job)
            if self._drainer is None or self._drainer.done():
                self._drainer = self.loop.create_task(self._drain())
            return await job.future
        finally:
            ledger.in_flight.discard(claim)

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                await self._settle(batch)
            finally:  # also when cancelled (shutdown): no caller waits forever
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(RuntimeError("the gift batch was interrupted"))

    async def _settle(self, batch: list[Job]) -> None:
        try:
            await self._write(batch)
        except Exception:
            for job in batch:  # isolate what failed: each send alone
                job.outcome = None
                try:
                    await self._write([job])
                except Exception as error:
                    if not job.future.done():
                        job.future.set_exception(error)
        for job in batch:
            if job.future.done():
                continue
            if isinstance(job.outcome, Posted):
                job.future.set_result(job.outcome)
            elif isinstance(job.outcome, AppError):
                job.future.set_exception(job.outcome)

    async def _write(self, batch: list[Job]) -> None:
        writer = sqlite_writer(self.source.sync_engine) if self.engine.dialect.name == "sqlite" else None
        if writer is not None:
            await writer.acquire()
        try:
            async with self.engine.begin() as conn:
                seen = await write_batch(conn, batch, self.known, sqlite=writer is not None)
        except BaseException:
            self.known = Known()  # a failure may have made some of it untrue
            raise
        else:
            self.known.keep(seen)
        finally:
            if writer is not None:
                writer.release()


_batchers: weakref.WeakKeyDictionary[AsyncEngine, GiftBatcher] = weakref.WeakKeyDictionary()


async def close_batcher(engine: AsyncEngine) -> None:
    """Close the batcher of ``engine`` (its own connections), if one was started."""
    batcher = _batchers.pop(engine, None)
    if batcher is not None:
        await batcher.engine.dispose()


def batcher_for(engine: AsyncEngine) -> GiftBatcher:
    """The batcher of ``engine`` in the running event loop."""
    batcher = _batchers.get(engine)
    if batcher is None or batcher.loop is not asyncio.get_running_loop():
        batcher = _batchers[engine] = GiftBatcher(engine)
    return batcher
