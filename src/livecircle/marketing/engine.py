"""The scheduler: one pass enrols whoever a campaign's trigger holds for now and advances
every enrolment whose step is due, as far as the flow goes until a wait.

A pass is idempotent and safe to run on several nodes at once: enrolments and send rows
are unique ((campaign, member, entry), (campaign, step, member, entry)) and inserted with
``ON CONFLICT DO NOTHING``; due enrolments are taken ``FOR UPDATE SKIP LOCKED`` (two
passes take disjoint batches) and carry a version (a stale copy cannot overwrite a newer
state); on SQLite a batch holds the one writer. A member's cap check is serialised by a
per-member advisory lock, taken for the whole batch in member order (no deadlock).

``now`` is injected (tests drive passes with their own clock); the app's pass uses the
wall clock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.analytics.store import EventStore
from livecircle.identity.models import Membership
from livecircle.kit.clock import utcnow
from livecircle.kit.db import Database, dialect_insert, one_sqlite_writer
from livecircle.marketing import actions, audience, guards
from livecircle.marketing.models import Campaign, Enrolment
from livecircle.marketing.schemas import STEPS, TRIGGER, BranchStep, WaitStep

log = logging.getLogger(__name__)
BATCH = 200  # enrolments per transaction
MAX_BATCHES = 50  # per pass: a backlog is worked off over several passes
RETRY_AFTER = timedelta(minutes=5)  # an enrolment whose step failed unexpectedly
INSERT_CHUNK = 500


@dataclass
class PassResult:
    enrolled: int = 0
    advanced: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


class Scheduler:
    def __init__(self, db: Database, store: EventStore, *, secret: str) -> None:
        self.db = db
        self.store = store
        self.secret = secret

    async def run_pass(self, now: datetime | None = None) -> PassResult:
        """Enrol, then advance what is due at ``now``."""
        now = now or utcnow()
        result = PassResult()
        await self.store.sync()
        async with self.db.sessionmaker() as session:
            active = list(await session.scalars(select(Campaign.id).where(Campaign.status == "active")))
        for campaign_id in sorted(active):
            result.enrolled += await self.enrol(campaign_id, now)
        for _ in range(MAX_BATCHES):
            taken = await self._advance_batch(now, result)
            if taken < BATCH:
                break
        return result

    async def enrol(self, campaign_id: int, now: datetime) -> int:
        """Enrol the campaign's new entrants at ``now``; returns how many were new."""
        async with self.db.sessionmaker() as session:  # reads only
            campaign = await session.get(Campaign, campaign_id)
            if campaign is None or campaign.status != "active":
                return 0
            trigger = TRIGGER.validate_python(campaign.trigger)
            found = await audience.entrants(
                session, self.store, tenant_id=campaign.tenant_id, trigger=trigger, now=now
            )
            rows = await session.execute(
                select(Enrolment.user_id, Enrolment.entry_key).where(Enrolment.campaign_id == campaign_id)
            )
            known = {(int(user), str(key)) for user, key in rows}
            fresh = [entry for entry in found if entry not in known]
            fresh = await _members(session, campaign.tenant_id, fresh)
        if not fresh:
            return 0
        async with self.db.unit_of_work() as session:
            await write_first(session)
            return await _insert_enrolments(session, campaign, fresh, now)

    async def _advance_batch(self, now: datetime, result: PassResult) -> int:
        async with self.db.unit_of_work() as session:
            await write_first(session)
            rows = (
                await session.execute(
                    select(Enrolment, Campaign)
                    .join(Campaign, Campaign.id == Enrolment.campaign_id)
                    .where(Enrolment.status == "active", Enrolment.due_at <= now, Campaign.status == "active")
                    .order_by(Enrolment.due_at, Enrolment.id)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True, of=Enrolment)
                )
            ).all()
            for user_id in sorted({enrolment.user_id for enrolment, _ in rows}):
                await guards.lock_member(session, user_id)
            for enrolment, campaign in rows:
                await self._advance_one(session, campaign, enrolment, now, result)
        return len(rows)

    async def _advance_one(
        self,
        session: AsyncSession,
        campaign: Campaign,
        enrolment: Enrolment,
        now: datetime,
        result: PassResult,
    ) -> None:
        enrolment_id = enrolment.id
        try:
            async with session.begin_nested():
                await self._walk(session, campaign, enrolment, now, result)
            result.advanced += 1
        except actions.AlreadyDone:
            result.count("already_done")
        except Exception as exc:
            log.exception("campaign %s: enrolment %s failed", campaign.id, enrolment_id)
            await session.execute(
                update(Enrolment)
                .where(Enrolment.id == enrolment_id)
                .values(due_at=now + RETRY_AFTER, last_error=f"{type(exc).__name__}: {exc}"[:2000])
                .execution_options(synchronize_session=False)
            )

    async def _walk(
        self,
        session: AsyncSession,
        campaign: Campaign,
        enrolment: Enrolment,
        now: datetime,
        result: PassResult,
    ) -> None:
        """Run the enrolment's steps until a wait, a deferral or the end of the flow."""
        steps = STEPS.validate_python(campaign.steps)
        context = actions.Context(campaign=campaign, enrolment=enrolment, now=now, secret=self.secret)
        while enrolment.status == "active" and enrolment.due_at <= now:
            if enrolment.position >= len(steps):
                _finish(enrolment, "done", now)
                break
            step = steps[enrolment.position]
            if isinstance(step, WaitStep):
                enrolment.position += 1
                enrolment.due_at = now + timedelta(hours=step.hours)
            elif isinstance(step, BranchStep):
                await self._branch(session, campaign, enrolment, step, now, result)
            else:
                outcome = await actions.run_step(session, context, step)
                result.count(outcome)
                if outcome == actions.DEFER:
                    enrolment.deferred_step = enrolment.position
                    enrolment.due_at = guards.quiet_ends(now, end=campaign.quiet_end, zone=campaign.timezone)
                else:
                    enrolment.position += 1
                    enrolment.last_action_at = now
        await session.flush()

    async def _branch(
        self,
        session: AsyncSession,
        campaign: Campaign,
        enrolment: Enrolment,
        step: BranchStep,
        now: datetime,
        result: PassResult,
    ) -> None:
        since = enrolment.last_action_at if step.since == "last_action" else enrolment.entered_at
        hit = await audience.did_since(
            self.store,
            tenant_id=campaign.tenant_id,
            user_id=enrolment.user_id,
            events=step.events,
            since=since,
            now=now,
        )
        await actions.claim_row(
            session, _branch_row(campaign, enrolment, "taken" if hit else "not_taken", now)
        )
        result.count("branch_taken" if hit else "branch_not_taken")
        if not hit:
            enrolment.position += 1
        elif step.then == "stop":
            _finish(enrolment, "stopped", now)
        else:
            enrolment.position = step.then


async def write_first(session: AsyncSession) -> None:
    """Take the write lock before the transaction's first read. On SQLite a transaction that
    reads and then writes fails at once ("database is locked") when another connection
    committed in between (its snapshot is stale); one that begins with a write waits for the
    lock instead. A no-op write does it; on PostgreSQL nothing is needed."""
    await one_sqlite_writer(session)
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(text("UPDATE marketing_campaign SET id = id WHERE 0"))


def _finish(enrolment: Enrolment, status: str, now: datetime) -> None:
    enrolment.status = status
    enrolment.finished_at = now


def _branch_row(campaign: Campaign, enrolment: Enrolment, status: str, now: datetime) -> dict[str, Any]:
    return {
        "tenant_id": campaign.tenant_id,
        "campaign_id": campaign.id,
        "enrolment_id": enrolment.id,
        "user_id": enrolment.user_id,
        "entry_key": enrolment.entry_key,
        "step": enrolment.position,
        "channel": "branch",
        "status": status,
        "promotional": False,
        "created_at": now,
    }


async def _members(
    session: AsyncSession, tenant_id: int, entries: list[audience.Entry]
) -> list[audience.Entry]:
    """The entries whose member belongs to the tenant (and still exists)."""
    users = sorted({user for user, _ in entries})
    members: set[int] = set()
    for start in range(0, len(users), INSERT_CHUNK):
        chunk = users[start : start + INSERT_CHUNK]
        members.update(
            await session.scalars(
                select(Membership.user_id).where(
                    Membership.tenant_id == tenant_id, Membership.user_id.in_(chunk)
                )
            )
        )
    return [entry for entry in entries if entry[0] in members]


async def _insert_enrolments(
    session: AsyncSession, campaign: Campaign, entries: list[audience.Entry], now: datetime
) -> int:
    inserted = 0
    for start in range(0, len(entries), INSERT_CHUNK):
        rows = [
            {
                "tenant_id": campaign.tenant_id,
                "campaign_id": campaign.id,
                "user_id": user,
                "entry_key": key,
                "holdout": guards.in_holdout(campaign.id, user, campaign.holdout_percent),
                "status": "active",
                "position": 0,
                "due_at": now,
                "entered_at": now,
                "last_action_at": now,
                "created_at": now,
                "version": 1,
            }
            for user, key in entries[start : start + INSERT_CHUNK]
        ]
        ids = await session.scalars(
            dialect_insert(session, Enrolment)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["campaign_id", "user_id", "entry_key"])
            .returning(Enrolment.id)
        )
        inserted += len(ids.all())
    return inserted
