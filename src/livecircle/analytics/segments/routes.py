"""Segments JSON API and CSV exports (operators of the tenant): lifecycle, RFM, clusters,
churn risk, cohort retention and A/B comparisons."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from livecircle.analytics import exports
from livecircle.analytics.segments import clusters, cohorts, lifecycle, rfm, service
from livecircle.analytics.store import EventStore
from livecircle.identity.deps import CurrentUser
from livecircle.kit.deps import DbSession

router = APIRouter(prefix="/api/v1/analytics", tags=["segments"])
K = Annotated[int, Query(ge=2, le=12)]
Weeks = Annotated[int, Query(ge=1, le=52)]
ShowIds = Annotated[
    str, Query(max_length=400, pattern=r"^\d+(,\d+)*$", description="show ids, comma separated")
]


def store_of(request: Request) -> EventStore:
    store: EventStore = request.app.state.analytics
    return store


def show_ids(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part][:50]


@router.get("/segments")
async def segments(
    request: Request, session: DbSession, principal: CurrentUser, k: K = 4, refresh: bool = False
) -> dict[str, Any]:
    """Lifecycle mix, RFM tiers, K-Means clusters with centroids, churn risk with its AUC."""
    tenant_id = service.operator_tenant(principal)
    result = await service.segments(store_of(request), tenant_id=tenant_id, k=k, refresh=refresh)
    return service.segments_json(result, await service.profiled(session, result["churn"].scores))


@router.get("/lifecycle.csv")
async def lifecycle_csv(request: Request, session: DbSession, principal: CurrentUser) -> Response:
    result = await service.segments(store_of(request), tenant_id=service.operator_tenant(principal))
    scores, stages = result["churn"].scores, result["lifecycle"]["stages"]
    keep = await service.profiled(session, stages)
    rows = [(u, s, lifecycle.STAGE_LABELS[s], scores.get(u)) for u, s in sorted(stages.items()) if u in keep]
    return exports.csv_response("lifecycle.csv", ("user_id", "stage", "stage_zh", "churn_score"), rows)


@router.get("/rfm")
async def rfm_list(
    request: Request,
    session: DbSession,
    principal: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
) -> list[dict[str, Any]]:
    """Buyers with R, F, M, their 1-5 scores and tier, highest monetary value first."""
    return await service.rfm_rows(
        session, store_of(request), tenant_id=service.operator_tenant(principal), limit=limit
    )


@router.get("/rfm.csv")
async def rfm_csv(request: Request, session: DbSession, principal: CurrentUser) -> Response:
    rows = await service.rfm_rows(session, store_of(request), tenant_id=service.operator_tenant(principal))
    return exports.csv_response("rfm.csv", rfm.COLUMNS, ([row[c] for c in rfm.COLUMNS] for row in rows))


@router.get("/rfm-tiers.csv")
async def rfm_tiers_csv(request: Request, principal: CurrentUser) -> Response:
    result = await service.segments(store_of(request), tenant_id=service.operator_tenant(principal))
    header = tuple(result["rfm_tiers"][0]) if result["rfm_tiers"] else ("tier",)
    return exports.csv_response("rfm_tiers.csv", header, (list(row.values()) for row in result["rfm_tiers"]))


@router.get("/clusters.csv")
async def clusters_csv(request: Request, principal: CurrentUser, k: K = 4) -> Response:
    result = await service.segments(store_of(request), tenant_id=service.operator_tenant(principal), k=k)
    clustering = result["clusters"]
    header = (
        "cluster",
        "label",
        "label_en",
        "size",
        "share",
        *(f"centroid_{n}" for n in clusters.FEATURES),
    )
    rows = [
        (c.index, c.label, c.label_en, c.size, c.share, *(c.centroid[n] for n in clusters.FEATURES))
        for c in clustering.clusters
    ]
    return exports.csv_response("clusters.csv", header, rows)


@router.get("/churn.csv")
async def churn_csv(request: Request, session: DbSession, principal: CurrentUser) -> Response:
    """Every scored account that allows profiling, riskiest first, with the validation AUC."""
    model = (await service.segments(store_of(request), tenant_id=service.operator_tenant(principal)))["churn"]
    keep = await service.profiled(session, model.scores)
    ranked = sorted(
        ((u, s) for u, s in model.scores.items() if u in keep), key=lambda item: (-item[1], item[0])
    )
    rows = [(user, score, model.auc) for user, score in ranked]
    return exports.csv_response("churn.csv", ("user_id", "churn_score", "validation_auc"), rows)


@router.get("/cohorts")
async def cohort_table(request: Request, principal: CurrentUser, weeks: Weeks = 8) -> dict[str, Any]:
    """Weekly retention by calendar week of the first event (see ``convention``)."""
    table = await service.cohort_table(
        store_of(request), tenant_id=service.operator_tenant(principal), weeks=weeks
    )
    return {"convention": cohorts.CONVENTION, "weeks": weeks, "cohorts": table}


@router.get("/cohorts.csv")
async def cohorts_csv(request: Request, principal: CurrentUser, weeks: Weeks = 8) -> Response:
    table = await service.cohort_table(
        store_of(request), tenant_id=service.operator_tenant(principal), weeks=weeks
    )
    header = (
        "cohort_week",
        "size",
        *(f"week_{k}" for k in range(weeks)),
        *(f"rate_{k}" for k in range(weeks)),
    )
    rows = [(row["cohort"].isoformat(), row["size"], *row["retained"], *row["rates"]) for row in table]
    return exports.csv_response("cohorts.csv", header, rows)


@router.get("/experiments")
async def experiment(
    request: Request,
    session: DbSession,
    principal: CurrentUser,
    a: ShowIds,
    b: ShowIds,
    metric: str = "watch_seconds",
) -> dict[str, Any]:
    """Arm A (shows ``a``) against arm B (shows ``b``): conversion z-test, mean Welch t-test."""
    tenant_id = service.operator_tenant(principal)
    store = store_of(request)
    return await service.compare(
        session, store, tenant_id=tenant_id, shows_a=show_ids(a), shows_b=show_ids(b), metric=metric
    )


@router.get("/experiments.csv")
async def experiment_csv(
    request: Request,
    session: DbSession,
    principal: CurrentUser,
    a: ShowIds,
    b: ShowIds,
    metric: str = "watch_seconds",
) -> Response:
    tenant_id = service.operator_tenant(principal)
    result = await service.compare(
        session,
        store_of(request),
        tenant_id=tenant_id,
        shows_a=show_ids(a),
        shows_b=show_ids(b),
        metric=metric,
    )
    return exports.csv_response("experiment.csv", ("test", "field", "value"), experiment_rows(result))


def experiment_rows(result: dict[str, Any]) -> list[tuple[str, str, Any]]:
    rows: list[tuple[str, str, Any]] = [
        ("arms", "shows_a", " ".join(map(str, result["shows_a"]))),
        ("arms", "shows_b", " ".join(map(str, result["shows_b"]))),
        ("arms", "overlap", result["overlap"]),
    ]
    rows += [("conversion", field, value) for field, value in result["conversion"].items()]
    rows += [(f"mean_{result['metric']}", field, value) for field, value in result["mean"].items()]
    return rows
