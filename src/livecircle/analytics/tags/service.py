"""Tag rules, tagging runs, coverage and each member's profiling choice.

The member's choice is a consent record (``privacy.consent``, purpose ``profiling``, the single
source of truth). ``profiling_allowed`` is the one filter every marketing list goes through:
an account that refused profiling is never in it, and keeps no profiling tags (they are
deleted when it refuses, and no run gives it new ones).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.analytics.store import EventStore
from livecircle.analytics.tags import compute
from livecircle.analytics.tags.errors import TagRuleInvalid, TagRuleNameTaken, TagRuleNotFound
from livecircle.analytics.tags.models import TagRule, UserTag
from livecircle.analytics.tags.schemas import TagRuleIn, TagRulePatch, parse_definition
from livecircle.commerce.models import Product
from livecircle.kit import jobs
from livecircle.kit.clock import utcnow
from livecircle.kit.db import dialect_insert, one_sqlite_writer
from livecircle.live.models import Room
from livecircle.privacy import consent

RUN_JOB = "analytics.tag_run"
RUN_EVERY = timedelta(hours=1)
COVERAGE_TARGET = 0.9  # the seed target (PRODUCT.md §6)
COVERAGE_DAYS = 30
INSERT_CHUNK = 500

DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    {
        "name": "兴趣",
        "kind": "interest",
        "definition": {
            "prefix": "兴趣",
            "window_days": 30,
            "weights": {"view_start": 1, "product_click": 2, "order_paid": 3},
            "min_score": 1,
            "max_tags": 3,
        },
    },
    {
        "name": "消费力",
        "kind": "consumption",
        "definition": {
            "metric": "spend_cents",
            "window_days": 90,
            "bands": [
                {"min": 1, "tag": "消费:低"},
                {"min": 20_000, "tag": "消费:中"},
                {"min": 100_000, "tag": "消费:高"},
            ],
        },
    },
    {
        "name": "购买频次",
        "kind": "consumption",
        "definition": {
            "metric": "paid_orders",
            "window_days": 90,
            "bands": [
                {"min": 1, "tag": "频次:首购"},
                {"min": 2, "tag": "频次:复购"},
                {"min": 5, "tag": "频次:高频"},
            ],
        },
    },
    {
        "name": "价格带",
        "kind": "consumption",
        "definition": {
            "metric": "median_order_cents",
            "window_days": 90,
            "bands": [
                {"min": 1, "tag": "价格带:低"},
                {"min": 5_000, "tag": "价格带:中"},
                {"min": 30_000, "tag": "价格带:高"},
            ],
        },
    },
)


@dataclass(frozen=True)
class RunResult:
    tags: int
    accounts: int
    skipped_opted_out: int
    computed_at: datetime


# --- rules -------------------------------------------------------------------------------


async def ensure_rules(session: AsyncSession, *, tenant_id: int) -> list[TagRule]:
    """The tenant's rules, seeding the defaults (and the hourly run) on first use."""
    rules = await list_rules(session, tenant_id=tenant_id)
    if rules:
        return rules
    await one_sqlite_writer(session)
    now = utcnow()
    for rule in DEFAULT_RULES:
        await session.execute(
            dialect_insert(session, TagRule)
            .values(tenant_id=tenant_id, created_at=now, updated_at=now, enabled=True, **rule)
            .on_conflict_do_nothing(index_elements=["tenant_id", "name"])
        )
    await schedule_next_run(session, tenant_id=tenant_id, after=now)
    return await list_rules(session, tenant_id=tenant_id)


async def list_rules(session: AsyncSession, *, tenant_id: int) -> list[TagRule]:
    rows = await session.scalars(select(TagRule).where(TagRule.tenant_id == tenant_id).order_by(TagRule.id))
    return list(rows)


async def get_rule(session: AsyncSession, *, tenant_id: int, rule_id: int) -> TagRule:
    """Raises TagRuleNotFound (also for another tenant's rule)."""
    rule = await session.get(TagRule, rule_id)
    if rule is None or rule.tenant_id != tenant_id:
        raise TagRuleNotFound()
    return rule


async def do_create_rule(session: AsyncSession, *, tenant_id: int, data: TagRuleIn) -> TagRule:
    """Raises TagRuleInvalid, TagRuleNameTaken. The defaults are seeded first if the tenant has
    none (a rule of its own added before anyone listed them does not replace them)."""
    definition = _checked(data.kind, data.definition)
    await ensure_rules(session, tenant_id=tenant_id)
    await _check_name_free(session, tenant_id=tenant_id, name=data.name)
    rule = TagRule(
        tenant_id=tenant_id, name=data.name, kind=data.kind, definition=definition, enabled=data.enabled
    )
    session.add(rule)
    await session.flush()
    return rule


async def do_update_rule(session: AsyncSession, rule: TagRule, data: TagRulePatch) -> TagRule:
    """Raises TagRuleInvalid, TagRuleNameTaken. Takes effect at the next run."""
    if data.name is not None and data.name != rule.name:
        await _check_name_free(session, tenant_id=rule.tenant_id, name=data.name)
        rule.name = data.name
    if data.definition is not None:
        rule.definition = _checked(rule.kind, data.definition)
    if data.enabled is not None:
        rule.enabled = data.enabled
    rule.updated_at = utcnow()
    await session.flush()
    return rule


async def do_delete_rule(session: AsyncSession, rule: TagRule) -> None:
    await session.delete(rule)
    await session.flush()


def _checked(kind: str, definition: dict[str, Any]) -> dict[str, Any]:
    try:
        return parse_definition(kind, definition).model_dump()
    except ValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc'])) or 'definition'}: {e['msg']}" for e in exc.errors()]
        raise TagRuleInvalid("; ".join(problems)) from None


async def _check_name_free(session: AsyncSession, *, tenant_id: int, name: str) -> None:
    taken = await session.scalar(
        select(TagRule.id).where(TagRule.tenant_id == tenant_id, TagRule.name == name)
    )
    if taken is not None:
        raise TagRuleNameTaken()


# --- runs --------------------------------------------------------------------------------


async def do_run_tags(
    session: AsyncSession, store: EventStore, *, tenant_id: int, as_of: datetime | None = None
) -> RunResult:
    """Evaluate the enabled rules on the replica and replace the tenant's tags with the result,
    in the caller's transaction (readers see the old set or the new one, never a mix).
    Accounts that opted out of profiling get none."""
    as_of = as_of or utcnow()
    rules = [
        compute.Rule(rule.id, rule.name, rule.kind, rule.definition)
        for rule in await ensure_rules(session, tenant_id=tenant_id)
        if rule.enabled
    ]
    rooms = await _categories(session, Room, tenant_id)
    products = await _categories(session, Product, tenant_id)
    found = await store.run(
        lambda con: compute.evaluate(
            con, rules, tenant_id=tenant_id, as_of=as_of, room_categories=rooms, product_categories=products
        )
    )
    await one_sqlite_writer(session)
    opted_out = await _opted_out(session, {tagging.user_id for tagging in found})
    # Pseudonymised events (negative ids, privacy.retention) name no account: never tagged.
    kept = [tagging for tagging in found if tagging.user_id > 0 and tagging.user_id not in opted_out]
    await session.execute(delete(UserTag).where(UserTag.tenant_id == tenant_id))
    rows = [_row(tagging, tenant_id, as_of) for tagging in kept]
    for start in range(0, len(rows), INSERT_CHUNK):
        await session.execute(insert(UserTag), rows[start : start + INSERT_CHUNK])
    accounts = len({tagging.user_id for tagging in kept})
    skipped = len({tagging.user_id for tagging in found if tagging.user_id in opted_out})
    return RunResult(tags=len(kept), accounts=accounts, skipped_opted_out=skipped, computed_at=as_of)


def _row(tagging: compute.Tagging, tenant_id: int, as_of: datetime) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "user_id": tagging.user_id,
        "tag": tagging.tag,
        "kind": tagging.kind,
        "rule_id": tagging.rule_id,
        "reason": tagging.reason,
        "reason_en": tagging.reason_en,
        "computed_at": as_of,
    }


async def _categories(
    session: AsyncSession, model: type[Room] | type[Product], tenant_id: int
) -> dict[int, str]:
    rows = await session.execute(
        select(model.id, model.category).where(model.tenant_id == tenant_id, model.category != "")
    )
    return {int(row_id): category for row_id, category in rows}


async def schedule_next_run(session: AsyncSession, *, tenant_id: int, after: datetime) -> None:
    """The hourly run at the top of the next hour (one job per tenant and hour)."""
    run_at = after.replace(minute=0, second=0, microsecond=0) + RUN_EVERY
    key = f"{RUN_JOB}:{tenant_id}:{run_at:%Y%m%d%H}"
    await jobs.schedule(session, RUN_JOB, key=key, run_at=run_at, payload={"tenant_id": tenant_id})


async def last_run_at(session: AsyncSession, *, tenant_id: int) -> datetime | None:
    value: datetime | None = await session.scalar(
        select(func.max(UserTag.computed_at)).where(UserTag.tenant_id == tenant_id)
    )
    return value


# --- reading tags --------------------------------------------------------------------------


async def list_user_tags(session: AsyncSession, *, user_id: int) -> list[UserTag]:
    """An account's tags with their reasons (none once it opted out)."""
    if await _opted_out(session, {user_id}):
        return []
    rows = await session.scalars(
        select(UserTag).where(UserTag.user_id == user_id).order_by(UserTag.kind, UserTag.tag)
    )
    return list(rows)


async def list_tenant_tags(
    session: AsyncSession, *, tenant_id: int, limit: int | None = None
) -> list[UserTag]:
    """The tenant's tags, by account then tag; opted-out accounts left out."""
    query = (
        select(UserTag)
        .where(UserTag.tenant_id == tenant_id, consent.allowing(UserTag.user_id, consent.Purpose.PROFILING))
        .order_by(UserTag.user_id, UserTag.tag)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(await session.scalars(query))


async def tag_counts(session: AsyncSession, *, tenant_id: int) -> list[tuple[str, str, int]]:
    """(tag, kind, accounts) for the tenant, most common first."""
    rows = await session.execute(
        select(UserTag.tag, UserTag.kind, func.count())
        .where(UserTag.tenant_id == tenant_id, consent.allowing(UserTag.user_id, consent.Purpose.PROFILING))
        .group_by(UserTag.tag, UserTag.kind)
        .order_by(func.count().desc(), UserTag.tag)
    )
    return [(tag, kind, int(count)) for tag, kind, count in rows]


async def coverage(
    session: AsyncSession, store: EventStore, *, tenant_id: int, days: int = COVERAGE_DAYS
) -> dict[str, Any]:
    """Tagged accounts / accounts with a ``view_start`` in the last ``days`` that allow profiling."""
    since = utcnow() - timedelta(days=days)

    def viewers(con: Any) -> set[int]:
        rows = con.execute(
            "SELECT DISTINCT person_id FROM person_events WHERE tenant_id = ? AND type = 'view_start' "
            "AND person_id IS NOT NULL AND ts > ?",
            [tenant_id, since.replace(tzinfo=None)],
        ).fetchall()
        return {int(row[0]) for row in rows}

    watched = await store.run(viewers)
    opted_out = await _opted_out(session, watched)
    counted = watched - opted_out
    tagged_rows = await session.scalars(
        select(UserTag.user_id).where(UserTag.tenant_id == tenant_id).distinct()
    )
    tagged = counted & set(tagged_rows)
    return {
        "viewers": len(counted),
        "tagged": len(tagged),
        "coverage": round(len(tagged) / len(counted), 4) if counted else None,
        "target": COVERAGE_TARGET,
        "opted_out": len(opted_out),
        "days": days,
        "last_run_at": await last_run_at(session, tenant_id=tenant_id),
    }


# --- profiling choice --------------------------------------------------------------------------


async def is_opted_out(session: AsyncSession, *, user_id: int) -> bool:
    return bool(await _opted_out(session, {user_id}))


async def do_set_profiling(
    session: AsyncSession,
    *,
    user_id: int,
    opt_out: bool,
    channel: consent.Channel = consent.Channel.WEB,
    locale: str = "zh-CN",
) -> None:
    """Record the member's choice as a ``profiling`` consent record; opting out deletes their
    profiling tags at once. Raises GuardianConsentPending (opting in before a guardian agreed)."""
    await one_sqlite_writer(session)
    change = consent.withdraw if opt_out else consent.grant
    await change(session, user_id=user_id, purpose=consent.Purpose.PROFILING, channel=channel, locale=locale)
    if opt_out:
        await do_forget_tags(session, user_id=user_id)


async def do_forget_tags(session: AsyncSession, *, user_id: int) -> None:
    """Delete an account's profiling tags (it refused profiling)."""
    await session.execute(delete(UserTag).where(UserTag.user_id == user_id))


async def profiling_allowed(session: AsyncSession, user_ids: Iterable[int]) -> set[int]:
    """The accounts among ``user_ids`` that may be targeted by profiling-based marketing:
    every marketing list must pass through this (opted-out accounts are removed)."""
    wanted = {int(user_id) for user_id in user_ids}
    return wanted - await _opted_out(session, wanted)


async def _opted_out(session: AsyncSession, user_ids: set[int]) -> set[int]:
    """The accounts among ``user_ids`` without ``profiling`` consent (refused, or a minor
    awaiting a guardian): read from the consent records, no cache."""
    return set(user_ids) - await consent.allowed_among(session, user_ids, consent.Purpose.PROFILING)
