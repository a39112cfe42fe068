"""The churn scenario's past: ``days`` of activity for the simulated accounts, uploaded
through the batch ingestion endpoint (``POST /api/v1/events``, operators may set ``ts`` and
``user_id``), since live actions always carry the server's own timestamps.

A planted cohort's activity fades and stops more than ``quiet_days`` before now; the others
stay active to the end. Event ids are derived from the seed, the account and the day, so a
rerun uploads the same events and the server stores each once.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from livecircle.simulator.api import Api, Json
from livecircle.simulator.scenario import Churn

BATCH = 500  # the endpoint's limit per call
PARALLEL_UPLOADS = 4
Action = tuple[str, int | None, dict[str, Any]]  # type, amount, props


@dataclass(slots=True)
class History:
    events: list[Json] = field(default_factory=list)
    cohort: list[int] = field(default_factory=list)  # the planted churners' user ids
    users: list[int] = field(default_factory=list)


def plan_history(
    churn: Churn,
    *,
    seed: int,
    user_ids: list[int],
    room_id: int,
    products: list[Json],
    now: datetime | None = None,
) -> History:
    """Every past event of every account, and which accounts churn."""
    today = (now or datetime.now(UTC)).replace(hour=0, minute=0, second=0, microsecond=0)
    picker = random.Random(f"{seed}:cohort")
    size = round(len(user_ids) * churn.cohort_share)
    cohort = set(picker.sample(sorted(user_ids), size)) if user_ids else set()
    history = History(cohort=sorted(cohort), users=sorted(user_ids))
    for user_id in sorted(user_ids):
        rng = random.Random(f"{seed}:{user_id}")
        last_active = _last_active_day(churn, rng) if user_id in cohort else 0
        base = rng.uniform(0.6, 1.6)  # some viewers are simply more active than others
        for ago in range(churn.days, last_active - 1, -1):
            if ago == 0:
                continue
            level = base * _fade(churn, ago, last_active) if user_id in cohort else base
            if rng.random() >= churn.active_day_prob * min(1.0, level):
                continue
            day = today - timedelta(days=ago)
            history.events.extend(
                _day(
                    rng,
                    seed=seed,
                    user_id=user_id,
                    ago=ago,
                    day=day,
                    room_id=room_id,
                    level=level,
                    churn=churn,
                    products=products,
                )
            )
    return history


def _last_active_day(churn: Churn, rng: random.Random) -> int:
    """Days ago of a churner's last possible activity: always before the quiet window, and
    spread over the two thirds of the past after it, so churners stop at different times (a
    model trained on an earlier cut-off sees some churn too)."""
    spread = max(1, (churn.days - churn.quiet_days) * 2 // 3)
    return min(churn.days, churn.quiet_days + 1 + rng.randrange(spread))


def _fade(churn: Churn, ago: int, last_active: int) -> float:
    """1 until a churner starts fading, then down to 0.2 on its last active day."""
    fade_days = max(1, (churn.days - last_active) // 2)
    into = last_active + fade_days - ago
    return 1.0 if into <= 0 else max(0.2, 1.0 - 0.8 * into / fade_days)


def _day(
    rng: random.Random,
    *,
    seed: int,
    user_id: int,
    ago: int,
    day: datetime,
    room_id: int,
    level: float,
    churn: Churn,
    products: list[Json],
) -> list[Json]:
    start = day + timedelta(seconds=rng.randrange(8 * 3600, 22 * 3600))
    watched = rng.randrange(120, 3600)
    events: list[Action] = [("view_start", None, {})]
    for _ in range(max(0, round(rng.expovariate(1 / max(churn.events_per_day * level, 0.1))))):
        events.extend(_action(rng, products))
    events.append(("view_end", watched, {}))
    rows = []
    for n, (kind, amount, props) in enumerate(events):
        at = start + timedelta(seconds=watched * n / max(1, len(events) - 1))
        rows.append(
            {
                "event_id": f"sim:{seed}:{user_id}:{ago}:{n}",
                "type": kind,
                "ts": at.isoformat().replace("+00:00", "Z"),
                "user_id": user_id,
                "room_id": room_id,
                "show_id": None,
                "amount": amount,
                "props": props,
            }
        )
    return rows


def _action(rng: random.Random, products: list[Json]) -> list[Action]:
    """One thing a viewer did while watching (an order is placed, then mostly paid),
    weighted like a live room."""
    roll = rng.random()
    if roll < 0.4 or (roll >= 0.86 and not products):
        return [("chat", None, {})]
    if roll < 0.7:
        return [("like", rng.randint(1, 30), {})]
    if roll < 0.78:
        return [("share", None, {"target": "room"})]
    if roll < 0.86:
        return [("gift", rng.choice((1, 10, 52)), {"count": 1})]
    product = rng.choice(products)
    offers = product.get("offers") or [{"price_cents": 1000}]
    props = {"product_id": int(product["product_id"])}
    if roll < 0.95:
        return [("product_click", None, props)]
    cents = int(offers[0]["price_cents"])
    placed: list[Action] = [("product_click", None, props), ("order_placed", cents, props)]
    return [*placed, ("order_paid", cents, props)] if rng.random() < 0.8 else placed


async def upload(api: Api, history: History, token: str) -> dict[str, int]:
    """Send the events in batches of ``BATCH``; the server's counts added up."""
    batches = [history.events[i : i + BATCH] for i in range(0, len(history.events), BATCH)]
    gate = asyncio.Semaphore(PARALLEL_UPLOADS)
    totals = {
        "events": len(history.events),
        "batches": len(batches),
        "accepted": 0,
        "duplicates": 0,
        "failed": 0,
    }

    async def send(batch: list[Json]) -> None:
        async with gate:
            answer = await api.ingest(batch, token)
        if answer is None:
            totals["failed"] += len(batch)
            return
        totals["accepted"] += int(answer.get("accepted", 0))
        totals["duplicates"] += int(answer.get("duplicates", 0))

    await asyncio.gather(*(send(b) for b in batches))
    return totals
