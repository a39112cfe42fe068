"""Demo data: one tenant, a host, an operator, two viewers and a room. Idempotent."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from livecircle.config import Settings
from livecircle.identity import service as identity_service
from livecircle.identity.models import User
from livecircle.identity.schemas import Principal, Role
from livecircle.kit.db import Database
from livecircle.live import service as live_service
from livecircle.live.models import Room
from livecircle.live.routes import INGEST_APP
from livecircle.live.schemas import RoomCreate, Scenario, ShowCreate, ShowStatus

DEMO_PASSWORD = "livecircle-demo"  # noqa: S105 - published demo credentials, development only
ACCOUNTS = (
    ("host@demo.livecircle.local", "主播小林", Role.HOST),
    ("operator@demo.livecircle.local", "运营阿青", Role.OPERATOR),
    ("viewer1@demo.livecircle.local", "观众一号", Role.MEMBER),
    ("viewer2@demo.livecircle.local", "观众二号", Role.MEMBER),
)
ROOM_TITLE = "livecircle 演示直播间"


async def _ensure_user(db_session: Any, tenant: Any, email: str, name: str, role: Role) -> User:
    user = await identity_service.get_user_by_email(db_session, email)
    if user is None:
        user = await identity_service.do_register(
            db_session, email=email, password=DEMO_PASSWORD, display_name=name, tenant=tenant, role=role
        )
    return user


async def seed_demo(db: Database, settings: Settings) -> dict[str, Any]:
    async with db.unit_of_work() as session:
        tenant = await identity_service.ensure_tenant(session, slug=settings.default_tenant, name="Demo 品牌")
        users = [await _ensure_user(session, tenant, email, name, role) for email, name, role in ACCOUNTS]
        host = users[0]
        room = await session.scalar(select(Room).where(Room.owner_id == host.id, Room.title == ROOM_TITLE))
        if room is None:
            principal = Principal(
                user_id=host.id, tenant_id=tenant.id, role=Role.HOST, display_name=host.display_name
            )
            room = await live_service.do_create_room(
                session,
                principal,
                RoomCreate(title=ROOM_TITLE, description="新品首发 · 直播间专属价 · 互动抽奖"),
            )
        if room.stream_key is None:
            await live_service.do_rotate_key(session, room)
        shows = await live_service.list_shows(session, room.id)
        if not any(s.status in (ShowStatus.SCHEDULED.value, ShowStatus.LIVE.value) for s in shows):
            await live_service.do_create_show(
                session, room, ShowCreate(title="秋季新品发布会", scenario=Scenario.PRODUCT_SEEDING)
            )
    base = settings.http.base_url
    return {
        "viewer_url": f"{base}/rooms/{room.id}",
        "host_url": f"{base}/console/rooms/{room.id}",
        "rtmp_url": f"{settings.media.rtmp_base_url}/{INGEST_APP}/{room.stream_key}",
        "rtmp_server": f"{settings.media.rtmp_base_url}/{INGEST_APP}",
        "stream_key": room.stream_key,
        "hls_url": f"{base}/hls/{room.id}/index.m3u8",
        "room_id": room.id,
        "tenant": settings.default_tenant,
        "accounts": [
            {"email": e, "password": DEMO_PASSWORD, "display_name": n, "role": r.value}
            for e, n, r in ACCOUNTS
        ],
    }
