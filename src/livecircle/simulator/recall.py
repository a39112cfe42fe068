"""The recall scenario's planted effect: after the show, each signed-in viewer waits for the
campaign to reach it, reads its inbox, and buys with one probability when the campaign's
message is there and another when it is not (the hold-out). What it did is reported, so a
test can hold the campaign report's arms and lift against the truth."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

from livecircle.simulator.api import Api, Identity, Json
from livecircle.simulator.scenario import Recall

PARALLEL = 8
POLL_SECONDS = 0.5
PAYMENT_WAIT_SECONDS = 15.0


class RecallError(RuntimeError):
    """The campaign cannot be read, or the show has nothing to buy."""


async def respond(
    api: Api,
    recall: Recall,
    *,
    campaign_id: int,
    operator_token: str,
    identities: list[Identity],
    sku_id: int,
    seed: int,
) -> dict[str, Any]:
    campaign = await api.campaign(campaign_id, operator_token)
    if campaign is None:
        raise RecallError(f"campaign {campaign_id} cannot be read with the operator token")
    titles = {str(step["title"]) for step in campaign["steps"] if step.get("type") == "message"}
    if not titles:
        raise RecallError(f"campaign {campaign_id} sends no inbox message for a viewer to read")
    reached_all = await _wait_for_passes(api, campaign_id, operator_token, len(identities), recall.wait_s)
    gate = asyncio.Semaphore(PARALLEL)

    unread: list[int] = []

    async def one(who: Identity, rng: random.Random) -> tuple[int, bool, int | None]:
        async with gate:
            inbox = await api.inbox(who)
            if inbox is None:
                unread.append(who.user_id)  # counted as not reached, and reported
            message = next((m for m in inbox or () if m["title"] in titles), None)
            reached = message is not None
            if message is not None and message.get("link"):
                await api.follow_link(str(message["link"]))
            chance = recall.reached_buy_prob if reached else recall.base_buy_prob
            order_id = await api.buy(who, sku_id) if rng.random() < chance else None
            return who.user_id, reached, order_id

    rng = random.Random(seed)  # one draw stream per viewer, in a fixed order: a rerun repeats it
    outcomes = await asyncio.gather(*(one(who, random.Random(rng.getrandbits(63))) for who in identities))
    orders = {user_id: order for user_id, _, order in outcomes if order is not None}
    paid = await _paid(api, {who.user_id: who for who in identities}, orders)
    return {
        "campaign_id": campaign_id,
        "passes_done": reached_all,
        "reached_user_ids": sorted(user_id for user_id, reached, _ in outcomes if reached),
        "not_reached_user_ids": sorted(user_id for user_id, reached, _ in outcomes if not reached),
        "bought_user_ids": sorted(paid),
        "inbox_unread_user_ids": sorted(unread),
    }


async def _wait_for_passes(api: Api, campaign_id: int, token: str, expected: int, wait_s: float) -> bool:
    """Until the campaign has enrolled ``expected`` viewers and its first step has dealt with
    each (sent, held out, or skipped), or ``wait_s`` passes: whether it got there."""
    deadline = time.monotonic() + wait_s
    while True:
        report = await api.campaign(campaign_id, token, part="/report")
        if report is not None and report["entrants"] >= expected:
            first: Json = report["steps"][0] if report["steps"] else {}
            if sum(first.get("counts", {}).values()) >= expected:
                return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(POLL_SECONDS)


async def _paid(api: Api, who: dict[int, Identity], orders: dict[int, int]) -> set[int]:
    """The buyers whose order the server holds as paid (the sandbox's callback settles it)."""
    deadline = time.monotonic() + PAYMENT_WAIT_SECONDS

    async def one(user_id: int, order_id: int) -> int | None:
        paid = await api.paid_order(who[user_id], order_id, until=deadline)
        return user_id if paid is not None else None

    done = await asyncio.gather(*(one(user_id, order_id) for user_id, order_id in orders.items()))
    return {user_id for user_id in done if user_id is not None}
