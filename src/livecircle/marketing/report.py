"""The campaign report: entrants, what each step did (by status and channel), opens (inbox
entries read), clicks (the /go/ redirect), coupons redeemed, and conversions of treatment
vs hold-out with the lift and its 95 % interval.

Conversion: the member paid an order (``order_paid``, analytics replica) within
``conversion_days`` after first entering the campaign. The unit is a member (a member who
entered several times counts once, from the first entry). Lift = treatment rate - hold-out
rate with the pooled two-proportion z-test and the Wald 95 % interval
(``analytics.experiments.two_proportions``; hold-out is arm A, treatment arm B).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import duckdb
import numpy as np
from sqlalchemy import Integer, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.analytics import experiments
from livecircle.analytics.segments.lifecycle import naive_utc
from livecircle.analytics.store import EventStore
from livecircle.commerce.models import Coupon
from livecircle.growth.notify.models import Notification
from livecircle.kit.clock import utcnow
from livecircle.marketing.models import Campaign, Enrolment, Send
from livecircle.marketing.schemas import ArmFigures, CampaignOut, CampaignReport, Lift, StepFigures


async def campaign_report(
    session: AsyncSession, store: EventStore, campaign: Campaign, *, now: datetime | None = None
) -> CampaignReport:
    now = now or utcnow()
    entries = (
        await session.execute(
            select(
                Enrolment.user_id,
                func.min(Enrolment.entered_at),
                func.max(Enrolment.holdout.cast(Integer)),
            )
            .where(Enrolment.campaign_id == campaign.id)
            .group_by(Enrolment.user_id)
        )
    ).all()
    users = [int(u) for u, _, _ in entries]
    entered = [naive_utc(at) for _, at, _ in entries]
    held = [bool(h) for _, _, h in entries]
    days = campaign.conversion_days
    converted = await store.run(lambda con: _converted(con, campaign.tenant_id, users, entered, days))
    treatment = _arm([c for c, h in zip(converted, held, strict=True) if not h])
    holdout = _arm([c for c, h in zip(converted, held, strict=True) if h])
    test = experiments.two_proportions(
        holdout.converted, holdout.members, treatment.converted, treatment.members
    )
    states = dict(
        (
            await session.execute(
                select(Enrolment.status, func.count())
                .where(Enrolment.campaign_id == campaign.id)
                .group_by(Enrolment.status)
            )
        ).all()
    )
    return CampaignReport(
        campaign=CampaignOut.model_validate(campaign),
        entrants=len(users),
        treatment=treatment,
        holdout=holdout,
        lift=Lift(
            difference=test.difference,
            ci_low=test.ci_low,
            ci_high=test.ci_high,
            relative=test.difference / holdout.rate if holdout.rate else None,
            z=test.z,
            p_value=test.p_value,
            enough_data=test.enough_data,
            significant=test.significant,
        ),
        steps=await step_figures(session, campaign),
        active=int(states.get("active", 0)),
        finished=int(states.get("done", 0)) + int(states.get("stopped", 0)),
        computed_at=now,
    )


def _arm(flags: list[bool]) -> ArmFigures:
    members, hits = len(flags), sum(flags)
    return ArmFigures(members=members, converted=hits, rate=hits / members if members else 0.0)


_CONVERTED = """
SELECT c.user_id, count(e.person_id) > 0
FROM entrants c LEFT JOIN person_events e
  ON e.person_id = c.user_id AND e.tenant_id = $tenant AND e.type = 'order_paid'
 AND e.ts > c.entered_at AND e.ts <= c.entered_at + to_days($days)
GROUP BY c.user_id
"""


def _converted(
    con: duckdb.DuckDBPyConnection,
    tenant_id: int,
    users: list[int],
    entered: list[datetime],
    days: int,
) -> list[bool]:
    """Per member (in ``users`` order): an order paid within ``days`` after entering."""
    if not users:
        return []
    con.register(
        "entrants",
        {"user_id": np.array(users, dtype=np.int64), "entered_at": np.array(entered, dtype="datetime64[us]")},
    )
    try:
        rows = con.execute(_CONVERTED, {"tenant": tenant_id, "days": days}).fetchall()
    finally:
        con.unregister("entrants")
    found = {int(user): bool(hit) for user, hit in rows}
    return [found.get(user, False) for user in users]


async def step_figures(session: AsyncSession, campaign: Campaign) -> list[StepFigures]:
    counts: defaultdict[int, dict[str, int]] = defaultdict(dict)
    deferred: defaultdict[int, int] = defaultdict(int)
    clicked: defaultdict[int, int] = defaultdict(int)
    rows = await session.execute(
        select(
            Send.step,
            Send.status,
            func.count(),
            func.sum(Send.deferred.cast(Integer)),
            func.sum((Send.clicks > 0).cast(Integer)),
        )
        .where(Send.campaign_id == campaign.id)
        .group_by(Send.step, Send.status)
    )
    for step, status, count, late, clicks in rows:
        counts[step][status] = int(count)
        deferred[step] += int(late or 0)
        clicked[step] += int(clicks or 0)
    waiting = await session.execute(
        select(Enrolment.deferred_step, func.count())
        .where(
            Enrolment.campaign_id == campaign.id,
            Enrolment.status == "active",
            Enrolment.deferred_step == Enrolment.position,
        )
        .group_by(Enrolment.deferred_step)
    )
    for step, count in waiting:
        if step is not None:
            deferred[int(step)] += int(count)
    opened = await _opened(session, campaign)
    redeemed = await _redeemed(session, campaign)
    return [
        StepFigures(
            step=index,
            type=str(step.get("type", "")),
            counts=counts.get(index, {}),
            deferred=deferred.get(index, 0),
            opened=opened.get(index, 0),
            clicked=clicked.get(index, 0),
            redeemed=redeemed.get(index, 0),
        )
        for index, step in enumerate(campaign.steps)
    ]


async def _opened(session: AsyncSession, campaign: Campaign) -> dict[int, int]:
    """Inbox entries read, per step (the entry's dedupe key names campaign and step)."""
    prefix = f"campaign:{campaign.id}:"
    keys = await session.scalars(
        select(Notification.dedupe_key).where(
            Notification.dedupe_key.startswith(prefix, autoescape=True), Notification.read_at.is_not(None)
        )
    )
    opened: defaultdict[int, int] = defaultdict(int)
    for key in keys:
        step = key[len(prefix) :].split(":", 1)[0]
        if step.isdigit():
            opened[int(step)] += 1
    return opened


async def _redeemed(session: AsyncSession, campaign: Campaign) -> dict[int, int]:
    rows = await session.execute(
        select(Send.step, func.count())
        .join(Coupon, and_(Coupon.id == Send.coupon_id, Coupon.state == "used"))
        .where(Send.campaign_id == campaign.id)
        .group_by(Send.step)
    )
    return {int(step): int(count) for step, count in rows}
