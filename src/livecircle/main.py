"""create_app(): lifespan, middleware, error handlers, routers, sockets."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.asyncio import Redis
from sqlalchemy import text
from starlette.types import ASGIApp

from livecircle import __version__
from livecircle.analytics import script_judge
from livecircle.analytics.alerts import tasks as alert_tasks
from livecircle.analytics.planning import tasks as planning_tasks
from livecircle.analytics.planning.routes import router as planning_router
from livecircle.analytics.report import tasks as report_tasks
from livecircle.analytics.report.routes import router as report_router
from livecircle.analytics.routes import router as analytics_router
from livecircle.analytics.segments.routes import router as segments_router
from livecircle.analytics.tags import tasks as tag_tasks
from livecircle.analytics.tags.routes import router as tags_router
from livecircle.analytics.tasks import Analytics, install_tracking
from livecircle.commerce import tasks as commerce_tasks
from livecircle.commerce.flash_orders import FlashOrders
from livecircle.commerce.gate import FlashGate
from livecircle.commerce.order_routes import router as orders_router
from livecircle.commerce.routes import router as commerce_router
from livecircle.community import tasks as community_tasks
from livecircle.community.discussion.activity_routes import router as activities_router
from livecircle.community.discussion.moderation_routes import router as community_moderation_router
from livecircle.community.discussion.routes import router as discussion_router
from livecircle.community.routes import router as community_router
from livecircle.config import Settings, get_settings
from livecircle.economy.batcher import close_batcher
from livecircle.economy.payments import SandboxProvider
from livecircle.economy.points_routes import router as points_router
from livecircle.economy.routes import router as economy_router
from livecircle.growth.invites import tasks as invite_tasks
from livecircle.growth.invites.routes import router as invites_router
from livecircle.growth.notify import tasks as notify_tasks
from livecircle.growth.notify.routes import router as notify_router
from livecircle.growth.onboarding_routes import router as onboarding_router
from livecircle.identity import service as identity_service
from livecircle.identity.deps import principal_cache
from livecircle.identity.routes import router as identity_router
from livecircle.interaction import sockets as interaction_sockets
from livecircle.interaction import tasks as interaction_tasks
from livecircle.interaction.cohost import tasks as cohost_tasks
from livecircle.interaction.cohost.routes import router as cohost_router
from livecircle.interaction.engine import ChatEngine
from livecircle.interaction.lotteries import tasks as lottery_tasks
from livecircle.interaction.lotteries.routes import router as lottery_router
from livecircle.interaction.polls import tasks as poll_tasks
from livecircle.interaction.polls.routes import router as poll_router
from livecircle.interaction.qa import tasks as qa_tasks
from livecircle.interaction.qa.routes import router as qa_router
from livecircle.interaction.routes import router as interaction_router
from livecircle.interaction.runofshow.actions import Limits
from livecircle.interaction.runofshow_routes import router as runofshow_router
from livecircle.kit import redact
from livecircle.kit.db import Database
from livecircle.kit.errors import install_error_handlers
from livecircle.kit.i18n import Translator, load_catalogs
from livecircle.kit.jobs import JobRunner
from livecircle.kit.logging import configure_logging
from livecircle.kit.ratelimit import RateLimiter
from livecircle.kit.route_index import RouteIndex
from livecircle.kit.security_headers import SecurityHeaders
from livecircle.kit.templating import Pages
from livecircle.live import tasks as live_tasks
from livecircle.live.delivery import router as delivery_router
from livecircle.live.hooks import router as hooks_router
from livecircle.live.media.embedded import EmbeddedIngest
from livecircle.live.media.hls import PlaybackSessions
from livecircle.live.routes import router as live_router
from livecircle.live.viewers import PeakRecorder, WatchClock
from livecircle.marketing.routes import clicks as campaign_clicks_router
from livecircle.marketing.routes import router as campaigns_router
from livecircle.marketing.tasks import Marketing
from livecircle.moderation.routes import router as moderation_router
from livecircle.realtime.broker import Broker, MemoryBroker
from livecircle.realtime.fastpath import RawSendMiddleware
from livecircle.realtime.gateway import Gateway
from livecircle.realtime.hub import Hub
from livecircle.realtime.presence import RedisPresence
from livecircle.realtime.redis_broker import RedisBroker
from livecircle.web import consent_wiring, privacy_wiring, token_wiring
from livecircle.web.api_docs import router as api_docs_router
from livecircle.web.audit_pages import router as audit_pages_router
from livecircle.web.commerce_pages import router as commerce_pages_router
from livecircle.web.community_pages import router as community_pages_router
from livecircle.web.coupon_pages import router as coupon_pages_router
from livecircle.web.dashboard_pages import router as dashboard_pages_router
from livecircle.web.discussion_pages import router as discussion_pages_router
from livecircle.web.economy_pages import router as economy_pages_router
from livecircle.web.invite_pages import router as invite_pages_router
from livecircle.web.lottery_pages import router as lottery_pages_router
from livecircle.web.marketing_pages import router as marketing_pages_router
from livecircle.web.notify_pages import router as notify_pages_router
from livecircle.web.order_pages import router as order_pages_router
from livecircle.web.pages import router as pages_router
from livecircle.web.planning_pages import router as planning_pages_router
from livecircle.web.report_pages import router as report_pages_router
from livecircle.web.request_context import RequestContext
from livecircle.web.runofshow_pages import router as runofshow_pages_router
from livecircle.web.security_pages import router as security_pages_router
from livecircle.web.segment_pages import router as segment_pages_router
from livecircle.web.sockets import make_admit

WEB = Path(__file__).parent / "web"
# Signed single-purpose links (e-mailed): their token is the path's last part, kept out of logs.
CAPABILITY_LINKS = ("/unsubscribe/", "/exports/", "/guardian/")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(level=settings.log_level, json=settings.log_json)
    redact.install(capability_prefixes=CAPABILITY_LINKS)
    identity_service.configure_hashing(settings.password_hash)
    translator = Translator(load_catalogs(WEB / "translations"), default=settings.default_locale)
    pages = Pages(WEB / "templates", translator)
    app = LivecircleApp(
        title="livecircle",
        version=__version__,
        lifespan=_lifespan,
        openapi_url="/api/openapi.json",
        docs_url=None,  # web.api_docs serves /api/docs without inline script
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.translator = translator
    app.state.pages = pages
    app.state.playback_sessions = PlaybackSessions()
    app.state.background = set()
    app.state.principals = principal_cache()
    app.state.limiter = RateLimiter.for_url(settings.redis_url)
    app.state.payments = SandboxProvider(settings.secret_key, settings.http.base_url)
    install_error_handlers(app, render_page=_error_page)
    for router in (
        identity_router,
        analytics_router,
        segments_router,
        tags_router,
        segment_pages_router,
        report_router,
        planning_router,
        live_router,
        interaction_router,
        poll_router,
        lottery_router,
        runofshow_router,
        qa_router,
        cohost_router,
        economy_router,
        points_router,
        commerce_router,
        orders_router,
        community_router,
        discussion_router,
        activities_router,
        community_moderation_router,
        onboarding_router,
        moderation_router,
        delivery_router,
        hooks_router,
        pages_router,
        dashboard_pages_router,
        commerce_pages_router,
        coupon_pages_router,
        order_pages_router,
        economy_pages_router,
        lottery_pages_router,
        community_pages_router,
        discussion_pages_router,
        invites_router,
        invite_pages_router,
        notify_router,
        notify_pages_router,
        report_pages_router,
        planning_pages_router,
        runofshow_pages_router,
        security_pages_router,
        api_docs_router,
        audit_pages_router,
        campaigns_router,
        campaign_clicks_router,
        marketing_pages_router,
        *consent_wiring.ROUTERS,
        *privacy_wiring.ROUTERS,
    ):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")
    _install_ops_routes(app)
    app.add_middleware(RequestContext)
    app.add_middleware(RawSendMiddleware)  # outermost: hands the hub the server's own socket writer

    @app.websocket("/ws/rooms/{room_id}")
    async def room_socket(ws: WebSocket, room_id: str) -> None:
        await app.state.gateway.serve(ws, room_id)

    RouteIndex.install(app.router)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    settings.media_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.db_url)
    await db.warm()
    install_tracking(db)
    hub = _make_hub(settings)
    engine = ChatEngine(db, hub, settings, node_id=await _node_id(settings))
    gateway = Gateway(hub, make_admit(db, settings, engine.pipeline))
    ops = interaction_sockets.make_ops(db, engine, settings, settings.chat.likes_per_connection_per_second)
    for op, handler in ops.items():
        gateway.register(op, handler)
    ingest = EmbeddedIngest(db, settings) if settings.media.adapter == "embedded" else None
    live_tasks.subscribe(db.bus, hub, settings, ingest.kick if ingest else None)
    interaction_tasks.subscribe(db, hub, engine)
    gate = FlashGate(settings.redis_url) if settings.redis_url else None
    commerce_tasks.subscribe(db, hub, gate)
    runner = JobRunner(db)
    commerce_tasks.register_jobs(runner)
    for tool in (poll_tasks, qa_tasks, cohost_tasks):
        tool.subscribe(db, hub)
        tool.register_jobs(runner)
    lottery_tasks.subscribe(db, hub, settings.economy)
    lottery_tasks.register_jobs(runner, settings.economy)
    interaction_tasks.subscribe_run_of_show(db)
    community_tasks.subscribe(db, hub)
    invite_tasks.subscribe(db, settings)
    interaction_tasks.register_jobs(runner, max_pins=settings.commerce.max_pins)
    notify_tasks.register_jobs(runner, settings, app.state.translator)
    notify = app.state.notify = notify_tasks.NotifyWorker(db, settings, app.state.translator, runner)
    app.state.jobs, app.state.flash_gate = runner, gate
    # Gate winners written in batches (PostgreSQL; on SQLite every order is placed alone).
    flash_orders = FlashOrders(db) if gate is not None and db.engine.dialect.name == "postgresql" else None
    app.state.flash_orders = flash_orders
    analytics = app.state.analytics_node = Analytics(db, settings, hub, gateway)
    app.state.analytics = analytics.store
    tag_tasks.register_jobs(runner, analytics.store)
    translator = app.state.translator
    app.state.retention = await consent_wiring.install(db, runner, settings, translator, analytics.store)
    privacy_wiring.install(app, db, runner, settings)
    report_tasks.register(db, runner, app.state.analytics)
    planning_tasks.register(db, runner, app.state.analytics)
    judge = alert_tasks.AlertJudge(
        db, analytics.store, analytics.shows, every=settings.analytics.alert_check_seconds
    )
    analytics.after_sync.append(judge.after_sync)
    script_judge.install_actions()
    scripts = script_judge.ScriptJudge(
        db,
        analytics.store,
        analytics.shows,
        every=settings.analytics.alert_check_seconds,
        limits=Limits(max_pins=settings.commerce.max_pins),
    )
    analytics.after_sync.append(scripts.after_sync)
    alert_tasks.register_jobs(runner)
    marketing = app.state.marketing = Marketing(db, analytics.store, secret=settings.secret_key)
    marketing.register_jobs(runner)
    peaks = PeakRecorder(db)
    watch = WatchClock(db, hub, every=settings.realtime.watch_credit_seconds, rules=settings.economy)
    hub.presence_listeners.append(peaks.observe)
    app.state.db, app.state.hub, app.state.gateway, app.state.ingest = db, hub, gateway, ingest
    token_wiring.install(app.state, hub, app.state.principals)
    app.state.chat = engine
    app.state.filters = engine.filters  # the node's one word-filter cache, for all who screen text
    await hub.start()
    engine.start()
    peaks.start()
    watch.start()
    if ingest is not None:
        await ingest.start()
    sweeper = asyncio.create_task(live_tasks.sweep_stale_shows(db, settings), name="stale-show-sweeper")
    runner.start()
    await notify.start()
    await analytics.start()
    await marketing.start()
    background = [sweeper]
    if gate is not None:
        after = settings.commerce.gate_reconcile_after_seconds
        reconciler = commerce_tasks.reconcile_gate(db, gate, older_than_s=after)
        background.append(asyncio.create_task(reconciler, name="flash-gate-reconciler"))
    # Everything loaded so far lives as long as the process: keep the cyclic collector off it,
    # and collect the young generation less often (profiled: a joining crowd spent a third of
    # the CPU in gc before this).
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    try:
        yield
    finally:
        for task in background:
            task.cancel()
        await marketing.stop()
        await runner.stop()
        await notify.stop()
        await analytics.stop()
        await asyncio.gather(*background, return_exceptions=True)
        if gate is not None:
            await gate.close()
        if flash_orders is not None:
            await flash_orders.close()
        if ingest is not None:
            await ingest.stop()
        await engine.stop()
        await peaks.stop()
        await watch.stop()
        await hub.stop()
        await close_batcher(db.engine)
        await db.dispose()
        await app.state.limiter.close()


async def _node_id(settings: Settings) -> int:
    """Chat ids embed a node number: the setting, or with Redis the next free one of 32."""
    if not settings.redis_url or settings.chat.node_id:
        return settings.chat.node_id
    client = Redis.from_url(settings.redis_url)
    try:
        return int(await client.incr("livecircle:node-seq")) % 32
    finally:
        await client.aclose()


def _make_hub(settings: Settings) -> Hub:
    """In-process fan-out by default; Redis streams and presence when LIVECIRCLE_REDIS_URL is set."""
    realtime = settings.realtime
    broker: Broker = RedisBroker(settings.redis_url) if settings.redis_url else MemoryBroker()
    return Hub(
        broker,
        tick_ms=realtime.tick_ms,
        queue_limit=realtime.queue_limit,
        presence=RedisPresence(settings.redis_url) if settings.redis_url else None,
        chat_per_second=realtime.overload_chat_per_second,
        max_buffer_bytes=realtime.max_buffer_kib * 1024,
    )


class LivecircleApp(FastAPI):
    def build_middleware_stack(self) -> ASGIApp:
        """Security headers and the WebSocket Origin check outermost: even Starlette's own
        500 page (ServerErrorMiddleware) carries the headers."""
        settings: Settings = self.state.settings
        return SecurityHeaders(
            super().build_middleware_stack(),
            base_url=settings.http.base_url,
            hsts_seconds=settings.security.hsts_seconds,
            allowed_origins=settings.security.allowed_origins,
        )


def _error_page(request: Request, problem: dict[str, object]) -> Response:
    pages: Pages = request.app.state.pages
    return pages.render(
        request,
        "error.html",
        {"problem": problem, "principal": None},
        status_code=int(str(problem["status"])),
    )


def _install_ops_routes(app: FastAPI) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        try:
            async with app.state.db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:
            return JSONResponse({"status": "unavailable", "database": str(exc)[:200]}, status_code=503)
        return JSONResponse({"status": "ready"})

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
