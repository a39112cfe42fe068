"""KPI targets of a show: its own (the report's ``analytics_show_target``); a show with no
target of its own is held to the tenant's defaults, else to the seed KPIs. The set is taken
whole, not figure by figure: a host who sets a show's targets says what that show is for
(a brand show may aim at viewers only), and the report then compares exactly those.

The alert judge derives rules from a show's own targets only (``alerts/targets.py``); the
post-show report compares every effective target (``report/service.show_context``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.analytics.alerts.targets import ALERTED
from livecircle.analytics.planning.errors import UnknownKpi
from livecircle.analytics.planning.models import KpiDefault
from livecircle.analytics.report.build import COMPARED
from livecircle.analytics.report.models import ShowTarget
from livecircle.kit.db import one_sqlite_writer

# PRODUCT.md's seed KPIs that are figures of a show (average viewers ≥ 500, interaction
# rate ≥ 8 %, click → order ≥ 12 %, payment success ≥ 85 %).
SEED_KPIS: dict[str, float] = {
    "viewers": 500.0,
    "interaction_rate": 0.08,
    "click_to_order": 0.12,
    "payment_success": 0.85,
}
KPI_METRICS: tuple[str, ...] = COMPARED


@dataclass(frozen=True, slots=True)
class Target:
    metric: str
    target: float
    source: str  # show | tenant | seed

    @property
    def alerts(self) -> bool:
        return self.source == "show" and self.metric in ALERTED


def check_metrics(targets: dict[str, float]) -> None:
    """Raises UnknownKpi for a figure the report does not have."""
    unknown = sorted(set(targets) - set(KPI_METRICS))
    if unknown:
        raise UnknownKpi(f"No such figure: {', '.join(unknown)}", allowed=list(KPI_METRICS))


async def tenant_defaults(session: AsyncSession, *, tenant_id: int) -> tuple[dict[str, float], str]:
    """The tenant's default targets and where they come from ("tenant", or "seed" until set)."""
    rows = await session.execute(
        select(KpiDefault.metric, KpiDefault.target).where(KpiDefault.tenant_id == tenant_id)
    )
    own = {metric: float(value) for metric, value in rows.all()}
    return (_ordered(own), "tenant") if own else (dict(SEED_KPIS), "seed")


async def do_set_tenant_defaults(
    session: AsyncSession, *, tenant_id: int, targets: dict[str, float]
) -> dict[str, float]:
    """Replace the tenant's defaults; an empty set brings the seed KPIs back. Raises UnknownKpi."""
    check_metrics(targets)
    await one_sqlite_writer(session)
    await session.execute(delete(KpiDefault).where(KpiDefault.tenant_id == tenant_id))
    session.add_all(KpiDefault(tenant_id=tenant_id, metric=m, target=float(v)) for m, v in targets.items())
    await session.flush()
    return (await tenant_defaults(session, tenant_id=tenant_id))[0]


async def show_own(session: AsyncSession, *, show_id: int) -> dict[str, float]:
    rows = await session.execute(
        select(ShowTarget.metric, ShowTarget.value)
        .where(ShowTarget.show_id == show_id)
        .order_by(ShowTarget.id)
    )
    return {metric: float(value) for metric, value in rows.all()}


async def effective(session: AsyncSession, *, show_id: int, tenant_id: int) -> list[Target]:
    """Every target the show is held to, in the report's figure order."""
    own = await show_own(session, show_id=show_id)
    if own:
        found = {m: Target(m, v, "show") for m, v in own.items()}
    else:
        defaults, source = await tenant_defaults(session, tenant_id=tenant_id)
        found = {m: Target(m, v, source) for m, v in defaults.items()}
    return [found[m] for m in KPI_METRICS if m in found]


def _ordered(targets: dict[str, float]) -> dict[str, float]:
    return {m: targets[m] for m in KPI_METRICS if m in targets}
