"""Run-of-show scripts (issue 10 item 2), acceptance: a script drives a show the audience
simulator plays (SQLite, the embedded default):

- a timed step (T+1 simulated minute: pin a product) fires at its time, never before;
- a condition on online viewers (start a flash sale) fires once the audience crosses it;
- a condition "interaction rate < 0.3 over 5 s, held 2 s" (launch a poll) fires inside the
  dip the simulator plants, and not before it;
- a step the host skips never fires, though its timer job runs;
- each fires exactly once: the step rows, the tools' rows, the analytics log and the room's
  socket frames agree, and a rerun of a timer job changes nothing;
- every step, with its outcome, is in the post-show report.

Then the exactly-once guard under concurrency (PostgreSQL: timer jobs and the host's clicks at
once on one step), and the API: validation, permissions, templates, a closed script.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from livecircle.commerce.models import FlashSale, Pin
from livecircle.identity.schemas import Role
from livecircle.interaction.lotteries.models import Lottery
from livecircle.interaction.polls.models import Poll
from livecircle.interaction.runofshow import schemas as script_schemas
from livecircle.interaction.runofshow import service as runofshow
from livecircle.interaction.runofshow.actions import Limits
from livecircle.kit.tracking import AnalyticsEvent
from livecircle.simulator import scenario as scenarios
from livecircle.simulator.run import Options, simulate
from tests.conftest import Account, RunningServer, make_account, make_room
from tests.room_kit import go_live, sock, wait_for
from tests.test_report import _require_poppler, end_show, make_product, wait_report
from tests.test_simulator import seed

SECONDS_PER_MINUTE = 6  # speed 10: a simulated minute lasts 6 s
SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
POSTGRES = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
POLL = {
    "title": "冷场了，投个票",
    "questions": [{"text": "接下来看哪款？", "options": ["红茶", "绿茶"]}],
    "duration_s": 15,
}
LOTTERY = {"title": "收尾福袋", "prizes": [{"kind": "points", "name": "积分", "quantity": 1, "amount": 10}]}


async def scheduled_show(client: httpx.AsyncClient, host: Account, room_id: int, title: str) -> int:
    created = await client.post(f"/api/v1/rooms/{room_id}/shows", json={"title": title}, headers=host.headers)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


async def add_step(client: httpx.AsyncClient, host: Account, show_id: int, **spec: Any) -> dict[str, Any]:
    reply = await client.post(f"/api/v1/shows/{show_id}/script/steps", json=spec, headers=host.headers)
    assert reply.status_code == 201, reply.text
    step: dict[str, Any] = reply.json()
    return step


async def get_script(client: httpx.AsyncClient, account: Account, show_id: int) -> dict[str, Any]:
    reply = await client.get(f"/api/v1/shows/{show_id}/script", headers=account.headers)
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


async def product_on_show(client: httpx.AsyncClient, operator: Account, host: Account, show_id: int) -> int:
    """A product (one SKU, 10 in stock) on sale in the show; returns the product id."""
    product_id = await make_product(client, operator, "桂花乌龙茶")
    attached = await client.put(
        f"/api/v1/shows/{show_id}/products", json={"product_id": product_id}, headers=host.headers
    )
    assert attached.status_code == 204, attached.text
    return product_id


async def sku_of(client: httpx.AsyncClient, host: Account, show_id: int) -> int:
    offers = (await client.get(f"/api/v1/shows/{show_id}/products", headers=host.headers)).json()
    return int(offers[0]["offers"][0]["sku_id"])


async def collect(ws: ClientConnection, into: list[dict[str, Any]]) -> None:
    """Every event the room's socket sends, until it closes or the task is cancelled."""
    with contextlib.suppress(ConnectionClosed):
        while True:
            into.extend(orjson.loads(await ws.recv())["events"])


async def count(server: RunningServer, model: Any, *where: Any) -> int:
    async with server.db.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def show_events(server: RunningServer, show_id: int, kind: str) -> list[AnalyticsEvent]:
    async with server.db.sessionmaker() as session:
        rows = await session.scalars(
            select(AnalyticsEvent)
            .where(AnalyticsEvent.show_id == show_id, AnalyticsEvent.type == kind)
            .order_by(AnalyticsEvent.ts)
        )
        return list(rows)


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


@SQLITE
async def test_a_script_drives_a_simulated_show_each_step_once_and_into_the_report(
    server: RunningServer, client: httpx.AsyncClient, host: Account
) -> None:
    operator = await make_account(server, role=Role.OPERATOR, name="运营")
    room = await make_room(client, host, title="按脚本走的直播间")
    show_id = await scheduled_show(client, host, room["id"], "新品首发")
    product_id = await product_on_show(client, operator, host, show_id)
    sku_id = await sku_of(client, host, show_id)
    minute = SECONDS_PER_MINUTE
    pin = await add_step(
        client, host, show_id, label="开场挂商品", offset_s=minute, action="pin", target_id=product_id
    )
    crowd = await add_step(
        client, host, show_id, label="人多了开秒杀", kind="condition", metric="online", comparator=">=",
        threshold=12, action="flash_sale", target_id=sku_id, price_cents=4900, stock=5, duration_s=60,
    )  # fmt: skip
    dip = await add_step(
        client, host, show_id, label="冷场发投票", kind="condition", metric="interaction_rate",
        comparator="<", threshold=0.3, window_s=5, hold_s=2, offset_s=minute, action="poll", poll=POLL,
    )  # fmt: skip
    skipped = await add_step(client, host, show_id, offset_s=3 * minute, action="lottery", lottery=LOTTERY)
    planned = await get_script(client, host, show_id)
    assert [s["status"] for s in planned["steps"]] == ["pending"] * 4

    frames: list[dict[str, Any]] = []
    async with sock(server, room["id"]) as ws:
        listener = asyncio.create_task(collect(ws, frames))
        assert await go_live(client, host, room["id"]) == show_id  # the scheduled show goes live
        armed = await get_script(client, host, show_id)
        assert {s["id"]: s["status"] for s in armed["steps"]} == dict.fromkeys(
            (pin["id"], crowd["id"], dip["id"], skipped["id"]), "scheduled"
        )
        skip = await client.post(
            f"/api/v1/shows/{show_id}/script/steps/{skipped['id']}/skip", headers=host.headers
        )
        assert skip.status_code == 200, skip.text
        dipped = {
            "base": "dip",
            "dip": {"start_minute": 2, "minutes": 2, "factor": 0.01},
            "rates": {
                "chat_per_min": 1.5,
                "anonymous_share": 0,
                "arrival_mean_min": 0.3,
                "stay_mean_min": 600,
            },
        }
        options = Options(
            base_url=server.base_url,
            show_id=show_id,
            viewers=20,
            minutes=4,
            speed=60 / SECONDS_PER_MINUTE,
            seed=seed(),
            scenario=scenarios.from_dict(dipped),
        )
        report = await simulate(options)
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)

    steps = {s["id"]: s for s in (await get_script(client, host, show_id))["steps"]}
    started = at(armed["started_at"])
    # The timed step: at T+1 simulated minute, never before (the job runner looks every 0.5 s).
    fired_pin = steps[pin["id"]]
    assert (fired_pin["status"], fired_pin["fired_by"]) == ("fired", "timer"), fired_pin
    assert at(fired_pin["due_at"]) == started + timedelta(seconds=minute)
    assert 0 <= (at(fired_pin["fired_at"]) - at(fired_pin["due_at"])).total_seconds() <= 5
    # Online viewers: fired on a sample at or above the threshold, after the first such sample.
    samples = await show_events(server, show_id, "online_sample")
    crossed = next(s.ts for s in samples if (s.amount or 0) >= 12)
    fired_crowd = steps[crowd["id"]]
    assert (fired_crowd["status"], fired_crowd["fired_by"]) == ("fired", "condition"), fired_crowd
    assert fired_crowd["seen_value"] >= 12
    assert at(fired_crowd["fired_at"]) >= crossed
    # The dip: inside it, not before it (and not before its T+1 min either).
    dip_start = at(report["started_at"]) + timedelta(seconds=2 * minute)
    fired_dip = steps[dip["id"]]
    assert (fired_dip["status"], fired_dip["fired_by"]) == ("fired", "condition"), (
        fired_dip,
        samples[-1].amount,
    )
    assert fired_dip["seen_value"] < 0.3
    lead = (at(fired_dip["fired_at"]) - dip_start).total_seconds()
    assert 0 <= lead <= 2 * minute, lead
    assert steps[skipped["id"]]["status"] == "skipped"

    # Exactly once, in the rows the tools wrote ...
    assert await count(server, Pin, Pin.show_id == show_id) == 1
    assert await count(server, FlashSale, FlashSale.show_id == show_id) == 1
    assert await count(server, Poll, Poll.room_id == room["id"], Poll.status != "draft") == 1
    assert await count(server, Lottery, Lottery.room_id == room["id"]) == 0
    assert fired_pin["result"]["pin_id"]
    assert fired_crowd["result"]["sale_id"]
    # ... in the analytics log ...
    outcomes = {
        e.props["step_id"]: e.props["status"] for e in await show_events(server, show_id, "script_step")
    }
    assert outcomes == {
        pin["id"]: "fired",
        crowd["id"]: "fired",
        dip["id"]: "fired",
        skipped["id"]: "skipped",
    }
    for kind in ("product_pinned", "flash_sale", "poll_started"):
        assert len(await show_events(server, show_id, kind)) == 1, kind
    assert await show_events(server, show_id, "lottery_started") == []
    # ... and in what the room saw.
    kinds = [f["type"] for f in frames]
    assert (kinds.count("product_pin"), kinds.count("flash_sale")) == (1, 1), kinds
    assert [f["poll"]["id"] for f in frames if f["type"] == "poll" and f["poll"]["status"] == "open"][:1] == [
        fired_dip["result"]["poll_id"]
    ]
    assert not [k for k in kinds if k.startswith("lottery")]
    # A rerun of the timer job (a second node, a retry) fires nothing again.
    async with server.db.unit_of_work() as session:
        await runofshow.on_step_job(session, {"step_id": pin["id"], "show_id": show_id}, Limits(max_pins=3))
    assert await count(server, Pin, Pin.show_id == show_id) == 1

    await end_show(client, host, show_id)
    built = await wait_report(client, host, show_id, timeout=60)
    logged = {s["step_id"]: s for s in built["data"]["script"]}
    assert {i: s["status"] for i, s in logged.items()} == outcomes
    assert logged[dip["id"]]["fired_by"] == "condition"
    assert logged[dip["id"]]["value"] == fired_dip["seen_value"]
    assert logged[pin["id"]]["fired_minute"] == pytest.approx(
        (at(fired_pin["fired_at"]) - started).total_seconds() / 60, abs=0.01
    )
    page = await client.get(f"/shows/{show_id}/report", headers=host.headers)
    assert page.status_code == 200
    assert 'id="report-script"' in page.text
    for step_id, status in outcomes.items():
        assert f'data-step="{step_id}" data-status="{status}"' in page.text
    _require_poppler()
    pdf = await client.get(f"/shows/{show_id}/report.pdf", headers=host.headers)
    assert pdf.status_code == 200
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf.content, check=True, capture_output=True, timeout=60
    ).stdout.decode()
    assert "直播脚本" in text
    assert "开场挂商品" in text


@POSTGRES
async def test_a_step_fires_once_when_timer_jobs_and_host_clicks_race(
    server: RunningServer, client: httpx.AsyncClient, host: Account
) -> None:
    operator = await make_account(server, role=Role.OPERATOR, name="运营")
    room = await make_room(client, host)
    show_id = await scheduled_show(client, host, room["id"], "并发")
    product_id = await product_on_show(client, operator, host, show_id)
    await go_live(client, host, room["id"])
    step = await add_step(client, host, show_id, offset_s=3600, action="pin", target_id=product_id)
    assert step["status"] == "scheduled"
    limits = Limits(max_pins=server.settings.commerce.max_pins)
    payload = {"step_id": step["id"], "show_id": show_id}

    async def timer() -> bool:
        async with server.db.unit_of_work() as session:
            return (
                await runofshow.do_fire(session, step["id"], show_id=show_id, by="timer", limits=limits)
                is not None
            )

    async def click() -> bool:
        url = f"/api/v1/shows/{show_id}/script/steps/{step['id']}/fire"
        reply = await client.post(url, headers=host.headers)
        assert reply.status_code in (200, 409), reply.text
        return reply.status_code == 200

    won = await asyncio.gather(*(timer() for _ in range(4)), *(click() for _ in range(4)))
    assert sum(won) == 1, won
    assert await count(server, Pin, Pin.show_id == show_id) == 1
    assert len(await show_events(server, show_id, "script_step")) == 1
    settled = (await get_script(client, host, show_id))["steps"][0]
    assert settled["status"] == "fired"
    assert settled["fired_by"] in ("timer", "host")
    async with server.db.unit_of_work() as session:  # the job itself, rerun: nothing
        await runofshow.on_step_job(session, payload, limits)
    assert await count(server, Pin, Pin.show_id == show_id) == 1

    # A skip racing a fire: one of them wins, and a skipped step has made nothing.
    other = await add_step(client, host, show_id, offset_s=3600, action="pin", target_id=product_id)
    base = f"/api/v1/shows/{show_id}/script/steps/{other['id']}"
    replies = await asyncio.gather(
        client.post(f"{base}/skip", headers=host.headers), client.post(f"{base}/fire", headers=host.headers)
    )
    assert sorted(r.status_code for r in replies) == [200, 409], [r.text for r in replies]
    final = next(s for s in (await get_script(client, host, show_id))["steps"] if s["id"] == other["id"])
    pins = await count(server, Pin, Pin.show_id == show_id)
    assert (final["status"], pins) in (("skipped", 1), ("fired", 2)), (final, pins)


async def test_the_script_api_validates_scopes_and_keeps_templates(
    server: RunningServer, client: httpx.AsyncClient, host: Account, viewer: Account
) -> None:
    operator = await make_account(server, role=Role.OPERATOR, name="运营")
    room = await make_room(client, host)
    show_id = await scheduled_show(client, host, room["id"], "模板来源")
    product_id = await product_on_show(client, operator, host, show_id)
    url = f"/api/v1/shows/{show_id}/script"
    outsider = await make_account(server, role=Role.HOST, tenant=f"t{seed()}", name="别家主播")
    for who in (viewer, outsider):
        assert (await client.get(url, headers=who.headers)).status_code == 403
    assert (
        await client.post(f"{url}/steps", json={"action": "cue", "text": "hi"}, headers=viewer.headers)
    ).status_code == 403

    bad = [
        {"action": "pin"},  # no target
        {
            "action": "cue",
            "text": "x",
            "kind": "condition",
            "metric": "online",
            "comparator": ">=",
        },  # no threshold
        {
            "action": "cue",
            "text": "x",
            "kind": "condition",
            "metric": "mood",
            "comparator": ">",
            "threshold": 1,
        },
        {
            "action": "cue",
            "text": "x",
            "metric": "online",
            "comparator": ">",
            "threshold": 1,
        },  # timed with a metric
        {"action": "poll", "poll": POLL, "target_id": 1},  # a draft and a spec
        {"action": "flash_sale", "target_id": 1, "price_cents": 100},  # no stock, no duration
        {"action": "cue"},  # no text
        {"action": "launch_rocket"},
    ]
    for spec in bad:
        reply = await client.post(f"{url}/steps", json=spec, headers=host.headers)
        assert reply.status_code == 422, (spec, reply.text)
        assert reply.headers["content-type"].startswith("application/problem+json")
    other_product = await make_product(
        client, await make_account(server, role=Role.OPERATOR, tenant=outsider.tenant), "别家的茶"
    )
    foreign = await client.post(
        f"{url}/steps", json={"action": "pin", "target_id": other_product}, headers=host.headers
    )
    assert foreign.status_code == 404, foreign.text
    assert (await get_script(client, host, show_id))["steps"] == []  # nothing half-written

    await add_step(client, host, show_id, label="开场", offset_s=0, action="cue", text="欢迎大家")
    await add_step(client, host, show_id, offset_s=600, action="pin", target_id=product_id, countdown_s=5)
    await add_step(
        client, host, show_id, kind="condition", metric="likes_per_minute", comparator=">=", threshold=100,
        window_s=60, hold_s=10, action="poll", poll=POLL,
    )  # fmt: skip
    doomed = await add_step(client, host, show_id, offset_s=900, action="cue", text="删掉我")
    gone = await client.delete(f"{url}/steps/{doomed['id']}", headers=host.headers)
    assert gone.status_code == 204
    early = await client.post(
        f"{url}/steps/{(await get_script(client, host, show_id))['steps'][0]['id']}/fire",
        headers=host.headers,
    )
    assert (early.status_code, early.json()["code"]) == (409, "show_not_live")

    saved = await client.post(f"{url}/template", json={"name": "标准开场"}, headers=host.headers)
    assert saved.status_code == 201, saved.text
    template = saved.json()
    assert len(template["steps"]) == 3
    assert template["left_out"] == []
    again = await client.post(f"{url}/template", json={"name": "标准开场"}, headers=host.headers)
    assert (again.status_code, again.json()["code"]) == (409, "script_template_name_taken")
    listed = (await client.get("/api/v1/script-templates", headers=host.headers)).json()
    assert template["id"] in [t["id"] for t in listed]
    assert template["id"] not in [
        t["id"] for t in (await client.get("/api/v1/script-templates", headers=outsider.headers)).json()
    ]

    second = await scheduled_show(client, host, room["id"], "套用模板")
    applied = await client.post(
        f"/api/v1/shows/{second}/script/apply", json={"template_id": template["id"]}, headers=host.headers
    )
    assert applied.status_code == 200, applied.text
    copied = [s for s in applied.json()["steps"] if s["show_id"] == second]
    assert sorted((s["kind"], s["action"], s["offset_s"]) for s in copied) == [
        ("condition", "poll", 0),
        ("timed", "cue", 0),
        ("timed", "pin", 600),
    ]
    condition = next(s for s in copied if s["kind"] == "condition")
    assert (condition["metric"], condition["threshold"], condition["hold_s"]) == ("likes_per_minute", 100, 10)
    assert condition["params"]["poll"]["title"] == POLL["title"]
    outsider_show = await scheduled_show(client, outsider, (await make_room(client, outsider))["id"], "别家")
    stolen = await client.post(
        f"/api/v1/shows/{outsider_show}/script/apply",
        json={"template_id": template["id"]},
        headers=outsider.headers,
    )
    assert stolen.status_code == 404

    await end_show(client, host, second)
    closed = await client.post(
        f"/api/v1/shows/{second}/script/steps", json={"action": "cue", "text": "晚了"}, headers=host.headers
    )
    assert (closed.status_code, closed.json()["code"]) == (409, "script_closed")


async def test_a_step_pushes_the_rooms_community_card(
    server: RunningServer, client: httpx.AsyncClient, host: Account
) -> None:
    room = await make_room(client, host)
    elsewhere = await make_room(client, host)
    groups = []
    for where in (room, elsewhere):
        made = await client.post(
            "/api/v1/communities",
            json={"name": f"粉丝群{where['id']}", "room_id": where["id"]},
            headers=host.headers,
        )
        assert made.status_code == 201, made.text
        groups.append(made.json()["id"])
    show_id = await scheduled_show(client, host, room["id"], "社群")
    wrong = await client.post(
        f"/api/v1/shows/{show_id}/script/steps",
        json={"action": "community", "target_id": groups[1]},
        headers=host.headers,
    )
    assert (wrong.status_code, wrong.json()["code"]) == (422, "step_target_invalid")
    step = await add_step(client, host, show_id, offset_s=3600, action="community", target_id=groups[0])
    async with sock(server, room["id"]) as ws:
        await go_live(client, host, room["id"])
        fired = await client.post(
            f"/api/v1/shows/{show_id}/script/steps/{step['id']}/fire", headers=host.headers
        )
        assert fired.status_code == 200, fired.text
        assert (fired.json()["status"], fired.json()["result"]) == ("fired", {"community_id": groups[0]})
        card = await wait_for(ws, lambda e: e["type"] == "community_card", timeout=5)
    assert (card["community"]["id"], card["show_id"]) == (groups[0], show_id)


def test_condition_metrics_are_the_alert_window_metrics() -> None:
    from typing import get_args

    from livecircle.analytics.alerts.window import METRICS

    assert set(get_args(script_schemas.Metric)) == set(METRICS)
