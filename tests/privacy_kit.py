"""A member with personal data in every category of the data map, made through the real API
(services only where no route makes the thing), for the export and erasure tests.

The member is recognisable everywhere it could hide: a unique e-mail, display name, device id
and chat text (``Subject.identifiers``), so a scan can look for each of them in every column.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
import uuid
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import orjson
import websockets

from livecircle.analytics.tags.models import UserTag
from livecircle.growth.notify import service as notify_service
from livecircle.growth.notify.schemas import Kind
from livecircle.identity.schemas import Role
from livecircle.kit.clock import utcnow
from tests.conftest import Account, RunningServer, make_account, make_room
from tests.room_kit import go_live, wait_for

T = TypeVar("T")
PASSWORD = "s3cret-Passw0rd"


@dataclass
class Subject:
    account: Account
    name: str
    device: str
    chat_text: str
    host: Account
    tenant_id: int
    room_id: int
    show_id: int
    ids: dict[str, int] = field(default_factory=dict)
    friend_device: str = ""  # the device of the friend the member invited: not the member's

    @property
    def identifiers(self) -> dict[str, str]:
        """Text that names the member (a scan must find none of it after the erasure)."""
        return {
            "e-mail": self.account.email,
            "display name": self.name,
            "device id": self.device,
            "chat text": self.chat_text,
            "post text": f"帖子{self.name}",
            "question": f"问题{self.name}",
        }


class Api:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def call(
        self, who: Account | None, method: str, url: str, *, expect: int = 200, **kwargs: Any
    ) -> Any:
        headers = {
            **(who.headers if who else {}),
            "Idempotency-Key": uuid.uuid4().hex,
            **kwargs.pop("headers", {}),
        }
        reply = await self.client.request(method, url, headers=headers, **kwargs)
        assert reply.status_code == expect, f"seeding {method} {url}: {reply.status_code} {reply.text}"
        return reply.json() if reply.content else None


async def eventually(check: Callable[[], Awaitable[T | None]], timeout: float = 15.0) -> T:
    deadline = time.monotonic() + timeout
    while (found := await check()) is None:
        assert time.monotonic() < deadline, "the condition did not hold in time"
        await asyncio.sleep(0.05)
    return found


async def register(
    client: httpx.AsyncClient, tenant: str, name: str, *, device: str, invite_code: str | None = None
) -> Account:
    email = f"p{uuid.uuid4().hex[:12]}@example.com"
    body = {"email": email, "password": PASSWORD, "display_name": name, "tenant": tenant}
    if invite_code:
        body["invite_code"] = invite_code
    reply = await client.post("/api/v1/auth/register", json=body, headers={"X-Device-Id": device})
    assert reply.status_code == 201, reply.text
    data = reply.json()
    return Account(data["user"]["id"], email, PASSWORD, data["access_token"], tenant)


async def seed_member(server: RunningServer, client: httpx.AsyncClient, *, full: bool = True) -> Subject:
    """A member of a fresh tenant; with ``full``, data in every category of the data map."""
    suffix = uuid.uuid4().hex[:8]
    tenant = f"priv-{suffix}"
    host = await make_account(server, role=Role.OPERATOR, tenant=tenant, name=f"主播{suffix}")
    api = Api(client)
    room = await make_room(client, host, title=f"隐私测试{suffix}")
    show = await go_live(client, host, room["id"])
    device = f"dev-{suffix}-{uuid.uuid4().hex[:8]}"
    await _anonymous_likes(server, room["id"], device)
    name = f"甄{suffix}"
    account = await register(client, tenant, name, device=device)
    tenant_id = int((await api.call(account, "GET", "/api/v1/me"))["tenant_id"])
    subject = Subject(account, name, device, f"秘密{suffix}", host, tenant_id, room["id"], show)
    if full:
        await _everything(server, api, subject)
    return subject


async def _anonymous_likes(server: RunningServer, room_id: int, device: str) -> None:
    """Before signing up, the member watches anonymously from their device and taps like."""
    url = f"{server.ws_url}/ws/rooms/{room_id}"
    async with websockets.connect(url, additional_headers={"X-Device-Id": device}) as ws:
        await wait_for(ws, lambda e: e["type"] == "hello")
        await ws.send(orjson.dumps({"op": "like", "count": 3}).decode())
        await asyncio.sleep(0.3)  # a like is counted per tick; the socket then closes (view_end)


async def _everything(server: RunningServer, api: Api, s: Subject) -> None:
    me, host, room = s.account, s.host, s.room_id
    await _signed_in_page(api.client, me)
    await api.call(me, "PUT", "/api/v1/me/consents/payment", json={"granted": True})
    line = await api.call(me, "POST", f"/api/v1/rooms/{room}/chat", expect=201, json={"text": s.chat_text})
    s.ids["message"] = line["message"]["id"]
    await api.call(me, "PUT", f"/api/v1/rooms/{room}/follow", expect=204)
    asked = await api.call(
        me, "POST", f"/api/v1/rooms/{room}/questions", expect=201, json={"text": f"问题{s.name}"}
    )
    s.ids["question"] = asked["id"]
    await _poll_vote(api, s)
    await _shopping(api, s)
    await _wallet(api, s)
    await api.call(me, "POST", "/api/v1/checkin", expect=201)
    await _community(api, s)
    await _invite(api, s)
    prefs = {"preferences": {"system": {"email": False}}}
    await api.call(me, "PUT", "/api/v1/me/notification-preferences", json=prefs)
    async with server.db.unit_of_work() as session:
        await notify_service.do_notify(
            session,
            tenant_id=s.tenant_id,
            user_ids=[me.user_id],
            kind=Kind.SYSTEM,
            title=f"您好 {s.name}",
            dedupe_key=f"privacy:{uuid.uuid4().hex}",
            email=False,
        )
        session.add(
            UserTag(
                tenant_id=s.tenant_id,
                user_id=me.user_id,
                tag="茶饮爱好者",
                kind="interest",
                reason="看了 3 场茶饮直播",
                reason_en="watched 3 tea shows",
                computed_at=utcnow(),
            )
        )
    del host


async def _signed_in_page(client: httpx.AsyncClient, me: Account) -> None:
    """A page session (the browser's signed cookie), besides the API token."""
    async with httpx.AsyncClient(base_url=str(client.base_url)) as browser:
        await browser.get("/login")
        form = {"email": me.email, "password": me.password, "csrf_token": browser.cookies["lc_csrf"]}
        signed = await browser.post("/login", data=form)
        assert signed.status_code == 303, signed.text


async def _poll_vote(api: Api, s: Subject) -> None:
    poll = {
        "title": "喜欢哪款",
        "questions": [{"text": "选一个", "options": ["红茶", "绿茶"]}],
        "duration_s": 600,
        "launch": True,
    }
    made = await api.call(s.host, "POST", f"/api/v1/rooms/{s.room_id}/polls", expect=201, json=poll)
    question = made["questions"][0]
    ballot = {"answers": [{"question_id": question["id"], "option_ids": [question["options"][0]["id"]]}]}
    await api.call(s.account, "POST", f"/api/v1/polls/{made['id']}/ballot", expect=201, json=ballot)


async def _shopping(api: Api, s: Subject) -> None:
    """An order paid through the sandbox, and a coupon."""
    product = {"name": "隐私测试茶", "skus": [{"name": "小罐", "price_cents": 990, "stock": 20}]}
    made = await api.call(s.host, "POST", "/api/v1/products", expect=201, json=product)
    await api.call(
        s.host, "PUT", f"/api/v1/shows/{s.show_id}/products", expect=204, json={"product_id": made["id"]}
    )
    placed = await api.call(
        s.account,
        "POST",
        "/api/v1/orders",
        expect=201,
        json={"sku_id": made["skus"][0]["id"], "show_id": s.show_id},
    )
    s.ids["order"] = placed["id"]
    payment = await api.call(s.account, "POST", f"/api/v1/orders/{placed['id']}/payments", expect=201)
    await api.call(s.account, "POST", payment["pay_url"], expect=202, json={"outcome": "success"})

    async def paid() -> bool | None:
        order = await api.call(s.account, "GET", f"/api/v1/orders/{placed['id']}")
        return True if order["status"] == "paid" else None

    await eventually(paid)
    template = {"name": "隐私券", "kind": "fixed", "amount_off_cents": 100, "channel": "manual", "total": 10}
    made_template = await api.call(s.host, "POST", "/api/v1/coupon-templates", expect=201, json=template)
    issue = {"user_id": s.account.user_id}
    await api.call(
        s.host, "POST", f"/api/v1/coupon-templates/{made_template['id']}/issue", expect=201, json=issue
    )


async def _wallet(api: Api, s: Subject) -> None:
    """Coins bought through the sandbox, and a gift sent to the host."""
    topup = await api.call(s.account, "POST", "/api/v1/wallet/topups", expect=201, json={"coins": 60})
    ref = topup["pay_url"].split("/sandbox/")[1].split("/")[0]
    await api.call(
        s.account, "POST", f"/api/v1/payments/sandbox/{ref}/complete", expect=202, json={"outcome": "success"}
    )

    async def credited() -> bool | None:
        state = await api.call(s.account, "GET", f"/api/v1/wallet/topups/{topup['id']}")
        return True if state["status"] == "paid" else None

    await eventually(credited)
    gifts = await api.call(s.account, "GET", "/api/v1/gifts")
    cheapest = min((g for g in gifts if g["currency"] == "coin"), key=lambda g: g["price"])
    await api.call(
        s.account,
        "POST",
        f"/api/v1/rooms/{s.room_id}/gifts",
        expect=201,
        json={"gift_id": cheapest["id"], "count": 1},
    )


async def _community(api: Api, s: Subject) -> None:
    group = {"name": f"隐私社群{s.room_id}", "description": "茶友"}
    community = (await api.call(s.host, "POST", "/api/v1/communities", expect=201, json=group))["id"]
    await api.call(s.account, "POST", f"/api/v1/communities/{community}/join")
    theirs = await api.call(
        s.host, "POST", f"/api/v1/communities/{community}/posts", expect=201, json={"body": "欢迎"}
    )
    post = await api.call(
        s.account,
        "POST",
        f"/api/v1/communities/{community}/posts",
        expect=201,
        json={"body": f"帖子{s.name}"},
    )
    s.ids["post"] = post["id"]
    await api.call(
        s.account,
        "POST",
        f"/api/v1/posts/{theirs['id']}/comments",
        expect=201,
        json={"body": f"评论{s.name}"},
    )
    await api.call(s.account, "PUT", f"/api/v1/posts/{theirs['id']}/like")


async def _invite(api: Api, s: Subject) -> None:
    """The member invites a friend, who signs up with the code."""
    code = (await api.call(s.account, "GET", "/api/v1/me/invite"))["code"]
    s.friend_device = f"friend-{uuid.uuid4().hex[:10]}"
    friend = await register(api.client, s.account.tenant, "好友", device=s.friend_device, invite_code=code)
    s.ids["friend"] = friend.user_id


async def ready_export(client: httpx.AsyncClient, account: Account) -> dict[str, Any]:
    """Ask for a copy of the member's data and wait for the job to build it."""
    asked = await client.post("/api/v1/me/exports", headers=account.headers)
    assert asked.status_code == 202, asked.text
    export_id = asked.json()["id"]

    async def ready() -> dict[str, Any] | None:
        found = (await client.get(f"/api/v1/me/exports/{export_id}", headers=account.headers)).json()
        return dict(found) if found["status"] == "ready" else None

    return await eventually(ready, timeout=30)


def read_archive(body: bytes) -> tuple[dict[str, Any], dict[str, list[dict[str, str]]]]:
    """``data.json`` and the CSV files of an export, by table."""
    with zipfile.ZipFile(io.BytesIO(body)) as zipped:
        document = json.loads(zipped.read("data.json"))
        tables = {
            name.removesuffix(".csv"): list(
                csv.DictReader(io.StringIO(zipped.read(name).decode("utf-8-sig")))
            )
            for name in zipped.namelist()
            if name.endswith(".csv")
        }
    return document, tables
