"""Reports: who may see or rebuild one, building (replica + names from the main database),
storing, reading, listing, targets and CSV export.

``build_report`` makes the data (``Report``); ``do_build_and_store`` also renders the HTML
and PDF and keeps them; both read the replica only after ``store.sync()``.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.analytics import exports
from livecircle.analytics.planning import targets as planning_targets
from livecircle.analytics.report import build
from livecircle.analytics.report.document import render_html
from livecircle.analytics.report.errors import ReportNotFound, ShowNotEnded, UnknownTable, UnknownTarget
from livecircle.analytics.report.models import ShowTarget, StoredReport
from livecircle.analytics.report.pdf import render_pdf
from livecircle.analytics.store import EventStore
from livecircle.commerce.models import Product
from livecircle.identity import service as identity_service
from livecircle.identity.schemas import Principal, Role
from livecircle.interaction import service as interaction_service
from livecircle.interaction.runofshow import service as runofshow_service
from livecircle.kit.clock import utcnow
from livecircle.kit.db import dialect_insert, one_sqlite_writer
from livecircle.kit.errors import Forbidden, Unauthenticated
from livecircle.live import service as live_service
from livecircle.live.models import Room, Show

ENDED = "ended"

# PDFs are drawn on one thread for the life of the process: matplotlib caches its fonts per
# thread (each holding its font file open), so drawing on the default pool's changing threads
# kept adding cached fonts, and each one evicted was collected with its file still open.
PDF_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="report-pdf")


@dataclass(frozen=True, slots=True)
class Report:
    show_id: int
    tenant_id: int
    data: dict[str, Any]
    built_at: datetime
    build_seconds: float


async def check_view_report(session: AsyncSession, principal: Principal, show_id: int) -> Show:
    """The show, when ``principal`` hosts its room or is a moderator (or above) of its tenant.
    Raises Unauthenticated, ShowNotFound, RoomNotFound, NotModerator."""
    if not principal.is_authenticated:
        raise Unauthenticated()
    show = await live_service.get_show(session, show_id)
    await interaction_service.check_moderate_room(session, principal, show.room_id)
    return show


async def check_manage_report(session: AsyncSession, principal: Principal, show_id: int) -> Show:
    """The show, when ``principal`` hosts its room or operates its tenant (rebuild, targets)."""
    if not principal.is_authenticated:
        raise Unauthenticated()
    show = await live_service.get_show(session, show_id)
    await live_service.check_manage_room(session, principal, show.room_id)
    return show


def check_console_tenant(principal: Principal) -> int:
    """The tenant whose reports the principal may list (moderators and above). Raises Forbidden."""
    tenant_id = principal.tenant_id
    if tenant_id is None or not principal.has_role(tenant_id, Role.MODERATOR):
        raise Forbidden("Moderators, hosts and operators see the tenant's reports")
    return tenant_id


async def build_report(session: AsyncSession, store: EventStore, show_id: int) -> Report:
    """The report's data for an ended show, from the replica brought up to date first.
    Raises ShowNotFound, ShowNotEnded."""
    started = time.perf_counter()
    context = await show_context(session, show_id)
    await store.sync()
    data = await store.run(lambda con: build.compute(con, context))
    await _name_products(session, data)
    data["script"] = await runofshow_service.show_log(session, show_id)  # run-of-show steps
    return Report(show_id, context.tenant_id, data, context.as_of, time.perf_counter() - started)


async def show_context(
    session: AsyncSession, show_id: int, *, as_of: datetime | None = None
) -> build.ShowContext:
    show = await live_service.get_show(session, show_id)
    if show.status != ENDED or show.ended_at is None:
        raise ShowNotEnded()
    room = await live_service.get_room(session, show.room_id)
    host = await identity_service.get_user(session, room.owner_id)
    return build.ShowContext(
        show_id=show.id,
        tenant_id=show.tenant_id,
        title=show.title,
        room_id=room.id,
        room_title=room.title,
        category=room.category,
        host_id=room.owner_id,
        host_name=host.display_name if host else "",
        started_at=show.started_at or show.ended_at,
        ended_at=show.ended_at,
        as_of=as_of or utcnow(),
        previous=await previous_shows(session, show, host_id=room.owner_id),
        **await _targets(session, show),
    )


async def _targets(session: AsyncSession, show: Show) -> dict[str, Any]:
    """The show's own targets, the tenant's defaults for the other figures (planning)."""
    held = await planning_targets.effective(session, show_id=show.id, tenant_id=show.tenant_id)
    sources = {t.metric: t.source for t in held}
    return {"targets": {t.metric: t.target for t in held}, "target_sources": sources}


async def previous_shows(session: AsyncSession, show: Show, *, host_id: int) -> list[dict[str, Any]]:
    """The host's last ``PREVIOUS_SHOWS`` shows that ended before this one ended, with the
    figures of their stored reports (a show without one is computed from the replica)."""
    assert show.ended_at is not None
    rows = await session.execute(
        select(Show.id, Show.title, Show.ended_at, StoredReport.data)
        .join(Room, Room.id == Show.room_id)
        .outerjoin(StoredReport, StoredReport.show_id == Show.id)
        .where(
            Room.owner_id == host_id,
            Show.status == ENDED,
            Show.id != show.id,
            Show.ended_at <= show.ended_at,
        )
        .order_by(Show.ended_at.desc(), Show.id.desc())
        .limit(build.PREVIOUS_SHOWS)
    )
    return [
        {
            "show_id": show_id,
            "title": title,
            "ended_at": ended_at.isoformat() if ended_at else None,
            "figures": data.get("figures") if data else None,
        }
        for show_id, title, ended_at, data in rows.all()
    ]


async def _name_products(session: AsyncSession, data: dict[str, Any]) -> None:
    ids = {int(p["product_id"]) for p in data["products"]}
    ids |= {
        int(c["props"]["product_id"])
        for peak in data["interaction"]["peaks"]
        for c in peak["causes"]
        if isinstance(c["props"].get("product_id"), int)
    }
    names: dict[int, tuple[str, str]] = {}
    if ids:
        rows = await session.execute(
            select(Product.id, Product.name, Product.category).where(
                Product.id.in_(ids), Product.tenant_id == data["show"]["tenant_id"]
            )
        )
        names = {i: (n, c) for i, n, c in rows.all()}
    for product in data["products"]:
        name, category = names.get(product["product_id"], ("", ""))
        product.update(name=name, category=category)
    for peak in data["interaction"]["peaks"]:
        for cause in peak["causes"]:
            product_id = cause["props"].get("product_id")
            if isinstance(product_id, int) and product_id in names:
                cause["product_name"] = names[product_id][0]


async def do_build_and_store(session: AsyncSession, store: EventStore, show_id: int) -> StoredReport:
    """Build the report, render its HTML and PDF (off the event loop) and keep them, replacing
    an earlier build. Raises ShowNotFound, ShowNotEnded."""
    started = time.perf_counter()
    report = await build_report(session, store, show_id)
    html = await asyncio.to_thread(render_html, report.data)
    pdf = await asyncio.get_running_loop().run_in_executor(PDF_THREAD, render_pdf, report.data)
    values = {
        "show_id": report.show_id,
        "tenant_id": report.tenant_id,
        "data": report.data,
        "html": html,
        "pdf": pdf,
        "built_at": report.built_at,
        "build_seconds": round(time.perf_counter() - started, 3),
    }
    await one_sqlite_writer(session)
    insert = dialect_insert(session, StoredReport).values(**values)
    updated = {k: insert.excluded[k] for k in values if k != "show_id"}
    await session.execute(insert.on_conflict_do_update(index_elements=["show_id"], set_=updated))
    return await get_stored(session, show_id)


async def get_stored(session: AsyncSession, show_id: int) -> StoredReport:
    """Raises ReportNotFound."""
    stored = await session.scalar(
        select(StoredReport).where(StoredReport.show_id == show_id).execution_options(populate_existing=True)
    )
    if stored is None:
        raise ReportNotFound()
    return stored


async def list_reports(session: AsyncSession, *, tenant_id: int, limit: int = 200) -> list[dict[str, Any]]:
    """The tenant's reports, newest show first: the headline figures, not the documents."""
    rows = await session.execute(
        select(StoredReport.show_id, StoredReport.data, StoredReport.built_at, StoredReport.build_seconds)
        .where(StoredReport.tenant_id == tenant_id)
        .order_by(StoredReport.show_id.desc())
        .limit(limit)
    )
    return [
        {
            "show_id": show_id,
            "title": data["show"]["title"],
            "room_title": data["show"]["room_title"],
            "host_name": data["show"]["host_name"],
            "started_at": data["show"]["started_at"],
            "built_at": built_at,
            "build_seconds": seconds,
            "figures": {k: data["figures"].get(k) for k in HEADLINE},
        }
        for show_id, data, built_at, seconds in rows.all()
    ]


HEADLINE: tuple[str, ...] = ("viewers", "peak", "interaction_rate", "orders", "gmv_cents", "paid_cents")


async def get_targets(session: AsyncSession, show_id: int) -> dict[str, float]:
    rows = await session.execute(
        select(ShowTarget.metric, ShowTarget.value)
        .where(ShowTarget.show_id == show_id)
        .order_by(ShowTarget.id)
    )
    return {metric: float(value) for metric, value in rows.all()}


async def do_set_targets(session: AsyncSession, show: Show, targets: dict[str, float]) -> dict[str, float]:
    """Replace the show's targets. Raises UnknownTarget for a figure the report does not have."""
    unknown = sorted(set(targets) - set(build.COMPARED))
    if unknown:
        raise UnknownTarget(f"No such figure: {', '.join(unknown)}", allowed=list(build.COMPARED))
    await one_sqlite_writer(session)
    await session.execute(delete(ShowTarget).where(ShowTarget.show_id == show.id))
    session.add_all(ShowTarget(show_id=show.id, metric=m, value=float(v)) for m, v in targets.items())
    await session.flush()
    return await get_targets(session, show.id)


CSV_TABLES: dict[str, tuple[str, ...]] = {
    "funnel": ("step", "people", "conversion"),
    "products": (
        "product_id",
        "name",
        "category",
        "clicks",
        "clickers",
        "orders",
        "order_cents",
        "paid_orders",
        "paid_cents",
    ),
    "curve": ("seconds", "online"),
    "interaction": ("minute", "chat", "like_taps", "gifts", "shares", "total"),
    "formulas": ("interaction", "doers", "ordered", "p", "a", "p_a", "c", "c_p", "i_b", "ib_p"),
    "comparison": ("metric", "this", "mean", "delta", "delta_pct"),
    "targets": ("metric", "target", "actual", "attainment"),
    "segments": ("stage", "label", "count", "share"),
}


def table_rows(data: dict[str, Any], table: str) -> list[dict[str, Any]]:
    """One of the report's tables as rows (``CSV_TABLES``). Raises UnknownTable."""
    if table not in CSV_TABLES:
        raise UnknownTable(allowed=list(CSV_TABLES))
    if table == "curve":
        return [{"seconds": s, "online": n} for s, n in data["curve"]["points"]]
    where = {
        "funnel": ("funnel", "steps"),
        "products": ("products",),
        "interaction": ("interaction", "minutes"),
        "formulas": ("formulas", "rows"),
        "comparison": ("comparison", "rows"),
        "targets": ("targets",),
        "segments": ("segments", "mix"),
    }[table]
    found: Any = data
    for key in where:
        found = found[key]
    return list(found)


def export_csv(data: dict[str, Any], table: str) -> str:
    """The table as CSV with a UTF-8 BOM (spreadsheet programs then read Chinese right)."""
    columns = CSV_TABLES.get(table, ())
    rows = ([row.get(column) for column in columns] for row in table_rows(data, table))
    return "\ufeff" + exports.csv_text(columns, rows)
