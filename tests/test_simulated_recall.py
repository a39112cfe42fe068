"""Issue 10's acceptance, "a planted effect in the simulator is detected": the simulator's
recall scenario makes viewers the campaign reached buy more often than its hold-out, through
the real inbox, click link, order and sandbox payment; the campaign report finds exactly those
buyers in each arm and a lift whose confidence interval excludes zero."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from livecircle.identity.schemas import Role
from livecircle.kit.clock import utcnow
from livecircle.marketing import guards
from livecircle.marketing.models import Send
from livecircle.marketing.tasks import Marketing
from livecircle.simulator import scenario as scenarios
from livecircle.simulator.run import Options, SimulationError, simulate
from tests.conftest import RunningServer, make_account, make_room
from tests.room_kit import go_live

ONE_BACKEND = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
RECALL_SEED = 20261127  # one planted world: the same buyers every run
HOLDOUT_PERCENT = 40
VIEWERS = 150  # with the rates below, about 15 hold-out buyers: enough for the normal approximation


async def passes(server: RunningServer) -> None:
    """The scheduler's pass every second (the server's own tick is once a minute)."""
    marketing: Marketing = server.app.state.marketing
    while True:
        await server.app.state.analytics.sync()
        await marketing.scheduler.run_pass(utcnow())
        await asyncio.sleep(1)


async def what_the_campaign_did(
    server: RunningServer, campaign_id: int, users: set[int], report: dict[str, Any]
) -> str:
    """For a failure: the campaign's sends to ``users`` and the simulator's errors."""
    async with server.db.unit_of_work() as session:
        rows = await session.execute(
            select(Send.user_id, Send.step, Send.status, Send.detail, Send.created_at).where(
                Send.campaign_id == campaign_id, Send.user_id.in_(users)
            )
        )
        sends = [tuple(str(value) for value in row) for row in rows]
    return f"sends to {sorted(users)}: {sends}; simulator errors: {report.get('errors')}"


@ONE_BACKEND
async def test_a_recall_effect_planted_in_the_simulator_is_found_by_the_campaign_report(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    tenant = f"recall-{uuid.uuid4().hex[:8]}"
    host = await make_account(server, role=Role.HOST, tenant=tenant, name="主播")
    operator = await make_account(server, role=Role.OPERATOR, tenant=tenant, name="运营", consents=())
    room = await make_room(client, host, title="回访直播间")
    show_id = await go_live(client, host, room["id"])
    product = await client.post(
        "/api/v1/products",
        json={"name": "龙井新茶", "skus": [{"name": "100g", "price_cents": 3900, "stock": 1000}]},
        headers=operator.headers,
    )
    assert product.status_code == 201, product.text
    attached = await client.put(
        f"/api/v1/shows/{show_id}/products", json={"product_id": product.json()["id"]}, headers=host.headers
    )
    assert attached.status_code == 204, attached.text
    campaign = await client.post(
        "/api/v1/campaigns",
        json={
            "name": "看过直播的回访",
            "trigger": {"type": "event", "event": "view_start", "did": True, "days": 1},
            "steps": [{"type": "message", "title": "新茶到了 New tea is in", "link": f"/rooms/{room['id']}"}],
            "holdout_percent": HOLDOUT_PERCENT,
            "quiet_start": 0,
            "quiet_end": 0,  # no quiet hours: the test runs at any time of day
        },
        headers=operator.headers,
    )
    assert campaign.status_code == 201, campaign.text
    campaign_id = campaign.json()["id"]
    on = await client.post(
        f"/api/v1/campaigns/{campaign_id}/status", json={"status": "active"}, headers=operator.headers
    )
    assert on.status_code == 200, on.text

    quiet_show = {"anonymous_share": 0, "clicks_per_min": 0, "gifter_share": 0, "chat_per_min": 0.2}
    options = Options(
        base_url=server.base_url,
        show_id=show_id,
        viewers=VIEWERS,
        minutes=1,
        speed=12,
        seed=RECALL_SEED,
        scenario=scenarios.from_dict(
            {
                "base": "recall",
                "rates": quiet_show,
                "recall": {"reached_buy_prob": 0.6, "base_buy_prob": 0.25},
            }
        ),
        operator_token=operator.token,
        campaign_id=campaign_id,
        tenant=tenant,
    )
    ticking = asyncio.create_task(passes(server))
    try:
        report = await simulate(options)
    finally:
        ticking.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticking

    truth = report["recall"]
    assert truth["passes_done"], report["errors"]
    users = set(report["accounts"]["user_ids"])
    reached, missed = set(truth["reached_user_ids"]), set(truth["not_reached_user_ids"])
    bought = set(truth["bought_user_ids"])
    assert len(users) == VIEWERS
    assert reached | missed == users
    assert not reached & missed
    assert (truth["consent_not_given"], truth["inbox_unread_user_ids"]) == (0, []), report["errors"]
    # Whom the campaign did not reach is exactly its hold-out (every viewer gave consent).
    holdout = {u for u in users if guards.in_holdout(campaign_id, u, HOLDOUT_PERCENT)}
    assert missed == holdout, await what_the_campaign_did(server, campaign_id, missed ^ holdout, report)

    body = (await client.get(f"/api/v1/campaigns/{campaign_id}/report", headers=operator.headers)).json()
    assert body["entrants"] == VIEWERS
    assert (body["treatment"]["members"], body["treatment"]["converted"]) == (
        len(reached),
        len(bought & reached),
    )
    assert (body["holdout"]["members"], body["holdout"]["converted"]) == (len(missed), len(bought & missed))
    assert body["steps"][0]["clicked"] == len(reached)  # each reached viewer followed the link
    lift = body["lift"]
    observed = len(bought & reached) / len(reached) - len(bought & missed) / len(missed)
    assert lift["difference"] == pytest.approx(observed)
    assert 0 < lift["ci_low"] < observed < lift["ci_high"]
    assert lift["significant"] is True


async def test_the_recall_scenario_needs_its_campaign() -> None:
    options = Options(
        base_url="http://127.0.0.1:9", show_id=1, viewers=1, minutes=0, scenario=scenarios.load("recall")
    )
    with pytest.raises(SimulationError, match="--campaign"):
        await simulate(options)
