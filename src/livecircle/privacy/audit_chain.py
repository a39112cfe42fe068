"""Checking and pruning the audit chain.

``verify`` walks the entries in ``seq`` order from the anchor (the last pruned entry, or the
genesis), recomputes every hash and reports the first break: an entry whose content no longer
matches its hash (changed), a missing ``seq`` (removed), an entry that does not follow its
predecessor (reordered, inserted or forged), or a chain that does not end where the head row
says (the last entries removed, or the head rewritten).

``prune`` removes entries older than the retention window, only from the start of the chain,
and moves the anchor to the last removed entry, so the rest still verifies. It is audited.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.kit.clock import utcnow
from livecircle.kit.db import Database, one_sqlite_writer
from livecircle.privacy.audit import AUDIT_RETENTION_DAYS, AuditEntry, AuditHead, hash_of, record
from livecircle.privacy.retention import Retention

BATCH = 1000


class Break(StrEnum):
    CHANGED = "changed"  # the entry's content or hash was altered
    MISSING = "missing"  # a seq is absent: an entry was removed
    LINK = "link"  # prev_hash is not the predecessor's hash: reordered, inserted or forged
    HEAD = "head"  # the chain does not end at the head row's seq and hash


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    entries: int  # entries checked (those after the anchor)
    head_seq: int
    head_hash: str
    anchor_seq: int
    broken_seq: int | None = None
    reason: Break | None = None
    message: str = ""

    def line(self) -> str:
        """One line for the CLI and the page."""
        if self.ok:
            return f"ok: {self.entries} entries, head {self.head_hash}"
        return f"broken at seq {self.broken_seq} ({self.reason}): {self.message}"


async def verify(session: AsyncSession) -> Verdict:
    """Walk the chain and report the first break (or ok)."""
    verdict = await _verify_once(session)
    if not verdict.ok and await _anchor(session) != verdict.anchor_seq:
        # A prune moved the anchor while we walked: the entries it took look "missing".
        verdict = await _verify_once(session)
    return verdict


async def _anchor(session: AsyncSession) -> int:
    return int(await session.scalar(select(AuditHead.anchor_seq).where(AuditHead.id == 1)) or 0)


async def _verify_once(session: AsyncSession) -> Verdict:
    head = (await session.execute(select(AuditHead).where(AuditHead.id == 1))).scalar_one()
    head_seq, head_hash, anchor = int(head.seq), head.hash, int(head.anchor_seq)
    expected, prev, checked = anchor + 1, head.anchor_hash, 0

    def broken(seq: int, reason: Break, message: str) -> Verdict:
        return Verdict(False, checked, head_seq, head_hash, anchor, seq, reason, message)

    stray = await session.scalar(select(func.max(AuditEntry.seq)).where(AuditEntry.seq <= anchor))
    if stray is not None:
        return broken(int(stray), Break.LINK, f"an entry at or before the anchor (seq {anchor})")
    async for entry in _entries_after(session, anchor):
        if entry.seq != expected:
            return broken(expected, Break.MISSING, f"entry {expected} is missing (next is {entry.seq})")
        if entry.prev_hash != prev:
            return broken(entry.seq, Break.LINK, f"does not follow entry {entry.seq - 1}")
        if hash_of(entry, prev_hash=prev) != entry.hash:
            return broken(entry.seq, Break.CHANGED, "its content does not match its hash")
        prev, expected, checked = entry.hash, expected + 1, checked + 1
    last = expected - 1
    if last != head_seq:
        seq = min(last, head_seq) + 1
        return broken(seq, Break.HEAD, f"the chain ends at seq {last}, the head says {head_seq}")
    if prev != head_hash:
        return broken(head_seq, Break.HEAD, "the last entry's hash is not the head's")
    return Verdict(True, checked, head_seq, head_hash, anchor)


async def _entries_after(session: AsyncSession, seq: int) -> AsyncIterator[AuditEntry]:
    """Every entry after ``seq`` in order, a batch at a time (keyset paging, bounded memory)."""
    while True:
        batch = list(
            await session.scalars(
                select(AuditEntry).where(AuditEntry.seq > seq).order_by(AuditEntry.seq).limit(BATCH)
            )
        )
        for entry in batch:
            yield entry
        if len(batch) < BATCH:
            return
        seq = batch[-1].seq


@dataclass(frozen=True, slots=True)
class Pruned:
    count: int
    through_seq: int  # the new anchor (0: nothing was ever pruned)


async def prune(
    session: AsyncSession,
    *,
    older_than_days: int = AUDIT_RETENTION_DAYS,
    actor_id: int | None = None,
    actor_role: str | None = None,
    now: datetime | None = None,
) -> Pruned:
    """Remove the entries older than ``older_than_days`` from the start of the chain (an old
    entry after a newer one stays: the chain is cut at one point) and anchor what remains.

    Raises ValueError below the legal minimum. A prune that removed entries is itself an audit
    entry (``audit.prune``)."""
    if older_than_days < AUDIT_RETENTION_DAYS:
        raise ValueError(f"audit entries are kept at least {AUDIT_RETENTION_DAYS} days (PIPL art. 56)")
    cutoff = (now or utcnow()) - timedelta(days=older_than_days)
    head = (await session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update())).scalar_one()
    anchor = int(head.anchor_seq)
    first_recent = await session.scalar(
        select(func.min(AuditEntry.seq)).where(AuditEntry.seq > anchor, AuditEntry.at >= cutoff)
    )
    upto = (int(first_recent) - 1) if first_recent is not None else int(head.seq)
    last = await session.get(AuditEntry, upto) if upto > anchor else None
    if last is None:
        return Pruned(0, anchor)
    result = await session.execute(delete(AuditEntry).where(AuditEntry.seq > anchor, AuditEntry.seq <= upto))
    count = int(getattr(result, "rowcount", 0) or 0)
    values = {"anchor_seq": last.seq, "anchor_hash": last.hash}
    await session.execute(update(AuditHead).where(AuditHead.id == 1).values(**values))
    anchor = last.seq
    await record(
        session,
        action="audit.prune",
        target=f"audit:{anchor}",
        purpose=f"retention: entries older than {older_than_days} days removed from the start of the chain",
        actor_id=actor_id,
        actor_role=actor_role,
        detail={"count": count, "through_seq": anchor, "cutoff": cutoff.isoformat()},
    )
    return Pruned(count, anchor)


async def purge_hook(db: Database, now: datetime, days: Mapping[Retention, int | None]) -> int:
    """The audit log's part of the daily retention purge (``Purger.register_hook("audit.prune",
    purge_hook, tables=("privacy_audit",))``: the generic walk must never rewrite the chain)."""
    window = days.get(Retention.AUDIT)
    if window is None:
        return 0
    async with db.unit_of_work() as session:
        await one_sqlite_writer(session)
        pruned = await prune(session, older_than_days=window, actor_role="system", now=now)
    return pruned.count
