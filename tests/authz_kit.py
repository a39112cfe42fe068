"""Seeding for the authorisation matrix: one object of every kind in tenant A, made through the
real API (services only where no route makes the thing), and the database snapshot that
proves the attackers changed nothing.

Tenant A has ``owner`` (an operator who hosts two live rooms: one public, one private) and
``buyer`` (a member who owns what members own: orders, a top-up, chat lines, a question, a
co-host request, a lottery win with a shipping address, posts, a notification). The ids land
in three maps keyed by what they are (``room``, ``poll``, ``order``...): ``public`` for what
lives in the public room, ``private`` for the private room, ``shared`` for tenant-wide things.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from livecircle.analytics.alerts import service as alerts_service
from livecircle.analytics.alerts.models import AlertRule
from livecircle.analytics.planning.models import Suggestion
from livecircle.commerce.models import Payment
from livecircle.economy.models import TopUp
from livecircle.growth.notify import service as notify_service
from livecircle.growth.notify.schemas import Kind
from livecircle.identity.schemas import Role
from livecircle.kit.clock import utcnow
from livecircle.kit.db import Base
from tests.conftest import Account, RunningServer, make_account, make_room
from tests.room_kit import settle_chat

Ids = dict[str, int | str]
# A shipping address only the winner, the room's staff and nobody else may ever read back.
ADDRESS = {"name": "越权测试收件人", "phone": "+86 138 0013 8999", "address": "杭州市西湖区机密路 404 号"}


@dataclass
class Seeded:
    tenant_id: int
    owner: Account
    buyer: Account
    member: Account  # attacker (a): another plain member of tenant A
    outsider: Account  # attacker (b): an admin of tenant B
    public: Ids = field(default_factory=dict)
    private: Ids = field(default_factory=dict)
    shared: Ids = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)  # what no attacker may ever read
    lines: dict[str, str] = field(default_factory=dict)  # the buyer's chat line in each room


class Api:
    """The owner's and the buyer's calls while seeding: each must succeed."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def call(self, who: Account, method: str, url: str, *, expect: int = 200, **kwargs: Any) -> Any:
        headers = {**who.headers, "Idempotency-Key": uuid.uuid4().hex}
        reply = await self.client.request(method, url, headers=headers, **kwargs)
        assert reply.status_code == expect, f"seeding {method} {url}: {reply.status_code} {reply.text}"
        return reply.json() if reply.content else None


async def seed(server: RunningServer, client: httpx.AsyncClient) -> Seeded:
    suffix = uuid.uuid4().hex[:8]
    tenant_a, tenant_b = f"authz-a-{suffix}", f"authz-b-{suffix}"
    owner = await make_account(server, role=Role.OPERATOR, tenant=tenant_a, name="甲方运营")
    seeded = Seeded(
        tenant_id=0,
        owner=owner,
        buyer=await make_account(server, tenant=tenant_a, name="甲方买家"),
        member=await make_account(server, tenant=tenant_a, name="甲方旁人"),
        outsider=await make_account(server, role=Role.ADMIN, tenant=tenant_b, name="乙方管理员"),
    )
    api = Api(client)
    seeded.tenant_id = int((await api.call(owner, "GET", "/api/v1/me"))["tenant_id"])
    seeded.shared["user"] = seeded.buyer.user_id
    seeded.secrets |= {
        "owner e-mail": owner.email,
        "buyer e-mail": seeded.buyer.email,
        "owner token": owner.token,
        "buyer token": seeded.buyer.token,
        "winner's street": ADDRESS["address"],
        "winner's phone": ADDRESS["phone"],
    }
    await _shop(api, seeded)
    for scope, visibility in ((seeded.public, "public"), (seeded.private, "private")):
        await _room(api, seeded, scope, visibility)
    await _lottery_won(api, seeded)
    await _orders(server, api, seeded)
    await _economy(api, seeded)
    await _community(api, seeded)
    await _growth(server, api, seeded)
    await _analytics(server, api, seeded)
    await _plan_and_campaign(server, api, seeded)
    return seeded


async def _shop(api: Api, seeded: Seeded) -> None:
    owner, shared = seeded.owner, seeded.shared
    product = await api.call(
        owner,
        "POST",
        "/api/v1/products",
        expect=201,
        json={
            "name": "越权测试茶",
            "skus": [
                {"name": "小罐", "price_cents": 9900, "stock": 50},
                {"name": "大罐", "price_cents": 19900, "stock": 50},
            ],
        },
    )
    shared["product"], shared["sku"] = product["id"], product["skus"][0]["id"]
    shared["flash_sku"] = product["skus"][1]["id"]
    template = await api.call(
        owner,
        "POST",
        "/api/v1/coupon-templates",
        expect=201,
        json={"name": "直播券", "kind": "fixed", "amount_off_cents": 500, "channel": "drop", "total": 100},
    )
    shared["template"] = template["id"]
    issue = f"/api/v1/coupon-templates/{template['id']}/issue"
    coupon = await api.call(owner, "POST", issue, expect=201, json={"user_id": seeded.buyer.user_id})
    shared["coupon"] = coupon["id"]


async def _room(api: Api, seeded: Seeded, scope: Ids, visibility: str) -> None:
    """A live room with a show selling the product, a pinned card, a flash sale, a chat line,
    an auto-reply, a planned step, an open poll, a question, a lottery and a co-host request."""
    owner, buyer = seeded.owner, seeded.buyer
    room = await make_room(api.client, owner, title=f"越权测试{visibility}", visibility=visibility)
    scope["room"] = room["id"]
    key = await api.call(owner, "GET", f"/api/v1/rooms/{room['id']}/stream-key")
    seeded.secrets[f"{visibility} stream key"] = key["stream_key"]
    scope["show"] = await publish(api, owner, room["id"], key["stream_key"])
    show = scope["show"]
    await api.call(
        owner,
        "PUT",
        f"/api/v1/shows/{show}/products",
        expect=204,
        json={"product_id": seeded.shared["product"]},
    )
    pin = await api.call(
        owner, "POST", f"/api/v1/shows/{show}/pins", expect=201, json={"product_id": seeded.shared["product"]}
    )
    scope["pin"] = pin["pin_id"]
    sale = {"sku_id": seeded.shared["flash_sku"], "price_cents": 100, "stock": 2, "duration_s": 86_400}
    scope["sale"] = (
        await api.call(owner, "POST", f"/api/v1/shows/{show}/flash-sales", expect=201, json=sale)
    )["sale_id"]
    seeded.lines[visibility] = f"主播好 {visibility} {uuid.uuid4().hex[:8]}"
    line = await api.call(
        buyer, "POST", f"/api/v1/rooms/{room['id']}/chat", expect=201, json={"text": seeded.lines[visibility]}
    )
    scope["message"] = line["message"]["id"]
    reply = {"keyword": f"kw{visibility}", "reply": "欢迎"}
    scope["auto_reply"] = (
        await api.call(owner, "POST", f"/api/v1/rooms/{room['id']}/auto-replies", expect=201, json=reply)
    )["id"]
    poll = {
        "title": "喜欢哪款",
        "questions": [{"text": "选一个", "options": ["红茶", "绿茶"]}],
        "duration_s": 1800,
    }
    scope["poll"] = (
        await api.call(
            owner, "POST", f"/api/v1/rooms/{room['id']}/polls", expect=201, json=poll | {"launch": True}
        )
    )["id"]
    await api.call(
        owner, "POST", f"/api/v1/rooms/{room['id']}/polls", expect=201, json=poll | {"offset_s": 3600}
    )
    steps = await api.call(owner, "GET", f"/api/v1/rooms/{room['id']}/steps")
    scope["step"] = steps[0]["id"]
    script = {"name": f"脚本{visibility}"}
    saved = await api.call(owner, "POST", f"/api/v1/shows/{show}/script/template", expect=201, json=script)
    scope["script_template"] = saved["id"]
    asked = await api.call(
        buyer, "POST", f"/api/v1/rooms/{room['id']}/questions", expect=201, json={"text": "能便宜点吗"}
    )
    scope["question"] = asked["id"]
    lottery = {
        "title": "福袋",
        "prizes": [{"kind": "physical", "name": "保温杯", "quantity": 1}],
        "duration_s": None,
        "launch": True,
    }
    scope["lottery"] = (
        await api.call(owner, "POST", f"/api/v1/rooms/{room['id']}/lotteries", expect=201, json=lottery)
    )["id"]
    await api.call(buyer, "POST", f"/api/v1/lotteries/{scope['lottery']}/entry")
    await api.call(buyer, "POST", f"/api/v1/rooms/{room['id']}/cohost/apply", expect=201)
    mine = await api.call(buyer, "GET", f"/api/v1/rooms/{room['id']}/cohost/me")
    scope["cohost_request"] = mine["request_id"]


async def publish(api: Api, owner: Account, room_id: int, key: str) -> int:
    """As the encoder's publish does (room_kit.go_live reads the state anonymously: public rooms only)."""
    form = {
        "app": "ingest",
        "call": "publish",
        "addr": "127.0.0.1",
        "clientid": "1",
        "type": "live",
        "name": key,
    }
    assert (await api.client.post("/hooks/rtmp/publish", data=form)).status_code == 302
    state = await api.call(owner, "GET", f"/api/v1/rooms/{room_id}/state")
    return int(state["show"]["id"])


async def _lottery_won(api: Api, seeded: Seeded) -> None:
    """The public room's lottery is drawn: the buyer wins the cup and gives an address."""
    lottery = seeded.public["lottery"]
    drawn = await api.call(seeded.owner, "POST", f"/api/v1/lotteries/{lottery}/draw")
    assert [w["user_id"] for w in drawn["winners"]] == [seeded.buyer.user_id], drawn
    seeded.public["winner"] = drawn["winners"][0]["id"]
    await api.call(seeded.buyer, "PUT", f"/api/v1/lotteries/{lottery}/address", json=ADDRESS)


async def _orders(server: RunningServer, api: Api, seeded: Seeded) -> None:
    buyer, shared = seeded.buyer, seeded.shared
    order = await api.call(
        buyer,
        "POST",
        "/api/v1/orders",
        expect=201,
        json={"sku_id": shared["sku"], "show_id": seeded.public["show"]},
    )
    shared["order"] = order["id"]
    await api.call(buyer, "POST", f"/api/v1/orders/{order['id']}/payments", expect=201)
    topup = await api.call(buyer, "POST", "/api/v1/wallet/topups", expect=201, json={"coins": 60})
    shared["topup"] = topup["id"]
    async with server.db.unit_of_work() as session:
        payment_ref = await session.scalar(
            select(Payment.provider_ref).where(Payment.order_id == order["id"])
        )
        topup_ref = await session.scalar(select(TopUp.provider_ref).where(TopUp.id == topup["id"]))
    assert payment_ref
    assert topup_ref
    shared["payment_ref"], shared["topup_ref"] = payment_ref, topup_ref
    seeded.secrets |= {"order payment ref": payment_ref, "top-up payment ref": topup_ref}


async def _economy(api: Api, seeded: Seeded) -> None:
    owner, shared = seeded.owner, seeded.shared
    shared["gift"] = (await api.call(owner, "GET", "/api/v1/gifts"))[0]["id"]
    item = {"name": "帆布袋", "kind": "goods", "cost": 10, "stock": 5}
    shared["store_item"] = (await api.call(owner, "POST", "/api/v1/points/store", expect=201, json=item))[
        "id"
    ]
    shared["badge_rule"] = (await api.call(owner, "GET", "/api/v1/badges/rules"))[0]["id"]
    words = [{"word": f"越权词{uuid.uuid4().hex[:6]}", "action": "review"}]
    shared["word"] = (await api.call(owner, "POST", "/api/v1/moderation/words", expect=201, json=words))[0][
        "id"
    ]


async def _community(api: Api, seeded: Seeded) -> None:
    owner, buyer, shared = seeded.owner, seeded.buyer, seeded.shared
    group = {"name": "越权测试社群", "description": "茶友", "room_id": seeded.public["room"]}
    community = (await api.call(owner, "POST", "/api/v1/communities", expect=201, json=group))["id"]
    shared["community"] = community
    await api.call(buyer, "POST", f"/api/v1/communities/{community}/join")
    post = await api.call(
        buyer, "POST", f"/api/v1/communities/{community}/posts", expect=201, json={"body": "新茶到了"}
    )
    shared["post"] = post["id"]
    comment = await api.call(
        buyer, "POST", f"/api/v1/posts/{post['id']}/comments", expect=201, json={"body": "好喝"}
    )
    shared["comment"] = comment["id"]
    starts = utcnow() + timedelta(days=7)
    activity = {
        "title": "品茶会",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=2)).isoformat(),
    }
    shared["activity"] = (
        await api.call(
            owner, "POST", f"/api/v1/communities/{community}/activities", expect=201, json=activity
        )
    )["id"]
    await api.call(buyer, "PUT", f"/api/v1/activities/{shared['activity']}/signup", expect=201)


async def _growth(server: RunningServer, api: Api, seeded: Seeded) -> None:
    owner, shared = seeded.owner, seeded.shared
    shared["invite_code"] = (await api.call(owner, "GET", "/api/v1/me/invite"))["code"]
    hook = {"url": "http://127.0.0.1:9/authz", "kinds": ["event_reminder"], "description": "越权测试"}
    endpoint = await api.call(owner, "POST", "/api/v1/webhooks", expect=201, json=hook)
    shared["endpoint"] = endpoint["id"]
    seeded.secrets["webhook signing secret"] = endpoint["secret"]
    async with server.db.unit_of_work() as session:
        await notify_service.do_notify(
            session,
            tenant_id=seeded.tenant_id,
            user_ids=[seeded.buyer.user_id],
            kind=Kind.SYSTEM,
            title="您的订单已发货",
            dedupe_key=f"authz:{uuid.uuid4().hex}",
            email=False,
        )
        real = notify_service.unsubscribe_token(
            server.settings.secret_key, user_id=seeded.buyer.user_id, kind=Kind.SYSTEM.value
        )
    shared["export"] = (await api.call(seeded.buyer, "POST", "/api/v1/me/exports", expect=202))["id"]
    ready = await _ready_export(api, seeded.buyer, int(shared["export"]))
    seeded.secrets["the buyer's export link"] = ready["url"].rsplit("/", 1)[1]
    inbox = await api.call(seeded.buyer, "GET", "/api/v1/me/inbox")
    shared["notification"] = inbox["items"][0]["id"]
    # Signed links (unsubscribe, export, guardian) are credentials: attackers get a forged one,
    # the real unsubscribe link's with its signature changed.
    shared["forged_token"] = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")


async def _ready_export(api: Api, buyer: Account, export_id: int) -> dict[str, Any]:
    """The export is built by a job: wait for it (it then changes no more while attackers try)."""
    deadline = time.monotonic() + 20
    while (found := await api.call(buyer, "GET", f"/api/v1/me/exports/{export_id}"))["status"] != "ready":
        assert time.monotonic() < deadline, f"the export was not built: {found}"
        await asyncio.sleep(0.05)
    return dict(found)


ALERT_RULES = "/api/v1/analytics/alert-rules"  # also made by the alert judge, for a live show


async def warm_up(client: httpx.AsyncClient, seeded: Seeded) -> None:
    """The attackers' own tenants get their default gifts, badges, tag and alert rules on first sight:
    make them now, so that the snapshot taken next sees only what attackers must not change."""
    for attacker in (seeded.member, seeded.outsider):
        for url in ("/api/v1/gifts", "/api/v1/badges/rules", "/api/v1/analytics/tag-rules", ALERT_RULES):
            await client.get(url, headers=attacker.headers)


async def outsider_stage(client: httpx.AsyncClient, seeded: Seeded) -> None:
    """The tenant B admin's own live room and coupon, where they are staff: to name tenant A's
    ids from there."""
    api, outsider = Api(client), seeded.outsider
    room = await make_room(client, outsider, title="乙方直播间")
    key = await api.call(outsider, "GET", f"/api/v1/rooms/{room['id']}/stream-key")
    seeded.shared["outsider_room"] = room["id"]
    seeded.shared["outsider_show"] = await publish(api, outsider, room["id"], key["stream_key"])
    coupon = {"name": "乙方券", "kind": "fixed", "amount_off_cents": 100, "channel": "manual"}
    made = await api.call(outsider, "POST", "/api/v1/coupon-templates", expect=201, json=coupon)
    seeded.shared["outsider_template"] = made["id"]


async def _analytics(server: RunningServer, api: Api, seeded: Seeded) -> None:
    owner, shared = seeded.owner, seeded.shared
    rule = {
        "name": "冷场",
        "metric": "interaction_rate",
        "comparator": "<",
        "threshold": 0.05,
        "enabled": False,
    }
    shared["alert_rule"] = (
        await api.call(owner, "POST", "/api/v1/analytics/alert-rules", expect=201, json=rule)
    )["id"]
    shared["tag_rule"] = (await api.call(owner, "GET", "/api/v1/analytics/tag-rules"))[0]["id"]
    async with server.db.unit_of_work() as session:
        stored = await session.get(AlertRule, shared["alert_rule"])
        assert stored is not None
        alert = await alerts_service.do_raise(
            session,
            stored,
            room_id=int(seeded.public["room"]),
            show_id=int(seeded.public["show"]),
            value=0.0,
            now=utcnow(),
        )
        assert alert is not None
        seeded.public["alert"] = alert.id


async def _plan_and_campaign(server: RunningServer, api: Api, seeded: Seeded) -> None:
    """A topic and a suggestion of tenant A's content plan, and a draft campaign."""
    owner, shared = seeded.owner, seeded.shared
    topic = await api.call(owner, "POST", "/api/v1/planning/topics", expect=201, json={"title": "新品种草"})
    shared["topic"] = topic["id"]
    shared["plan_room"] = seeded.public["room"]  # where an attacker would plan a show from it
    async with server.db.unit_of_work() as session:
        suggestion = Suggestion(
            tenant_id=seeded.tenant_id, key="keyword:口红", kind="keyword", title="口红", score=3, evidence={}
        )
        session.add(suggestion)
        await session.flush()
        shared["suggestion"] = suggestion.id
    draft = {"activate": False, "email": False}
    campaign = await api.call(owner, "POST", "/api/v1/campaigns/churn-recall", expect=201, json=draft)
    shared["campaign"] = campaign["id"]


# ---- what the attackers must not change ----

# Tables that legitimately move while the matrix runs, each with the reason.
VOLATILE = {
    "analytics_event": "page and API views are recorded as events (attackers' own views too)",
    "analytics_identity": "device ids seen on page views",
    "identity_api_token": "tokens record when they were last used",
    "identity_session": "page sessions are touched on use",
    "kit_job": "the job runner leases and reschedules jobs on its own clock",
    "privacy_audit": "staff requests (the tenant B admin's) are audited",
    "privacy_audit_head": "the head of the audit chain follows the audit log",
    "live_watch": "watch-time credits tick for viewers on their own clock",
    "growth_invite_open": "opening an invite link (a public page) is counted",
    "growth_user_mark": "callers' own IPs and devices are remembered (invite fraud checks)",
}


VOLATILE_COLUMNS = {"live_show": {"peak_viewers": "viewers joining a public room raise its peak"}}


async def snapshot(server: RunningServer) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table outside ``VOLATILE``, as text, in a stable order, once the chat
    lines sent so far are stored and paid (their points are not a change made by the caller)."""
    await settle_chat(server)
    rows: dict[str, list[tuple[str, ...]]] = {}
    async with server.db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in VOLATILE:
                continue
            skip = VOLATILE_COLUMNS.get(table.name, {})
            found = await conn.execute(select(*(c for c in table.columns if c.name not in skip)))
            rows[table.name] = sorted(tuple(str(v) for v in row) for row in found)
    return rows


def changes(before: dict[str, list[tuple[str, ...]]], after: dict[str, list[tuple[str, ...]]]) -> list[str]:
    found = []
    for name, old in before.items():
        new = after.get(name, [])
        if old != new:
            gone = [r for r in old if r not in new][:3]
            came = [r for r in new if r not in old][:3]
            found.append(f"{name}: removed/changed {gone} -> {came}")
    return found
