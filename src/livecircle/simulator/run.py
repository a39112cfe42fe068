"""A whole simulated audience: accounts, arrivals, the stay of every viewer, the planted
history, and the report of what the server accepted."""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from dataclasses import dataclass
from typing import Any

import httpx

from livecircle.simulator import history as past
from livecircle.simulator import recall as recall_phase
from livecircle.simulator.api import Api, Identity
from livecircle.simulator.scenario import Scenario
from livecircle.simulator.tally import Clock, Tally
from livecircle.simulator.viewer import Plan, Room, Viewer

PARALLEL_SIGNUPS = 4
PAYMENT_WAIT_SECONDS = 10.0
REPORTED = ("viewers", "chat", "likes", "shares", "follows", "community_joins", "product_clicks")
REPORTED_MONEY = ("orders", "order_cents", "paid", "paid_cents", "gifts", "gift_coins")


class SimulationError(RuntimeError):
    """The run cannot start (no such show, no operator token for history, ...)."""


@dataclass(frozen=True, slots=True)
class Options:
    base_url: str
    show_id: int
    viewers: int
    minutes: float
    scenario: Scenario
    speed: float = 1.0
    seed: int = 1
    operator_token: str | None = None
    room_id: int | None = None
    tenant: str | None = None
    campaign_id: int | None = None  # the recall scenario's campaign


def password_for(seed: int) -> str:
    """The simulated accounts' password: strong, and the same on a rerun with the same seed
    (so a rerun signs the same accounts in instead of failing on taken e-mails)."""
    digest = hashlib.sha256(f"livecircle-simulator:{seed}".encode()).hexdigest()
    return f"Sim-{digest[:20]}!"


def make_plans(options: Options) -> list[Plan]:
    """Arrivals (exponential: most in the first minutes), stays, who is anonymous or gifts."""
    rates, rng = options.scenario.rates, random.Random(options.seed)
    mean_arrival = rates.arrival_mean_min or max(options.minutes / 4, 0.01)
    plans = []
    for index in range(options.viewers):
        arrive = rng.expovariate(1 / mean_arrival)
        while options.minutes > 0 and arrive >= options.minutes * 0.9:  # time to do something
            arrive = rng.expovariate(1 / mean_arrival)
        leave = min(options.minutes, arrive + rng.expovariate(1 / max(rates.stay_mean_min, 0.01)))
        anonymous = rng.random() < rates.anonymous_share
        follows = not anonymous and rng.random() < rates.follow_prob
        plans.append(
            Plan(
                index=index,
                arrive_min=arrive,
                leave_min=leave,
                anonymous=anonymous,
                gifter=not anonymous and rng.random() < rates.gifter_share,
                follow_min=rng.uniform(arrive, leave) if follows else None,
                seed=rng.getrandbits(63),
            )
        )
    return plans


async def sign_up_all(api: Api, options: Options, plans: list[Plan]) -> dict[int, Identity]:
    gate = asyncio.Semaphore(PARALLEL_SIGNUPS)
    password = password_for(options.seed)

    async def one(plan: Plan) -> tuple[int, Identity | None]:
        email = f"sim-{options.seed}-{plan.index}@example.com"
        name = f"模拟观众{plan.index}" if plan.index % 2 else f"sim viewer {plan.index}"
        async with gate:
            return plan.index, await api.sign_up(
                email, password, name, tenant=options.tenant, device=plan.device
            )

    done = await asyncio.gather(*(one(p) for p in plans if not p.anonymous))
    return {index: who for index, who in done if who is not None}


async def simulate(options: Options) -> dict[str, Any]:
    """Run the audience against ``options.base_url`` and report what the server accepted."""
    if options.viewers < 0 or options.minutes < 0 or options.speed <= 0:
        raise SimulationError("viewers and minutes must be >= 0 and speed > 0")
    scenario = options.scenario
    if scenario.churn is not None and not options.operator_token:
        raise SimulationError("the churn scenario uploads history: pass --operator-token")
    if scenario.recall is not None and not (options.operator_token and options.campaign_id):
        raise SimulationError("the recall scenario answers a campaign: pass --campaign and --operator-token")
    began = time.monotonic()
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=100)
    async with httpx.AsyncClient(base_url=options.base_url, timeout=30, limits=limits) as http:
        tally = Tally(Clock(options.speed))
        api = Api(http, tally)
        plans = make_plans(options)
        identities = await sign_up_all(api, options, plans)
        anyone = next(iter(identities.values()), None)
        room_id = options.room_id or await api.room_of_show(options.show_id, anyone)
        if room_id is None:
            problems = dict(tally.errors) or "none"
            raise SimulationError(
                f"show {options.show_id} is in no room this client can see (refused: {problems})"
            )
        report: dict[str, Any] = {"planted": scenario.planted()}
        if scenario.churn is not None:
            report["history"] = await _history(api, options, scenario, room_id, identities, anyone)
            report["planted"]["churn"]["cohort_user_ids"] = report["history"]["cohort_user_ids"]
        gifts = await api.coin_gifts(anyone) if any(p.gifter for p in plans) and anyone else []
        tally.clock = Clock(options.speed)
        room = Room(api, tally, tally.clock, scenario, _ws(options.base_url), room_id, options.show_id)
        room.gifts = gifts
        refused = 0
        if scenario.recall is not None:  # before the show: a campaign may only write to those who agreed
            agreed = await asyncio.gather(*(api.agree_to_marketing(who) for who in identities.values()))
            refused = agreed.count(False)
        if options.minutes > 0:
            await asyncio.gather(*(Viewer(room, p, identities.get(p.index)).run() for p in plans))
            await _confirm_payments(api, room)
        if scenario.recall is not None:
            recall = await _recall(api, options, scenario, identities, anyone)
            report["recall"] = {**recall, "consent_not_given": refused}
    return _report(options, report, tally, identities, plans, room_id, time.monotonic() - began)


async def _history(
    api: Api,
    options: Options,
    scenario: Scenario,
    room_id: int,
    identities: dict[int, Identity],
    anyone: Identity | None,
) -> dict[str, Any]:
    assert scenario.churn is not None
    assert options.operator_token
    products = await api.show_products(options.show_id, anyone)
    user_ids = [who.user_id for who in identities.values()]
    planned = past.plan_history(
        scenario.churn, seed=options.seed, user_ids=user_ids, room_id=room_id, products=products
    )
    sent = await past.upload(api, planned, options.operator_token)
    return {**sent, "users": len(planned.users), "cohort_user_ids": planned.cohort}


async def _recall(
    api: Api, options: Options, scenario: Scenario, identities: dict[int, Identity], anyone: Identity | None
) -> dict[str, Any]:
    assert scenario.recall is not None
    assert options.campaign_id
    assert options.operator_token
    products = await api.show_products(options.show_id, anyone)
    offers = [offer for product in products for offer in product["offers"] if offer["stock"] > 0]
    if not offers:
        raise SimulationError(f"show {options.show_id} has nothing in stock for the recalled viewers to buy")
    return await recall_phase.respond(
        api,
        scenario.recall,
        campaign_id=options.campaign_id,
        operator_token=options.operator_token,
        identities=[identities[index] for index in sorted(identities)],
        sku_id=int(offers[0]["sku_id"]),
        seed=options.seed,
    )


async def _confirm_payments(api: Api, room: Room) -> None:
    """An order counts as paid once the server says so (the sandbox's callback settles it)."""
    deadline = time.monotonic() + PAYMENT_WAIT_SECONDS

    async def one(who: Identity, order_id: int, minute: float, expected: bool) -> None:
        order = await api.paid_order(who, order_id, until=deadline, wait=expected)
        if order is not None:
            room.tally.add("paid", minute=minute)
            room.tally.add("paid_cents", int(order["total_cents"]), minute=minute)

    # A failing payment is left to settle for a moment before its order is looked at.
    await asyncio.sleep(0.3 if any(not ok for *_, ok in room.orders) else 0)
    await asyncio.gather(*(one(*entry) for entry in room.orders))


def _ws(base_url: str) -> str:
    return "ws" + base_url.rstrip("/").removeprefix("http")


def _report(
    options: Options,
    report: dict[str, Any],
    tally: Tally,
    identities: dict[int, Identity],
    plans: list[Plan],
    room_id: int,
    elapsed: float,
) -> dict[str, Any]:
    counted = tally.report(max(1, int(options.minutes + 0.999)))
    totals = dict.fromkeys((*REPORTED, *REPORTED_MONEY), 0)
    totals.update(counted["totals"])
    totals["viewers"] = totals.pop("arrivals", 0)
    return {
        "show_id": options.show_id,
        "room_id": room_id,
        "scenario": options.scenario.as_dict(),
        "seed": options.seed,
        "speed": options.speed,
        "minutes": options.minutes,
        "viewers": options.viewers,
        "started_at": tally.clock.started_at.isoformat(),
        "real_seconds_per_minute": tally.clock.real_seconds(1),
        "elapsed_s": round(elapsed, 3),
        "accounts": {
            "signed_in": len(identities),
            "anonymous": sum(1 for p in plans if p.anonymous),
            "user_ids": sorted(who.user_id for who in identities.values()),
        },
        **report,
        "totals": totals,
        "per_minute": counted["per_minute"],
        "errors": counted["errors"],
    }
