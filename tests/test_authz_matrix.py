"""Object-level authorisation, generated from ``app.routes``: every route with a path parameter,
every method, called with tenant A's ids (tests/authz_kit.py) by another member of tenant A,
an admin of tenant B and an anonymous caller. Each answer is 401/403/404 (or a redirect to the
sign-in page), unless ``OPEN`` says why that caller may do it; no answer carries a secret of
tenant A (stream keys, e-mails, tokens, the winner's address, payment refs, the webhook
secret); afterwards no row of the database has changed.

A new route fails here until each of its parameters has a seeded id (``KEYS``) and its body
an example (``BODIES``): then it is checked like the others; a route meant to be open needs a
line in ``OPEN`` with the reason."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import Enum
from itertools import product
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts

from livecircle.main import create_app
from tests.authz_kit import Seeded, changes, outsider_stage, seed, snapshot, warm_up
from tests.conftest import RunningServer, make_settings
from tests.room_kit import settle_chat

ATTACKERS = ("member", "outsider", "anonymous")
CSRF = "authz-csrf-token-0123456789"
SAMPLE_EVERY = 3  # PostgreSQL runs every third probe of the SQLite matrix


class Open(Enum):
    VIEWERS = "whoever may see the room: everybody for a public room, tenant members for a private one"
    MEMBERS = "members of the object's tenant"
    SIGNED_IN = "any signed-in caller (acts on their own record only)"
    ANYONE = "anybody"


# What each path parameter names, as the key of a seeded id (authz_kit); per route where the
# same name means different things.
KEYS = {
    "room_id": "room", "show_id": "show", "poll_id": "poll", "lottery_id": "lottery",
    "question_id": "question", "message_id": "message", "pin_id": "pin", "sale_id": "sale",
    "step_id": "step", "winner_id": "winner", "request_id": "cohost_request", "alert_id": "alert",
    "product_id": "product", "sku_id": "sku", "template_id": "template", "order_id": "order",
    "topup_id": "topup", "gift_id": "gift", "item_id": "store_item", "word_id": "word",
    "endpoint_id": "endpoint", "notification_id": "notification", "community_id": "community",
    "post_id": "post", "comment_id": "comment", "activity_id": "activity", "user_id": "user",
    "code": "invite_code", "export_id": "export", "topic_id": "topic", "suggestion_id": "suggestion",
    "campaign_id": "campaign",
}  # fmt: skip
ROUTE_KEYS = {
    ("/api/v1/rooms/{room_id}/auto-replies/{rule_id}", "rule_id"): "auto_reply",
    ("/api/v1/analytics/alert-rules/{rule_id}", "rule_id"): "alert_rule",
    ("/api/v1/script-templates/{template_id}", "template_id"): "script_template",
    ("/api/v1/analytics/tag-rules/{rule_id}", "rule_id"): "tag_rule",
    ("/console/tags/rules/{rule_id}", "rule_id"): "tag_rule",
    ("/api/v1/badges/rules/{rule_id}", "rule_id"): "badge_rule",
    ("/console/points/badges/{rule_id}", "rule_id"): "badge_rule",
    ("/console/points/badges/{rule_id}/enabled", "rule_id"): "badge_rule",
    ("/api/v1/payments/sandbox/{ref}/complete", "ref"): "topup_ref",
    ("/api/v1/orders/payments/sandbox/{ref}/complete", "ref"): "payment_ref",
    # Signed links are credentials: each kind gets a forged one (a new kind needs a line here).
    ("/unsubscribe/{token}", "token"): "forged_token",
    ("/exports/{token}", "token"): "forged_token",
    ("/guardian/{token}", "token"): "forged_token",
    ("/go/{token}", "token"): "forged_token",
}
# Parameters that name no object: every value is tried.
VALUES: dict[tuple[str | None, str], tuple[str, ...]] = {
    ("/api/v1/rooms/{room_id}/moderation/held/{message_id}/{decision}", "decision"): ("approve", "reject"),
    ("/api/v1/rooms/{room_id}/cohost/requests/{request_id}/{decision}", "decision"): (
        "accept",
        "reject",
        "remove",
    ),
    ("/api/v1/rooms/{room_id}/cohost/invitation/{answer}", "answer"): ("accept", "decline"),
    ("/console/rooms/{room_id}/key/{action}", "action"): ("rotate", "revoke"),
    ("/console/orders/{order_id}/{action}", "action"): ("fulfil", "refund"),
    (None, "segment"): ("index0.ts",),
    (None, "part"): ("1",),
    (None, "locale"): ("en",),
    (None, "purpose"): ("marketing", "payment"),
    ("/api/v1/planning/month-targets/{month}", "month"): ("2031-05",),
}

V = "the room's live interaction is for its viewers (chat, polls, Q&A, lotteries, co-host line)"
OPEN: dict[str, tuple[Open, str]] = {
    "GET /api/v1/rooms/{room_id}": (Open.VIEWERS, "the room's card, as on its page"),
    "GET /api/v1/rooms/{room_id}/state": (Open.VIEWERS, "what the player shows"),
    "GET /api/v1/rooms/{room_id}/shows": (Open.VIEWERS, "the schedule and replays"),
    "PUT /api/v1/rooms/{room_id}/follow": (Open.VIEWERS, "following the host is the caller's own"),
    "DELETE /api/v1/rooms/{room_id}/follow": (Open.VIEWERS, "unfollowing is the caller's own"),
    "GET /api/v1/rooms/{room_id}/viewers": (Open.VIEWERS, "the viewer count shown in the room"),
    "GET /api/v1/rooms/{room_id}/guide": (Open.VIEWERS, "the room's first-visit guide"),
    "GET /api/v1/rooms/{room_id}/reminder": (Open.VIEWERS, "the next show and the caller's own reminder"),
    "GET /api/v1/shows/{show_id}/reminder": (Open.VIEWERS, "the caller's own reminder"),
    "POST /api/v1/shows/{show_id}/reminder": (Open.VIEWERS, "the caller's own reminder"),
    "DELETE /api/v1/shows/{show_id}/reminder": (Open.VIEWERS, "the caller's own reminder"),
    "GET /hls/{room_id}/index.m3u8": (Open.VIEWERS, "the live stream"),
    "GET /hls/{room_id}/{segment}": (Open.VIEWERS, "the live stream"),
    "GET /replay/{show_id}/index.m3u8": (Open.VIEWERS, "the replay"),
    "GET /replay/{show_id}/{part}/{segment}": (Open.VIEWERS, "the replay"),
    "GET /rooms/{room_id}": (Open.VIEWERS, "the room page"),
    "GET /api/v1/rooms/{room_id}/chat": (Open.VIEWERS, V),
    "POST /api/v1/rooms/{room_id}/chat": (Open.VIEWERS, V),
    "GET /api/v1/shows/{show_id}/chat": (Open.VIEWERS, "the chat beside the replay"),
    "GET /api/v1/rooms/{room_id}/chat-policy": (Open.VIEWERS, "the room's chat rules"),
    "POST /api/v1/rooms/{room_id}/chat/{message_id}/report": (Open.VIEWERS, "viewers report lines they see"),
    "GET /api/v1/rooms/{room_id}/contributors": (Open.VIEWERS, "the gift ranking shown in the room"),
    "GET /api/v1/rooms/{room_id}/polls": (Open.VIEWERS, V),
    "GET /api/v1/polls/{poll_id}": (Open.VIEWERS, V),
    "POST /api/v1/polls/{poll_id}/ballot": (Open.VIEWERS, V),
    "GET /api/v1/rooms/{room_id}/lotteries": (Open.VIEWERS, V),
    "GET /api/v1/lotteries/{lottery_id}": (Open.VIEWERS, V),
    "POST /api/v1/lotteries/{lottery_id}/entry": (Open.VIEWERS, V),
    "GET /api/v1/lotteries/{lottery_id}/audit": (Open.VIEWERS, "the public draw audit (开奖公示)"),
    "GET /lotteries/{lottery_id}/audit": (Open.VIEWERS, "the public draw audit (开奖公示)"),
    "GET /api/v1/rooms/{room_id}/questions": (Open.VIEWERS, V),
    "GET /api/v1/shows/{show_id}/questions": (Open.VIEWERS, V),
    "POST /api/v1/rooms/{room_id}/questions": (Open.VIEWERS, V),
    "PUT /api/v1/questions/{question_id}/vote": (Open.VIEWERS, V),
    "DELETE /api/v1/questions/{question_id}/vote": (Open.VIEWERS, V),
    "GET /api/v1/rooms/{room_id}/cohost": (Open.VIEWERS, V),
    "GET /api/v1/rooms/{room_id}/cohost/me": (Open.VIEWERS, V),
    "POST /api/v1/rooms/{room_id}/cohost/apply": (Open.VIEWERS, V),
    "POST /api/v1/rooms/{room_id}/cohost/cancel": (Open.VIEWERS, "the caller's own request"),
    "POST /api/v1/rooms/{room_id}/cohost/invitation/{answer}": (Open.VIEWERS, "the caller's own invitation"),
    "GET /api/v1/shows/{show_id}/products": (Open.VIEWERS, "the shop shelf in the room"),
    "GET /api/v1/shows/{show_id}/pins": (Open.VIEWERS, "the product cards in the room"),
    "GET /api/v1/shows/{show_id}/flash-sales": (Open.VIEWERS, "the flash sales in the room"),
    "GET /api/v1/flash-sales/{sale_id}": (Open.VIEWERS, "a flash sale's card in the room"),
    "POST /api/v1/rooms/{room_id}/gifts": (Open.MEMBERS, "gifts are paid with the room tenant's coins"),
    "POST /api/v1/points/store/{item_id}/redeem": (Open.MEMBERS, "the tenant's members spend their points"),
    "POST /api/v1/coupon-templates/{template_id}/claim": (Open.MEMBERS, "the tenant's members claim drops"),
    "POST /api/v1/communities/{community_id}/join": (Open.MEMBERS, "the tenant's members join its groups"),
    "POST /communities/{community_id}/join": (Open.MEMBERS, "the tenant's members join its groups"),
    "DELETE /api/v1/communities/{community_id}/join": (Open.SIGNED_IN, "leaving is the caller's own"),
    "POST /communities/{community_id}/leave": (Open.SIGNED_IN, "leaving is the caller's own"),
    "GET /api/v1/communities/{community_id}": (Open.ANYONE, "a group's card: name, description, rules"),
    "GET /communities/{community_id}": (Open.ANYONE, "the public community page"),
    "GET /i/{code}": (Open.ANYONE, "an invite link's landing page"),
    "GET /lang/{locale}": (Open.ANYONE, "sets the caller's language cookie"),
    "GET /api/v1/me/consents/{purpose}": (Open.SIGNED_IN, "the caller's own consent"),
    "PUT /api/v1/me/consents/{purpose}": (Open.SIGNED_IN, "the caller's own consent"),
    "GET /me/consent/{purpose}": (Open.SIGNED_IN, "the caller's own consent"),
    "POST /me/consent/{purpose}": (Open.SIGNED_IN, "the caller's own consent"),
    "PUT /api/v1/planning/month-targets/{month}": (
        Open.SIGNED_IN,
        "the month names no object: an operator sets their own organisation's target",
    ),
}  # fmt: skip

# Refusals other than 401/403/404 that are right for their route.
FORGED = "the signed link is the credential: a forged one is refused as invalid"
REFUSALS = {
    "GET /unsubscribe/{token}": (400, FORGED),
    "POST /unsubscribe/{token}": (400, FORGED),
    "GET /exports/{token}": (400, FORGED),
}

LATER = {"starts_at": "2031-01-01T10:00:00+00:00", "ends_at": "2031-01-01T12:00:00+00:00"}
Body = dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]
BODIES: dict[str, Body] = {
    "PATCH /api/v1/planning/topics/{topic_id}": {"json": {"title": "改名"}},
    "POST /api/v1/planning/topics/{topic_id}/plan": lambda v: {
        "json": {"room_id": v["plan_room"], "scheduled_at": LATER["starts_at"]}
    },
    "PUT /api/v1/planning/month-targets/{month}": {"json": {"targets": {"all": 3}}},
    "PUT /api/v1/planning/shows/{show_id}/targets": {"json": {"targets": {}}},
    "POST /console/planning/topics/{topic_id}/status": {"data": {"status": "used"}},
    "POST /console/planning/topics/{topic_id}/plan": lambda v: {
        "data": {"room_id": str(v["plan_room"]), "scheduled_at": "2031-01-01T10:00"}
    },
    "PATCH /api/v1/campaigns/{campaign_id}": {"json": {"name": "改名"}},
    "POST /api/v1/campaigns/{campaign_id}/status": {"json": {"status": "active"}},
    "PATCH /api/v1/analytics/alert-rules/{rule_id}": {"json": {"threshold": 0.9}},
    "PATCH /api/v1/analytics/tag-rules/{rule_id}": {"json": {"name": "改名"}},
    "POST /console/tags/rules/{rule_id}": {"data": {"definition": "{}", "name": "改名"}},
    "PUT /api/v1/shows/{show_id}/targets": {"json": {"targets": {}}},
    "POST /api/v1/shows/{show_id}/script/steps": {"json": {"action": "cue", "text": "越权"}},
    "POST /api/v1/shows/{show_id}/script/template": {"json": {"name": "越权模板"}},
    "POST /api/v1/shows/{show_id}/script/apply": lambda v: {"json": {"template_id": v["script_template"]}},
    "POST /api/v1/rooms/{room_id}/shows": {"json": {"title": "冒名场次"}},
    "POST /api/v1/rooms/{room_id}/chat": {"json": {"text": "越权"}},
    "PATCH /api/v1/rooms/{room_id}/chat-policy": {"json": {"slow_mode_seconds": 60}},
    "PUT /api/v1/rooms/{room_id}/pin": lambda v: {"json": {"message_id": v["message"]}},
    "POST /api/v1/rooms/{room_id}/auto-replies": {"json": {"keyword": "k", "reply": "r"}},
    "POST /api/v1/rooms/{room_id}/chat/{message_id}/report": {"json": {"reason": "spam"}},
    "POST /api/v1/rooms/{room_id}/moderation/sanctions": lambda v: {
        "json": {"user_id": v["user"], "kind": "ban"}
    },
    "POST /api/v1/rooms/{room_id}/gifts": lambda v: {"json": {"gift_id": v["gift"]}},
    "POST /api/v1/rooms/{room_id}/polls": {
        "json": {"title": "t", "questions": [{"text": "q", "options": ["a", "b"]}]}
    },
    "POST /api/v1/polls/{poll_id}/ballot": {"json": {"answers": [{"question_id": 1, "option_ids": [1]}]}},
    "POST /api/v1/rooms/{room_id}/lotteries": {
        "json": {"title": "t", "prizes": [{"kind": "physical", "name": "p", "quantity": 1}]}
    },
    "PUT /api/v1/lotteries/{lottery_id}/address": {
        "json": {"name": "冒领人", "phone": "13900000000", "address": "冒领路 1 号"}
    },
    "POST /api/v1/lotteries/{lottery_id}/winners/{winner_id}/ship": {"json": {"note": "x"}},
    "POST /api/v1/rooms/{room_id}/questions": {"json": {"text": "q"}},
    "PATCH /api/v1/questions/{question_id}": {"json": {"status": "hidden"}},
    "POST /api/v1/rooms/{room_id}/cohost/invite": lambda v: {"json": {"user_id": v["user"]}},
    "POST /api/v1/payments/sandbox/{ref}/complete": {"json": {}},
    "PATCH /api/v1/gifts/{gift_id}": {"json": {"price": 1}},
    "PATCH /api/v1/points/store/{item_id}": {"json": {"add_stock": 100}},
    "PATCH /api/v1/badges/rules/{rule_id}": {"json": {"threshold": 1}},
    "PATCH /api/v1/products/{product_id}": {"json": {"name": "改名"}},
    "POST /api/v1/products/{product_id}/skus": {"json": {"name": "x", "price_cents": 1}},
    "PATCH /api/v1/skus/{sku_id}": {"json": {"price_cents": 1}},
    "PUT /api/v1/shows/{show_id}/products": lambda v: {"json": {"product_id": v["product"]}},
    "POST /api/v1/shows/{show_id}/pins": lambda v: {"json": {"product_id": v["product"]}},
    "POST /api/v1/shows/{show_id}/flash-sales": lambda v: {
        "json": {"sku_id": v["sku"], "price_cents": 1, "stock": 1, "duration_s": 60}
    },
    "POST /api/v1/shows/{show_id}/coupon-drops": lambda v: {"json": {"template_id": v["template"]}},
    "POST /api/v1/orders/payments/sandbox/{ref}/complete": {"json": {}},
    "PATCH /api/v1/coupon-templates/{template_id}": {"json": {"total": 1}},
    "POST /api/v1/coupon-templates/{template_id}/issue": lambda v: {"json": {"user_id": v["user"]}},
    "POST /api/v1/coupon-templates/{template_id}/claim": {"json": {}},
    "PATCH /api/v1/communities/{community_id}": {"json": {"name": "改名"}},
    "POST /api/v1/communities/{community_id}/join": {"json": {}},
    "PUT /api/v1/communities/{community_id}/members/{user_id}/role": {"json": {"role": "admin"}},
    "POST /api/v1/communities/{community_id}/posts": {"json": {"body": "x"}},
    "POST /api/v1/posts/{post_id}/comments": {"json": {"body": "x"}},
    "POST /api/v1/communities/{community_id}/checkin": {"json": {}},
    "POST /api/v1/communities/{community_id}/activities": {"json": {"title": "t", **LATER}},
    "PATCH /api/v1/activities/{activity_id}": {"json": {"title": "改名"}},
    "POST /api/v1/posts/{post_id}/reports": {"json": {"reason": "x"}},
    "POST /api/v1/comments/{comment_id}/reports": {"json": {"reason": "x"}},
    "POST /api/v1/posts/{post_id}/review": {"json": {"decision": "remove"}},
    "POST /api/v1/comments/{comment_id}/review": {"json": {"decision": "remove"}},
    "PATCH /api/v1/webhooks/{endpoint_id}": {"json": {"url": "https://evil.example.com/x"}},
    "POST /console/rooms/{room_id}/shows": {"data": {"title": "冒名场次"}},
    "POST /console/gifts/{gift_id}/sale": {"data": {"enabled": "false"}},
    "POST /console/products/{product_id}": {"data": {"name": "改名"}},
    "POST /console/products/{product_id}/enabled": {"data": {"enabled": "false"}},
    "POST /console/products/{product_id}/skus": {"data": {"name": "x", "price": "1"}},
    "POST /console/skus/{sku_id}": {"data": {"price": "1"}},
    "POST /console/coupons/{template_id}/enabled": {"data": {"enabled": "false"}},
    "POST /console/coupons/{template_id}/issue": lambda v: {"data": {"user_id": str(v["user"])}},
    "POST /console/orders/{order_id}/{action}": {"data": {}},
    "POST /console/points/items/{item_id}/stock": {"data": {"add_stock": "5"}},
    "POST /console/points/items/{item_id}/enabled": {"data": {"enabled": "false"}},
    "POST /console/points/badges/{rule_id}": {"data": {"name": "改名", "icon": "🏅", "threshold": "1"}},
    "POST /console/points/badges/{rule_id}/enabled": {"data": {"enabled": "false"}},
    "POST /communities/{community_id}/join": {"data": {}},
    "POST /console/webhooks/{endpoint_id}/active": {"data": {"active": "false"}},
    "PUT /api/v1/me/consents/{purpose}": {"json": {"granted": False}},
    "POST /me/consent/{purpose}": {"data": {"granted": "false"}},
}
QUERIES = {"DELETE /api/v1/rooms/{room_id}/moderation/sanctions/{user_id}": {"kind": "ban"}}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    params: tuple[str, ...]
    has_body: bool

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Probe:
    route: Route
    url: str
    scope: str  # public | private | tenant (a tenant-wide object)
    attacker: str
    body: dict[str, Any]

    def allowed(self) -> bool:
        verdict = OPEN.get(self.route.name)
        if verdict is None:
            return False
        kind = verdict[0]
        if kind is Open.ANYONE or (kind is Open.VIEWERS and self.scope == "public"):
            return True
        if kind is Open.SIGNED_IN:
            return self.attacker != "anonymous"
        return self.attacker == "member"  # MEMBERS, and VIEWERS of a private room

    def __str__(self) -> str:
        return f"{self.attacker} {self.route.method} {self.url} ({self.scope} {self.route.path})"


def object_routes(app: Any) -> list[Route]:
    """Every HTTP route with a path parameter, once per method (HEAD is GET's)."""
    found = []
    for context in iter_route_contexts(app.routes):
        path = context.path or ""
        params = tuple(re.findall(r"{(\w+)(?::\w+)?}", path))
        dependant = getattr(context, "dependant", None)
        if not params or not context.methods or dependant is None:
            continue
        has_body = any(f.field_info.is_required() for d in _walk(dependant) for f in d.body_params)
        for method in sorted(context.methods - {"HEAD"}):
            found.append(Route(method, path, params, has_body))
    return found


def _walk(dependant: Any) -> Iterator[Any]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _walk(sub)


def key_of(route: Route, param: str) -> str | None:
    return ROUTE_KEYS.get((route.path, param)) or KEYS.get(param)


def undecided(routes: list[Route]) -> list[str]:
    """What stops a route from being probed: an unknown parameter or a missing body."""
    problems = []
    for route in routes:
        for param in route.params:
            if (
                key_of(route, param) is None
                and VALUES.get((route.path, param), VALUES.get((None, param))) is None
            ):
                problems.append(f"route {route.name} has no seeded id for param {param} (KEYS/ROUTE_KEYS)")
        if route.has_body and route.name not in BODIES:
            problems.append(f"route {route.name} has no example body (BODIES)")
    names = {r.name for r in routes}
    problems += [f"OPEN names no route: {name}" for name in OPEN if name not in names]
    problems += [f"BODIES names no route: {name}" for name in BODIES if name not in names]
    problems += [f"REFUSALS names no route: {name}" for name in REFUSALS if name not in names]
    return problems


def probes(routes: list[Route], seeded: Seeded) -> Iterator[Probe]:
    scopes = {"public": seeded.public, "private": seeded.private}
    for route in routes:
        keys = {p: key_of(route, p) for p in route.params}
        scoped = any(k in seeded.public or k in seeded.private for k in keys.values() if k)
        for scope, ids in scopes.items() if scoped else [("tenant", {})]:
            known = {**seeded.shared, **ids}
            if any(k is not None and k not in known for k in keys.values()):
                continue  # that room has no such thing (e.g. only the public lottery has a winner)
            choices = [
                [str(known[k])] if k else list(VALUES.get((route.path, p), VALUES.get((None, p), ())))
                for p, k in keys.items()
            ]
            for picked in product(*choices):
                url = route.path
                for param, value in zip(route.params, picked, strict=True):
                    url = url.replace("{" + param + "}", value)
                body = BODIES.get(route.name, {})
                body = body(known) if callable(body) else body
                if route.name in QUERIES:
                    body = {**body, "params": QUERIES[route.name]}
                for attacker in ATTACKERS:
                    yield Probe(route, url, scope, attacker, body)


def verdict(probe: Probe, reply: httpx.Response, secrets: dict[str, str]) -> str | None:
    """Why this answer is wrong, or None."""
    leaked = [name for name, value in secrets.items() if value in reply.text]
    if leaked:
        return f"leaked {leaked}"
    if reply.status_code >= 500:
        return f"server error {reply.status_code}"
    if probe.allowed():
        return None
    if reply.status_code in (401, 403, 404) or reply.status_code == REFUSALS.get(probe.route.name, (0,))[0]:
        return None
    if reply.status_code in (302, 303, 307) and reply.headers.get("location", "").startswith("/login"):
        return None
    return f"answered {reply.status_code} (expected 401/403/404): {reply.text[:160]}"


@pytest.fixture(scope="module")
async def seeded(server: RunningServer) -> Seeded:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        seeded = await seed(server, client)
        await outsider_stage(client, seeded)
        await warm_up(client, seeded)
    await settle_chat(server)  # the seeded lines' points are paid now, not during the probes
    return seeded


@asynccontextmanager
async def clients(server: RunningServer, seeded: Seeded) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    tokens = {"member": seeded.member.token, "outsider": seeded.outsider.token, "anonymous": None}
    opened = {}
    for name, token in tokens.items():
        headers = {"x-csrf-token": CSRF} | ({"Authorization": f"Bearer {token}"} if token else {})
        opened[name] = httpx.AsyncClient(
            base_url=server.base_url, headers=headers, cookies={"lc_csrf": CSRF}, timeout=30
        )
    try:
        yield opened
    finally:
        for client in opened.values():
            await client.aclose()


def test_every_object_route_has_ids_and_bodies_to_probe(tmp_path: Path) -> None:
    app = create_app(make_settings("sqlite+aiosqlite:///:memory:", tmp_path))  # the suite's settings
    routes = object_routes(app)
    assert len(routes) > 150, "the app's routes were not found"
    assert undecided(routes) == []


async def test_other_users_and_tenants_get_nothing_and_change_nothing(
    server: RunningServer, seeded: Seeded
) -> None:
    routes = object_routes(server.app)
    assert undecided(routes) == []
    every = list(probes(routes, seeded))
    assert {p.route for p in every} == set(routes), "routes no seeded scope has all the ids of"
    planned = [p for p in every if p.route.method == "GET" or not p.allowed()]
    assert len(planned) > 700
    if not server.settings.database_url.startswith("sqlite"):
        planned = planned[::SAMPLE_EVERY]
    async with httpx.AsyncClient(base_url=server.base_url, headers=seeded.owner.headers) as owner:
        staff_view = await owner.get(f"/api/v1/lotteries/{seeded.public['lottery']}")
    assert seeded.secrets["winner's street"] in staff_view.text  # the markers are found where they are
    # The private room's chat is for tenant A's members: a secret only from the others.
    private_line = {"the private room's chat line": seeded.lines["private"]}
    secrets = {a: seeded.secrets | ({} if a == "member" else private_line) for a in ATTACKERS}
    before = await snapshot(server)
    failures: list[str] = []
    gate = asyncio.Semaphore(4)
    async with clients(server, seeded) as opened:

        async def run(probe: Probe) -> None:
            kwargs = {**probe.body, "headers": {"Idempotency-Key": uuid.uuid4().hex}}
            async with gate:
                reply = await opened[probe.attacker].request(probe.route.method, probe.url, **kwargs)
            if (why := verdict(probe, reply, secrets[probe.attacker])) is not None:
                failures.append(f"{probe}: {why}")

        await asyncio.gather(*(run(p) for p in planned))
    assert sorted(failures) == [], "\n".join(sorted(failures))
    assert changes(before, await snapshot(server)) == []


def body_ids(s: Seeded) -> list[tuple[str, str, str, dict[str, Any] | None, tuple[int, ...]]]:
    """Tenant A's ids inside request bodies, mostly sent by the tenant B admin to routes of their
    own room, show and shop (where they are staff): (who, method, url, json, refusals).
    Not here: a points-store item whose ``payload`` names another tenant's coupon template is
    stored (economy knows no coupons), but redeeming it hands out only templates of the item's
    own tenant (commerce.tasks), so the id leads nowhere."""
    a, room, show = s.shared, s.shared["outsider_room"], s.shared["outsider_show"]
    prize = {"kind": "coupon", "name": "券", "quantity": 1, "coupon_template_id": a["template"]}
    coupon = {"name": "x", "kind": "fixed", "amount_off_cents": 1, "channel": "manual"}
    rule = {"name": "x", "metric": "interaction_rate", "comparator": "<", "threshold": 0.1}
    sale = {"sku_id": a["sku"], "price_cents": 1, "stock": 1, "duration_s": 60}
    found = (403, 404)
    # Pinning wants the product attached to the show first: the same 409 for any product.
    unattached = (409,)
    return [
        ("outsider", "POST", "/api/v1/orders", {"sku_id": a["sku"]}, found),
        ("member", "POST", "/api/v1/orders", {"sku_id": a["sku"], "coupon_id": a["coupon"]}, found),
        ("outsider", "PUT", f"/api/v1/shows/{show}/products", {"product_id": a["product"]}, found),
        ("outsider", "POST", f"/api/v1/shows/{show}/pins", {"product_id": a["product"]}, unattached),
        ("outsider", "POST", f"/api/v1/shows/{show}/flash-sales", sale, found),
        ("outsider", "POST", f"/api/v1/shows/{show}/coupon-drops", {"template_id": a["template"]}, found),
        ("outsider", "POST", "/api/v1/coupon-templates", coupon | {"product_id": a["product"]}, found),
        (
            "outsider",
            "POST",
            f"/api/v1/coupon-templates/{a['outsider_template']}/issue",
            {"user_id": s.buyer.user_id},
            found,
        ),
        ("outsider", "POST", f"/api/v1/rooms/{room}/lotteries", {"title": "t", "prizes": [prize]}, found),
        ("outsider", "POST", "/api/v1/communities", {"name": "x", "room_id": s.public["room"]}, found),
        ("outsider", "POST", "/api/v1/analytics/alert-rules", rule | {"room_id": s.private["room"]}, found),
        ("outsider", "PUT", f"/api/v1/rooms/{room}/pin", {"message_id": s.private["message"]}, found),
        (
            "outsider",
            "POST",
            f"/api/v1/rooms/{room}/chat",
            {"text": "x", "reply_to": s.private["message"]},
            found,
        ),
        ("outsider", "POST", "/api/v1/funnel", {"kind": "click", "pin_id": s.private["pin"]}, found),
        (
            "anonymous",
            "POST",
            "/api/v1/funnel",
            {"kind": "click", "pin_id": s.private["pin"], "viewer": "authz-anon"},
            found,
        ),
        ("member", "GET", f"/api/v1/audit?tenant={s.tenant_id}", None, found),  # an id in the query
    ]


async def test_ids_of_others_inside_bodies_are_refused(server: RunningServer, seeded: Seeded) -> None:
    before = await snapshot(server)
    wrong = []
    async with clients(server, seeded) as opened:
        for who, method, url, body, refusals in body_ids(seeded):
            headers = {"Idempotency-Key": uuid.uuid4().hex}
            reply = await opened[who].request(method, url, json=body, headers=headers)
            if reply.status_code not in refusals:
                wrong.append(f"{who} {method} {url} {body}: {reply.status_code} {reply.text[:160]}")
    assert wrong == []
    assert changes(before, await snapshot(server)) == []


async def test_another_tenants_admin_reads_no_legal_holds(server: RunningServer, seeded: Seeded) -> None:
    async with clients(server, seeded) as opened:
        reply = await opened["outsider"].get("/api/v1/privacy/holds")
    assert reply.status_code == 403, reply.text
