"""Alert rules derived from a show's own KPI targets (analytics.planning, report targets).

A show with a target for a rate the judge can measure live (``ALERTED``) gets one rule per
such target, judged in that show only, in addition to the tenant's rules: the seed rule of
the same metric with the target as its threshold (interaction rate < target ...). The rules
are kept in step with the targets whenever the show is judged, so any way of setting a
target (the planning page, the report API) counts. A tenant's default targets derive no
rule: the tenant's own rules already judge every show.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.analytics.alerts.models import AlertRule
from livecircle.analytics.alerts.service import DEFAULT_RULES
from livecircle.analytics.report.models import ShowTarget
from livecircle.kit.db import dialect_insert, one_sqlite_writer

# metric -> the seed rule it is derived from (the same window, cool-down and action).
ALERTED: dict[str, dict[str, object]] = {
    rule["metric"]: rule
    for rule in DEFAULT_RULES
    if rule["metric"] in ("interaction_rate", "click_to_order", "payment_success")
}


def rule_name(metric: str, target: float) -> str:
    return f"目标 Target: {metric} ≥ {target:g}"[:80]


async def shows_with_own_rules(session: AsyncSession, show_ids: list[int]) -> set[int]:
    """Of ``show_ids``, those with a target the judge measures or a rule derived from one."""
    with_targets = await session.scalars(
        select(ShowTarget.show_id).where(
            ShowTarget.show_id.in_(show_ids), ShowTarget.metric.in_(list(ALERTED))
        )
    )
    with_rules = await session.scalars(select(AlertRule.show_id).where(AlertRule.show_id.in_(show_ids)))
    return {int(s) for s in [*with_targets, *with_rules] if s is not None}


async def target_rules(
    session: AsyncSession, *, tenant_id: int, room_id: int, show_id: int
) -> list[AlertRule]:
    """The enabled rules derived from the show's targets, created or updated to match them."""
    targets = dict(
        (
            await session.execute(
                select(ShowTarget.metric, ShowTarget.value).where(
                    ShowTarget.show_id == show_id, ShowTarget.metric.in_(list(ALERTED))
                )
            )
        ).all()
    )
    rules = {
        r.metric: r for r in await session.scalars(select(AlertRule).where(AlertRule.show_id == show_id))
    }
    stale = [
        r
        for m, r in rules.items()
        if (m in targets) != r.enabled or (m in targets and r.threshold != targets[m])
    ]
    missing = [m for m in targets if m not in rules]
    if not stale and not missing:
        return [r for r in rules.values() if r.enabled]
    await one_sqlite_writer(session)
    for rule in stale:
        rule.enabled = rule.metric in targets
        if rule.enabled:
            rule.threshold, rule.name = targets[rule.metric], rule_name(rule.metric, targets[rule.metric])
    for metric in missing:
        await session.execute(
            dialect_insert(session, AlertRule)
            .values(
                **{
                    **ALERTED[metric],
                    "name": rule_name(metric, targets[metric]),
                    "threshold": targets[metric],
                },
                tenant_id=tenant_id,
                room_id=room_id,
                show_id=show_id,
                enabled=True,
            )
            .on_conflict_do_nothing(index_elements=["show_id", "metric"])
        )  # two nodes judging at once create it once
    await session.flush()
    fresh = await session.scalars(
        select(AlertRule)
        .where(AlertRule.show_id == show_id, AlertRule.enabled.is_(True))
        .execution_options(populate_existing=True)
    )
    return list(fresh)
