"""One synthetic viewer: arrives, opens the room socket, chats, likes, shares, follows,
joins the community from its card, clicks pinned products, buys, gifts, and leaves.

Socket ops carry a ``ref``; the server echoes it on an ``error`` (and ``chat_held``,
``gift_sent``), and handles one connection's ops in order, so a ``ping`` answered with
``pong`` means every earlier op has had its answer. What the tally counts is therefore what
the server accepted, not merely what was sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.typing import Subprotocol

from livecircle.simulator.api import Api, Identity, Json
from livecircle.simulator.scenario import Scenario
from livecircle.simulator.tally import Clock, Tally

TICK_SIM_SECONDS = 5.0  # a viewer decides what to do every 5 simulated seconds
MAX_TICK_REAL_SECONDS = 1.0
GRACE_SECONDS = 5.0  # how long a leaving viewer waits for the answers to its last ops
# Frames worth decoding: most frames are other viewers' chat, skipped without parsing.
MARKERS = (
    '"error"',
    '"chat_held"',
    '"gift_sent"',
    '"community_card"',
    '"product_pin"',
    '"product_unpin"',
    '"pong"',
    '"show"',
)

LINES = (
    "主播好！",
    "来了来了",
    "这个颜色好看",
    "多少钱？",
    "支持主播 👍",
    "有优惠券吗",
    "已关注",
    "讲解一下材质",
    "666",
    "发货快吗",
    "Hello from the sim!",
    "Looks great",
    "How much is it?",
    "Greetings from Shanghai",
    "Love this show",
    "Is there a discount?",
)


@dataclass(frozen=True, slots=True)
class Plan:
    """What is decided about a viewer before the run (from the seed)."""

    index: int
    arrive_min: float
    leave_min: float
    anonymous: bool
    gifter: bool
    follow_min: float | None
    seed: int

    @property
    def device(self) -> str:
        """The viewer's device id: it names an anonymous viewer's events."""
        return f"sim{self.seed:016x}"


@dataclass(slots=True)
class Room:
    """What all viewers share: where to go and the run's services."""

    api: Api
    tally: Tally
    clock: Clock
    scenario: Scenario
    ws_url: str
    room_id: int
    show_id: int
    gifts: list[Json] = field(default_factory=list)
    orders: list[tuple[Identity, int, float, bool]] = field(default_factory=list)  # paying ones
    ended: asyncio.Event = field(default_factory=asyncio.Event)


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method; the means here are small)."""
    if mean <= 0:
        return 0
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


class Viewer:
    def __init__(self, room: Room, plan: Plan, identity: Identity | None) -> None:
        self.room = room
        self.plan = plan
        self.identity = identity
        self.rng = random.Random(plan.seed)
        self.anon_key = plan.device
        self.ws: ClientConnection | None = None
        self.cards: dict[int, Json] = {}
        self.pending: dict[str, tuple[str, float, int]] = {}  # ref -> (kind, minute, amount)
        self.chat_times: deque[float] = deque()
        self.like_times: deque[tuple[float, int]] = deque()
        self.coins = 0
        self.wallet = asyncio.Lock()  # one gift at a time: a top-up must not race another
        self.tasks: set[asyncio.Task[None]] = set()
        self.pong = asyncio.Event()
        self.seq = 0
        self.follow_min = plan.follow_min

    async def run(self) -> None:
        room = self.room
        await asyncio.sleep(room.clock.until(self.plan.arrive_min))
        if room.ended.is_set():
            return
        offered = await room.api.ws_subprotocols(self.identity) if self.identity else None
        if self.identity and offered is None:
            return  # the refusal is counted in the tally
        protocols = [Subprotocol(p) for p in offered] if offered else None
        try:
            url = f"{room.ws_url}/ws/rooms/{room.room_id}"
            headers = {"X-Device-Id": self.anon_key}
            async with websockets.connect(url, additional_headers=headers, subprotocols=protocols) as ws:
                self.ws = ws
                room.tally.add("arrivals")
                reader = asyncio.create_task(self._read(ws))
                try:
                    await self._watch()
                finally:
                    await self._settle(ws)
                    reader.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await reader
                    room.tally.add("departures")
        except (OSError, websockets.exceptions.WebSocketException) as exc:
            room.tally.error(f"ws:{type(exc).__name__}")

    # ---- the stay ----

    async def _watch(self) -> None:
        room, plan = self.room, self.plan
        self._spawn(self._see_pinned())
        tick_real = min(room.clock.real_seconds(TICK_SIM_SECONDS / 60), MAX_TICK_REAL_SECONDS)
        tick_min = tick_real * room.clock.speed / 60
        while not room.ended.is_set() and room.clock.minute() < plan.leave_min:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(room.ended.wait(), tick_real)
            minute = room.clock.minute()
            if minute >= plan.leave_min or room.ended.is_set():
                break
            await self._act(minute, tick_min)

    async def _act(self, minute: float, dt: float) -> None:
        rates, scenario, rng = self.room.scenario.rates, self.room.scenario, self.rng
        for _ in range(poisson(rng, rates.chat_per_min * dt * scenario.factor("chat", minute))):
            await self._chat(minute)
        await self._like(minute, poisson(rng, rates.likes_per_min * dt * scenario.factor("likes", minute)))
        for _ in range(poisson(rng, rates.shares_per_min * dt * scenario.factor("shares", minute))):
            self._spawn(self._share(minute))
        if self.follow_min is not None and minute >= self.follow_min:
            self.follow_min = None
            self._spawn(self._follow(minute))
        if self.cards and poisson(rng, rates.clicks_per_min * dt):
            self._spawn(self._click(minute, self.cards[rng.choice(sorted(self.cards))]))
        if self.plan.gifter and self.identity:
            for _ in range(poisson(rng, rates.gifts_per_min * dt)):
                self._spawn(self._gift(minute))

    async def _send(self, op: dict[str, Any]) -> bool:
        if self.ws is None:
            return False
        try:
            await self.ws.send(json.dumps(op, ensure_ascii=False))
        except websockets.exceptions.ConnectionClosed:
            self.room.tally.error("ws:closed")
            return False
        return True

    def _ref(self, kind: str, minute: float, amount: int = 0) -> str:
        self.seq += 1
        ref = f"{kind[0]}{self.plan.index}-{self.seq}"
        self.pending[ref] = (kind, minute, amount)
        return ref

    async def _chat(self, minute: float) -> None:
        if self.identity is None:
            return
        rates = self.room.scenario.rates
        now = time.monotonic()
        while self.chat_times and self.chat_times[0] <= now - rates.chat_window_s:
            self.chat_times.popleft()
        if len(self.chat_times) >= rates.chat_limit:
            self.room.tally.add("chat_throttled", minute=minute)
            return
        self.chat_times.append(now)
        text = self.rng.choice(LINES)
        if await self._send({"op": "chat", "text": text, "ref": self._ref("chat", minute)}):
            self.room.tally.add("chat", minute=minute)

    async def _like(self, minute: float, taps: int) -> None:
        if taps <= 0:
            return
        now = time.monotonic()
        while self.like_times and self.like_times[0][0] <= now - 1.0:
            self.like_times.popleft()
        room_left = self.room.scenario.rates.likes_per_second - sum(n for _, n in self.like_times)
        granted = max(0, min(taps, room_left, 100))
        if granted < taps:
            self.room.tally.add("likes_throttled", taps - granted, minute=minute)
        if granted and await self._send({"op": "like", "count": granted}):
            self.like_times.append((now, granted))
            self.room.tally.add("likes", granted, minute=minute)

    async def _share(self, minute: float) -> None:
        room = self.room
        if await room.api.share(room.room_id, room.show_id, self.identity, self.anon_key):
            room.tally.add("shares", minute=minute)

    async def _follow(self, minute: float) -> None:
        if self.identity and await self.room.api.follow(self.room.room_id, self.identity):
            self.room.tally.add("follows", minute=minute)

    async def _join(self, community_id: int, show_id: int) -> None:
        if self.identity and await self.room.api.join(community_id, show_id, self.identity):
            self.room.tally.add("community_joins")

    async def _see_pinned(self) -> None:
        """The cards pinned before the viewer arrived."""
        for card in await self.room.api.pins(self.room.show_id, self.identity):
            await self._see(card)

    async def _see(self, card: Json) -> None:
        self.cards[int(card["pin_id"])] = card
        if await self.room.api.funnel("impression", int(card["pin_id"]), self.identity, self.anon_key):
            self.room.tally.add("product_impressions")

    async def _click(self, minute: float, card: Json) -> None:
        api, rates, pin_id = self.room.api, self.room.scenario.rates, int(card["pin_id"])
        if await api.funnel("click", pin_id, self.identity, self.anon_key):
            self.room.tally.add("product_clicks", minute=minute)
        skus = [s for s in card.get("skus", []) if s.get("in_stock")]
        if self.identity is None or not skus or self.rng.random() >= rates.order_prob:
            return
        sku = self.rng.choice(skus)
        placed = await api.order(
            self.identity, sku_id=int(sku["sku_id"]), show_id=self.room.show_id, pin_id=pin_id
        )
        if placed is None:
            return
        self.room.tally.add("orders", minute=minute)
        self.room.tally.add("order_cents", int(placed.get("total_cents", 0)), minute=minute)
        if self.rng.random() >= rates.pay_prob:
            return
        success = self.rng.random() >= rates.pay_fail_prob
        if await api.pay(self.identity, int(placed["id"]), success=success):
            self.room.tally.add("payments_started", minute=minute)
            self.room.orders.append((self.identity, int(placed["id"]), minute, success))

    async def _gift(self, minute: float) -> None:
        async with self.wallet:
            await self._gift_now(minute)

    async def _gift_now(self, minute: float) -> None:
        room = self.room
        if not room.gifts or self.identity is None:
            return
        gift = room.gifts[0]
        price = int(gift["price"])
        if self.coins < price:
            self.coins = await room.api.top_up(self.identity, max(room.scenario.rates.topup_coins, price))
            if self.coins < price:
                return
            room.tally.add("topups", minute=minute)
        self.coins -= price
        ref = self._ref("gift", minute, price)
        op = {"op": "gift", "gift_id": int(gift["id"]), "count": 1, "key": str(uuid.uuid4()), "ref": ref}
        if not await self._send(op):
            self.pending.pop(ref, None)

    # ---- what the server says ----

    async def _read(self, ws: ClientConnection) -> None:
        with contextlib.suppress(websockets.exceptions.ConnectionClosed):
            async for raw in ws:
                text = raw if isinstance(raw, str) else raw.decode()
                if any(marker in text for marker in MARKERS):
                    for event in json.loads(text).get("events", []):
                        self._on_event(event)

    def _on_event(self, event: Json) -> None:
        kind, ref = event.get("type"), event.get("ref")
        if kind == "error" and isinstance(ref, str) and ref in self.pending:
            self._refused(ref, str(event.get("code")))
        elif kind == "chat_held" and ref in self.pending:
            _, minute, _ = self.pending.pop(ref)
            self.room.tally.add("chat", -1, minute=minute)
            self.room.tally.add("chat_held", minute=minute)
        elif kind == "gift_sent" and ref in self.pending:
            _, minute, coins = self.pending.pop(ref)
            self.coins = int(event.get("balance", self.coins))
            self.room.tally.add("gifts", minute=minute)
            self.room.tally.add("gift_coins", int(event.get("amount", coins)), minute=minute)
        elif kind == "pong":
            self.pong.set()
        elif kind == "product_pin":
            self._spawn(self._see(event["card"]))
        elif kind == "product_unpin":
            self.cards.pop(int(event.get("pin_id", 0)), None)
        elif kind == "community_card" and self.rng.random() < self.room.scenario.rates.join_prob:
            self._spawn(self._join(int(event["community"]["id"]), int(event["show_id"])))
        elif kind == "show" and event.get("status") == "ended":
            self.room.ended.set()

    def _refused(self, ref: str, code: str) -> None:
        what, minute, _ = self.pending.pop(ref)
        self.room.tally.error(code)
        if what == "chat":
            self.room.tally.add("chat", -1, minute=minute)
            self.room.tally.add("chat_rejected", minute=minute)
        else:
            self.room.tally.add(f"{what}_failed", minute=minute)

    def _spawn(self, work: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _settle(self, ws: ClientConnection) -> None:
        """Wait for the HTTP calls still running (each ends, at worst by its timeout: cutting
        one short would leave the server with an order the report does not know), then for
        the answers to the last socket ops (a ping is answered after them)."""
        while self.tasks:
            await asyncio.wait(set(self.tasks))
        self.pong.clear()
        if self.pending and await self._send({"op": "ping", "ref": "settle"}):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.pong.wait(), GRACE_SECONDS)
        for ref in list(self.pending):
            kind, minute, coins = self.pending.pop(ref)
            if kind == "gift":  # sent but never confirmed: not counted as a gift (the server may have it)
                self.room.tally.add("gift_unconfirmed", minute=minute)
                self.room.tally.add("gift_unconfirmed_coins", coins, minute=minute)
