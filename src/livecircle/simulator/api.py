"""The few public HTTP calls a viewer makes, over one shared ``httpx.AsyncClient``.

Every call answers ``None`` (or False) on a refusal or a transport error and counts the
problem's ``code`` in the tally, so one failing viewer never stops a run.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from livecircle.simulator.tally import Tally

Json = dict[str, Any]
TOPUP_WAIT_SECONDS = 10.0
SIGN_UP_TRIES = 4


@dataclass(frozen=True, slots=True)
class Identity:
    user_id: int
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Api:
    def __init__(self, http: httpx.AsyncClient, tally: Tally) -> None:
        self.http = http
        self.tally = tally
        self._may_pay: set[int] = set()  # viewers who gave the separate payment consent

    async def agree_to_pay(self, who: Identity) -> bool:
        """The separate ``payment`` consent a member gives before their first payment (PIPL
        art. 29), once per simulated viewer."""
        if who.user_id not in self._may_pay:
            body = {"granted": True}
            if await self.call("PUT", "/api/v1/me/consents/payment", who, json=body) is None:
                return False
            self._may_pay.add(who.user_id)
        return True

    async def call(
        self,
        method: str,
        path: str,
        who: Identity | None = None,
        *,
        key: str | None = None,
        device: str | None = None,
        **kw: Any,
    ) -> httpx.Response | None:
        """The response when it is a success (2xx), else None with its error code counted.
        ``device`` is the viewer's device id, which names an anonymous viewer's events."""
        headers = dict(who.headers) if who else {}
        if key:
            headers["Idempotency-Key"] = key
        if device:
            headers["X-Device-Id"] = device
        try:
            response = await self.http.request(method, path, headers=headers, **kw)
        except httpx.HTTPError as exc:
            self.tally.error(f"http:{type(exc).__name__}")
            return None
        if response.is_success:
            return response
        self.tally.error(_code(response))
        return None

    async def sign_up(
        self, email: str, password: str, name: str, *, tenant: str | None, device: str
    ) -> Identity | None:
        """Register, or sign in when the account exists (a rerun with the same seed). A server
        error is retried a few times, as a person would press the button again."""
        body: Json = {"email": email, "password": password, "display_name": name}
        if tenant:
            body["tenant"] = tenant
        for attempt in range(SIGN_UP_TRIES):
            await asyncio.sleep(0.2 * attempt)
            try:
                headers = {"X-Device-Id": device}
                response = await self.http.post("/api/v1/auth/register", json=body, headers=headers)
                if response.status_code == 409:
                    response = await self.http.post(
                        "/api/v1/auth/token", json=_sign_in(body), headers=headers
                    )
            except httpx.HTTPError as exc:
                self.tally.error(f"http:{type(exc).__name__}")
                continue
            if response.is_success:
                data = response.json()
                return Identity(user_id=int(data["user"]["id"]), token=str(data["access_token"]))
            self.tally.error(_code(response))
            if response.status_code < 500:
                return None
        return None

    async def ws_subprotocols(self, who: Identity) -> list[str] | None:
        """What a signed-in viewer offers on the room socket's handshake: a one-time ticket
        (POST /api/v1/ws-tickets), never the bearer token in the URL. None when refused."""
        response = await self.call("POST", "/api/v1/ws-tickets", who)
        if response is None:
            return None
        return ["livecircle", f"ticket.{response.json()['ticket']}"]

    async def room_of_show(self, show_id: int, who: Identity | None) -> int | None:
        """The room a show belongs to: found among the rooms the caller may see."""
        rooms = await self.call("GET", "/api/v1/rooms", who)
        for room in rooms.json() if rooms else []:
            state = await self.call("GET", f"/api/v1/rooms/{room['id']}/state", who)
            if state and (state.json().get("show") or {}).get("id") == show_id:
                return int(room["id"])
            shows = await self.call("GET", f"/api/v1/rooms/{room['id']}/shows", who)
            if shows and any(s["id"] == show_id for s in shows.json()):
                return int(room["id"])
        return None

    async def pins(self, show_id: int, who: Identity | None) -> list[Json]:
        response = await self.call("GET", f"/api/v1/shows/{show_id}/pins", who)
        return list(response.json()) if response else []

    async def follow(self, room_id: int, who: Identity) -> bool:
        return await self.call("PUT", f"/api/v1/rooms/{room_id}/follow", who) is not None

    async def share(self, room_id: int, show_id: int, who: Identity | None, device: str) -> bool:
        """A share of the show, recorded once: a member's through the points API (which earns
        points and records the share), an anonymous viewer's as a client analytics event."""
        if who is not None:
            body = {"target": f"show:{show_id}"}
            return await self.call("POST", "/api/v1/points/shares", who, json=body) is not None
        event = {
            "event_id": f"sim-share-{uuid.uuid4().hex}",
            "type": "share",
            "room_id": room_id,
            "show_id": show_id,
            "props": {"target": f"show:{show_id}"},
        }
        response = await self.call("POST", "/api/v1/events", device=device, json={"events": [event]})
        return bool(response and response.json().get("accepted") == 1)

    async def join(self, community_id: int, show_id: int, who: Identity) -> bool:
        path = f"/api/v1/communities/{community_id}/join"
        return await self.call("POST", path, who, json={"show_id": show_id}) is not None

    async def funnel(self, kind: str, pin_id: int, who: Identity | None, viewer: str) -> bool:
        body: Json = {"kind": kind, "pin_id": pin_id}
        if who is None:
            body["viewer"] = viewer
        response = await self.call("POST", "/api/v1/funnel", who, device=viewer, json=body)
        return bool(response and response.json().get("counted"))

    async def order(self, who: Identity, *, sku_id: int, show_id: int, pin_id: int) -> Json | None:
        body = {"sku_id": sku_id, "quantity": 1, "show_id": show_id, "pin_id": pin_id}
        response = await self.call("POST", "/api/v1/orders", who, key=str(uuid.uuid4()), json=body)
        return dict(response.json()) if response else None

    async def pay(self, who: Identity, order_id: int, *, success: bool) -> bool:
        """Start a sandbox payment and answer its checkout; the callback settles it."""
        if not await self.agree_to_pay(who):
            return False
        started = await self.call("POST", f"/api/v1/orders/{order_id}/payments", who)
        if started is None:
            return False
        outcome = {"outcome": "success" if success else "failure"}
        return await self.call("POST", _path(started.json()["pay_url"]), who, json=outcome) is not None

    async def get_order(self, who: Identity, order_id: int) -> Json | None:
        response = await self.call("GET", f"/api/v1/orders/{order_id}", who)
        return dict(response.json()) if response else None

    async def paid_order(
        self, who: Identity, order_id: int, *, until: float, wait: bool = True
    ) -> Json | None:
        """The order once the server holds it as paid (the sandbox's callback settles it), looked
        at until ``until`` (``time.monotonic()``), or once when not ``wait``; None if not paid."""
        while True:
            order = await self.get_order(who, order_id)
            if order is not None and order["status"] == "paid":
                return order
            if not wait or time.monotonic() > until:
                return None
            await asyncio.sleep(0.1)

    async def show_products(self, show_id: int, who: Identity | None) -> list[Json]:
        response = await self.call("GET", f"/api/v1/shows/{show_id}/products", who)
        return list(response.json()) if response else []

    async def top_up(self, who: Identity, coins: int) -> int:
        """Buy ``coins`` through the sandbox provider; the wallet's coins once credited (0: failed)."""
        if not await self.agree_to_pay(who):
            return 0
        started = await self.call(
            "POST", "/api/v1/wallet/topups", who, key=str(uuid.uuid4()), json={"coins": coins}
        )
        if started is None:
            return 0
        topup = started.json()
        if await self.call("POST", _path(topup["pay_url"]), who, json={"outcome": "success"}) is None:
            return 0
        deadline = time.monotonic() + TOPUP_WAIT_SECONDS
        while time.monotonic() < deadline:
            state = await self.call("GET", f"/api/v1/wallet/topups/{topup['id']}", who)
            if state is not None and state.json()["status"] == "paid":
                wallet = await self.call("GET", "/api/v1/wallet", who)
                return int(wallet.json()["coins"]) if wallet else 0
            await asyncio.sleep(0.05)
        self.tally.error("topup_timeout")
        return 0

    async def coin_gifts(self, who: Identity) -> list[Json]:
        """The catalogue's coin gifts, cheapest first."""
        response = await self.call("GET", "/api/v1/gifts", who)
        gifts = [g for g in (response.json() if response else []) if g.get("currency") == "coin"]
        return sorted(gifts, key=lambda g: int(g["price"]))

    async def again(self, method: str, path: str, who: Identity, **kw: Any) -> httpx.Response | None:
        """An idempotent call tried again after a failure, as a person would (each failure is
        still counted): the response, or None when every try failed."""
        for attempt in range(SIGN_UP_TRIES):
            await asyncio.sleep(0.2 * attempt)
            response = await self.call(method, path, who, **kw)
            if response is not None:
                return response
        return None

    async def agree_to_marketing(self, who: Identity) -> bool:
        body = {"granted": True}
        return await self.again("PUT", "/api/v1/me/consents/marketing", who, json=body) is not None

    async def inbox(self, who: Identity) -> list[Json] | None:
        """The viewer's inbox, newest first; None when it could not be read."""
        response = await self.again("GET", "/api/v1/me/inbox", who, params={"limit": 100})
        return list(response.json()["items"]) if response else None

    async def follow_link(self, link: str) -> bool:
        """Open a message's link as a person would: the click is counted and answered with a
        redirect (303), whose target is not fetched."""
        try:
            response = await self.http.get(_path(link), follow_redirects=False)
        except httpx.HTTPError as exc:
            self.tally.error(f"http:{type(exc).__name__}")
            return False
        if response.status_code != 303:
            self.tally.error(_code(response))
        return response.status_code == 303

    async def buy(self, who: Identity, sku_id: int) -> int | None:
        """Order one of ``sku_id`` outside any show and pay it (sandbox success): the order id."""
        body = {"sku_id": sku_id, "quantity": 1}
        placed = await self.call("POST", "/api/v1/orders", who, key=str(uuid.uuid4()), json=body)
        if placed is None:
            return None
        order_id = int(placed.json()["id"])
        return order_id if await self.pay(who, order_id, success=True) else None

    async def campaign(self, campaign_id: int, token: str, *, part: str = "") -> Json | None:
        """The campaign (``part=""``) or its report (``part="/report"``), as its operator sees it."""
        response = await self.call("GET", f"/api/v1/campaigns/{campaign_id}{part}", Identity(0, token))
        return dict(response.json()) if response else None

    async def ingest(self, events: list[Json], token: str) -> Json | None:
        response = await self.call("POST", "/api/v1/events", Identity(0, token), json={"events": events})
        return dict(response.json()) if response else None


def _sign_in(body: Json) -> Json:
    return {k: v for k, v in body.items() if k in {"email", "password", "tenant"}}


def _path(url: str) -> str:
    """A URL the server made with its own base URL, as a path on ours (it may sit behind a proxy)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _code(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    code = body.get("code") if isinstance(body, dict) else None
    return str(code or f"http_{response.status_code}")
