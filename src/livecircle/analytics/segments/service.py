"""Segments for a tenant, computed on the DuckDB replica's thread on demand.

A result is kept ``CACHE_SECONDS`` per node (K-Means and the churn model take seconds on a
large tenant); ``refresh`` recomputes it. Experiments and cohorts are cheap and never cached.
Every per-account list (churn risk, lifecycle, RFM) passes through ``profiled`` when it is
shown, not when it is cached: an account that refused profiling leaves them at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

import duckdb
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.analytics import experiments
from livecircle.analytics.segments import churn, clusters, cohorts, lifecycle, rfm
from livecircle.analytics.store import EventStore
from livecircle.identity.schemas import Principal, Role
from livecircle.kit.clock import utcnow
from livecircle.kit.errors import BadRequest, Forbidden
from livecircle.live.models import Show
from livecircle.privacy import consent

CACHE_SECONDS = 300.0
CHURN_LIST = 200  # accounts shown on the page (the CSV has all)
_cache: dict[tuple[int, int, int], tuple[float, dict[str, Any]]] = {}


def operator_tenant(principal: Principal) -> int:
    """The tenant whose analytics the principal operates. Raises Forbidden."""
    tenant_id = principal.tenant_id
    if tenant_id is None or not principal.has_role(tenant_id, Role.OPERATOR):
        raise Forbidden("Operators of the community see its segments and tags")
    return tenant_id


def compute_segments(
    con: duckdb.DuckDBPyConnection, *, tenant_id: int, as_of: datetime, k: int = clusters.DEFAULT_K
) -> dict[str, Any]:
    """Everything the segments page shows: churn model first, its scores feed the lifecycle."""
    model = churn.train_churn_model(con, tenant_id=tenant_id, as_of=as_of)
    stages = lifecycle.lifecycle_stages(con, tenant_id=tenant_id, as_of=as_of, churn_scores=model.scores)
    clustering = clusters.cluster_accounts(con, tenant_id=tenant_id, as_of=as_of, k=k)
    return {
        "as_of": as_of,
        "lifecycle": {"mix": lifecycle.stage_mix(stages), "stages": stages},
        "rfm_tiers": rfm.tier_summary(con, tenant_id=tenant_id, as_of=as_of),
        "clusters": clustering,
        "churn": model,
    }


async def segments(
    store: EventStore, *, tenant_id: int, k: int = clusters.DEFAULT_K, refresh: bool = False
) -> dict[str, Any]:
    key = (id(store), tenant_id, k)
    cached = _cache.get(key)
    if cached is not None and not refresh and time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1]
    as_of = utcnow()
    result = await store.run(lambda con: compute_segments(con, tenant_id=tenant_id, as_of=as_of, k=k))
    _cache[key] = (time.monotonic(), result)
    return result


async def profiled(session: AsyncSession, user_ids: Iterable[int]) -> set[int]:
    """The accounts among ``user_ids`` that allow profiling (consent records, read now); a
    pseudonymised id (negative, privacy.retention) names no account and is left out."""
    accounts = [user_id for user_id in user_ids if user_id > 0]
    return await consent.allowed_among(session, accounts, consent.Purpose.PROFILING)


def segments_json(result: dict[str, Any], allowed: set[int] | None = None) -> dict[str, Any]:
    """The overview without per-account lists (those are in the CSV exports); the churn list
    holds only ``allowed`` accounts (those that allow profiling) when given."""
    clustering: clusters.Clustering = result["clusters"]
    model: churn.ChurnModel = result["churn"]
    return {
        "as_of": result["as_of"],
        "lifecycle": {"mix": result["lifecycle"]["mix"], "rules": lifecycle.__doc__},
        "rfm_tiers": result["rfm_tiers"],
        "clusters": {
            "k": clustering.k,
            "accounts": clustering.accounts,
            "silhouette": clustering.silhouette,
            "clusters": [asdict(cluster) for cluster in clustering.clusters],
            "note": clustering.note,
        },
        "churn": churn_summary(model, allowed=allowed),
    }


def churn_summary(
    model: churn.ChurnModel, limit: int = CHURN_LIST, allowed: set[int] | None = None
) -> dict[str, Any]:
    ranked = sorted(model.scores.items(), key=lambda item: (-item[1], item[0]))
    if allowed is not None:
        ranked = [(user, score) for user, score in ranked if user in allowed]
    return {
        "auc": model.auc,
        "horizon_days": model.horizon_days,
        "train_cutoff": model.train_cutoff,
        "valid_cutoff": model.valid_cutoff,
        "train_accounts": model.train_accounts,
        "valid_accounts": model.valid_accounts,
        "train_churn_rate": model.train_churn_rate,
        "valid_churn_rate": model.valid_churn_rate,
        "scored": len(model.scores),
        "at_risk": sum(1 for score in model.scores.values() if score >= lifecycle.CHURN_SCORE),
        "top": [{"user_id": user, "score": score} for user, score in ranked[:limit]],
        "note": model.note,
    }


async def cohort_table(store: EventStore, *, tenant_id: int, weeks: int = 8) -> list[dict[str, Any]]:
    as_of = utcnow()
    return await store.run(
        lambda con: cohorts.retention_table(con, tenant_id=tenant_id, as_of=as_of, weeks=weeks)
    )


async def rfm_rows(
    session: AsyncSession, store: EventStore, *, tenant_id: int, limit: int | None = None
) -> list[dict[str, Any]]:
    """Buyers' RFM rows, only of accounts that allow profiling."""
    as_of = utcnow()
    rows = await store.run(lambda con: rfm.rfm_rows(con, tenant_id=tenant_id, as_of=as_of))
    keep = await profiled(session, (row["user_id"] for row in rows))
    return [row for row in rows if row["user_id"] in keep][:limit]


async def list_shows(session: AsyncSession, *, tenant_id: int, limit: int = 200) -> list[Show]:
    """The tenant's shows that have started, newest first (the experiment picker)."""
    rows = await session.scalars(
        select(Show)
        .where(Show.tenant_id == tenant_id, Show.started_at.is_not(None))
        .order_by(Show.started_at.desc(), Show.id.desc())
        .limit(limit)
    )
    return list(rows)


async def compare(
    session: AsyncSession,
    store: EventStore,
    *,
    tenant_id: int,
    shows_a: Sequence[int],
    shows_b: Sequence[int],
    metric: str = "watch_seconds",
) -> dict[str, Any]:
    """A/B comparison of two shows or two sets of shows of the tenant. Raises BadRequest."""
    if not shows_a or not shows_b:
        raise BadRequest("Pick at least one show for each arm")
    if metric not in experiments.MEAN_METRICS:
        raise BadRequest(f"metric is one of {', '.join(experiments.MEAN_METRICS)}")
    wanted = set(shows_a) | set(shows_b)
    found = set(
        await session.scalars(select(Show.id).where(Show.id.in_(wanted), Show.tenant_id == tenant_id))
    )
    if found != wanted:
        raise BadRequest(f"No such show: {', '.join(str(i) for i in sorted(wanted - found))}")
    result = await store.run(lambda con: experiments.compare_arms(con, shows_a, shows_b, metric=metric))
    return {**result, "conversion": asdict(result["conversion"]), "mean": asdict(result["mean"])}
