"""Gift sends in batches: many transfers, one transaction, a handful of statements.

A gift posted alone costs about ten statements and a commit. Under load the
sends that arrive while a batch is being written wait for the next one, and
the next batch takes them all (up to ``MAX_BATCH``): group commit, with no
timer. What a batch does is ``economy.gift_batch``.

On PostgreSQL up to ``DEPTH`` batches are written at once, the queue shared
out between them: while one waits for the database the next is decided. A
batch locks only its payers' wallets and spending rows, so a payer is never
in two: their further sends wait, in order, for a batch after. On SQLite the
process has one writer, so one batch at a time.

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
DEPTH = {"postgresql": 2}  # batches in flight by dialect; 1 elsewhere

# A plan cached while the ledger's tables were small kept scanning them whole as they grew
# (a replay check took ~10 ms at 10,000 transfers); a batch's few statements are cheap to plan.
CUSTOM_PLANS = {"plan_cache_mode": "force_custom_plan"}

Payer = tuple[int, int]  # (tenant, user)


class GiftBatcher:
    """Queues gift sends for one database and writes them in batches (see the module doc)."""

    def __init__(self, engine: AsyncEngine) -> None:
        # Its own connection: the requests waiting for a batch hold theirs, and
        # a batch must never wait for one of them to come back to the pool.
        # Its statements are planned for each batch (``CUSTOM_PLANS``), not once for all.
        self.engine = make_engine(
            engine.url.render_as_string(hide_password=False), server_settings=CUSTOM_PLANS
        )
        self.source = engine  # its SQLite writer lock is shared with ``ledger.post``
        self.loop = asyncio.get_running_loop()
        self._queue: list[Job] = []
        self._drainers: set[asyncio.Task[None]] = set()
        self._busy: set[Payer] = set()  # payers of the batches being written
        self.depth = DEPTH.get(self.engine.dialect.name, 1)
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
            self._wake()
            return await job.future
        finally:
            ledger.in_flight.discard(claim)

    def _wake(self) -> None:
        # A drainer's last caller resumes before the drainer's task is seen done by anyone, and
        # may send again at once: only the drainers still running count.
        self._drainers = {drainer for drainer in self._drainers if not drainer.done()}
        if self._queue and len(self._drainers) < self.depth:
            self._drainers.add(self.loop.create_task(self._drain()))

    def _take(self) -> tuple[list[Job], set[Payer]]:
        """The next batch, in arrival order: up to ``MAX_BATCH`` sends whose payers are in no
        batch being written (they wait in the queue, in order, for the batch after)."""
        batch: list[Job] = []
        payers: set[Payer] = set()
        rest: list[Job] = []
        size = min(MAX_BATCH, -(-len(self._queue) // self.depth))  # a share for each drainer
        for job in self._queue:
            payer = (job.send.tenant_id, job.send.user_id)
            if len(batch) < size and payer not in self._busy:
                batch.append(job)
                payers.add(payer)
            else:
                rest.append(job)
        self._queue = rest
        self._busy |= payers
        return batch, payers

    async def _drain(self) -> None:
        while True:
            batch, payers = self._take()
            if not batch:
                return  # what is left waits for a batch being written; its drainer goes on
            try:
                await self._settle(batch)
            finally:  # also when cancelled (shutdown): no caller waits forever
                self._busy -= payers
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(RuntimeError("the gift batch was interrupted"))
                self._wake()

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
