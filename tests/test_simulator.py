"""The audience simulator against a real server (SQLite and PostgreSQL): what it reports
sending is what the server stored; a planted dip really lowers chat in its window; the churn
history is accepted once; the ``livecircle simulate`` entry point runs."""

from __future__ import annotations

import ast
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from livecircle.identity.schemas import Role
from livecircle.kit.tracking import AnalyticsEvent
from livecircle.live.models import Follow
from livecircle.simulator import scenario as scenarios
from livecircle.simulator.run import Options, SimulationError, simulate
from tests.conftest import Account, RunningServer, make_account, make_room
from tests.room_kit import go_live

CLI = str(Path(sys.executable).with_name("livecircle"))
PACKAGE = Path(__file__).resolve().parents[1] / "src" / "livecircle" / "simulator"
BUSY = {  # rates high enough that 20 viewers do everything within 2 simulated minutes
    "name": "busy",
    "rates": {
        "chat_per_min": 1.0,
        "likes_per_min": 8.0,
        "shares_per_min": 0.5,
        "clicks_per_min": 1.5,
        "order_prob": 0.7,
        "pay_prob": 0.9,
        "pay_fail_prob": 0.2,
        "gifter_share": 0.4,
        "gifts_per_min": 1.5,
        "follow_prob": 0.6,
        "join_prob": 0.9,
        "anonymous_share": 0.25,
        "arrival_mean_min": 0.1,
        "stay_mean_min": 60,
    },
}

# The simulator is a client: what it drives is the same on either database. The heavier runs use
# SQLite only; the run that compares every total with the stored data runs on both.
ONE_BACKEND = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def seed() -> int:
    return uuid.uuid4().int % 10**9


async def live_show(
    server: RunningServer, client: httpx.AsyncClient, host: Account, *, pin: bool = False
) -> tuple[int, int]:
    """A live show of ``host``'s new room; with ``pin``, a product on sale pinned in it."""
    room = await make_room(client, host)
    show_id = await go_live(client, host, room["id"])
    if pin:
        operator = await make_account(server, role=Role.OPERATOR, name="运营")
        product = await client.post(
            "/api/v1/products",
            json={"name": "桂花乌龙茶", "skus": [{"name": "250g", "price_cents": 5900, "stock": 500}]},
            headers=operator.headers,
        )
        assert product.status_code == 201, product.text
        product_id = product.json()["id"]
        attached = await client.put(
            f"/api/v1/shows/{show_id}/products", json={"product_id": product_id}, headers=host.headers
        )
        assert attached.status_code == 204, attached.text
        pinned = await client.post(
            f"/api/v1/shows/{show_id}/pins", json={"product_id": product_id}, headers=host.headers
        )
        assert pinned.status_code == 201, pinned.text
    return room["id"], show_id


async def show_chat(client: httpx.AsyncClient, show_id: int) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    while True:
        after = lines[-1]["id"] if lines else 0
        page = (await client.get(f"/api/v1/shows/{show_id}/chat", params={"after_id": after})).json()
        if not page:
            return lines
        lines.extend(page)


async def eventually(check: Any, timeout: float = 5.0) -> Any:
    """Poll ``check()`` until it returns something true, or return its last answer."""
    deadline = time.monotonic() + timeout
    while True:
        answer = await check()
        if answer or time.monotonic() > deadline:
            return answer
        await asyncio.sleep(0.1)


async def test_what_the_simulator_reports_is_what_the_server_stored(
    server: RunningServer, client: httpx.AsyncClient, host: Account
) -> None:
    room_id, show_id = await live_show(server, client, host, pin=True)
    community = await client.post(
        "/api/v1/communities", json={"name": "茶友会", "room_id": room_id}, headers=host.headers
    )
    assert community.status_code == 201, community.text
    options = Options(
        base_url=server.base_url,
        show_id=show_id,
        viewers=20,
        minutes=2,
        speed=20,
        seed=seed(),
        scenario=scenarios.from_dict(BUSY),
    )
    running = asyncio.create_task(simulate(options))

    async def crowd() -> bool:
        seen = await client.get(f"/api/v1/rooms/{room_id}/viewers")
        return bool(seen.json()["sockets"] >= 10)

    assert await eventually(crowd, timeout=20)
    card = await client.post(f"/api/v1/communities/{community.json()['id']}/card", headers=host.headers)
    assert card.status_code == 200, card.text
    report = await running

    totals, ids = report["totals"], set(report["accounts"]["user_ids"])
    assert report["room_id"] == room_id
    assert totals["viewers"] == 20
    assert len(ids) == report["accounts"]["signed_in"] == 20 - report["accounts"]["anonymous"]
    for name in (
        "chat",
        "likes",
        "shares",
        "follows",
        "community_joins",
        "product_clicks",
        "orders",
        "gifts",
    ):
        assert totals[name] > 0, (name, totals, report["errors"], report["elapsed_s"], report["per_minute"])
    assert sum(row["chat"] for row in report["per_minute"]) == totals["chat"]

    lines = await show_chat(client, show_id)
    assert len([m for m in lines if m["user_id"] in ids]) == totals["chat"]
    shop_orders = (await client.get(f"/api/v1/shows/{show_id}/orders", headers=host.headers)).json()
    assert len(shop_orders) == totals["orders"]
    paid = [o for o in shop_orders if o["status"] == "paid"]
    assert (len(paid), sum(o["total_cents"] for o in paid)) == (totals["paid"], totals["paid_cents"])
    assert totals["paid"] > 0
    funnel = (await client.get(f"/api/v1/shows/{show_id}/funnel", headers=host.headers)).json()
    assert funnel["steps"]["click"] == totals["product_clicks"]
    ranking = (await client.get(f"/api/v1/rooms/{room_id}/contributors", params={"show_id": show_id})).json()
    # A gift whose answer had not come when its viewer left is reported apart: the server may
    # or may not have it (on a quiet machine there are none).
    unconfirmed = totals.get("gift_unconfirmed_coins", 0)
    assert totals["gift_coins"] <= sum(r["total"] for r in ranking) <= totals["gift_coins"] + unconfirmed
    joined = (await client.get(f"/api/v1/communities/{community.json()['id']}")).json()
    assert joined["member_count"] == 1 + totals["community_joins"]  # the owner and the joiners
    async with server.db.unit_of_work() as session:
        follows = await session.scalar(
            select(func.count()).select_from(Follow).where(Follow.host_id == host.user_id)
        )
        shares = await session.scalar(
            select(func.count())
            .select_from(AnalyticsEvent)
            .where(AnalyticsEvent.show_id == show_id, AnalyticsEvent.type == "share")
        )
    assert follows == totals["follows"]
    assert shares == totals["shares"], (report["totals"], report["errors"])

    async def likes_stored() -> bool:
        shows = (await client.get(f"/api/v1/rooms/{room_id}/shows")).json()
        return bool(shows[0]["like_count"] == totals["likes"])

    assert await eventually(likes_stored), totals["likes"]


@ONE_BACKEND
async def test_a_planted_dip_lowers_chat_in_its_window(
    server: RunningServer, client: httpx.AsyncClient, host: Account
) -> None:
    _, show_id = await live_show(server, client, host)
    dip = {
        "base": "dip",
        # A full stop: the simulator's own count in the window is then exactly 0, whatever the
        # seed (a 0.05 factor left ~1 expected line, and a Poisson tail of 5 failed a CI run).
        "dip": {"start_minute": 1, "minutes": 1, "factor": 0.0},
        "rates": {"chat_per_min": 1.0, "anonymous_share": 0, "arrival_mean_min": 0.05, "stay_mean_min": 600},
    }
    options = Options(
        base_url=server.base_url,
        show_id=show_id,
        viewers=20,
        minutes=3,
        speed=30,
        seed=seed(),
        scenario=scenarios.from_dict(dip),
    )
    report = await simulate(options)
    assert report["planted"]["dip"]["start_minute"] == 1

    started = datetime.fromisoformat(report["started_at"])
    per_minute = [0, 0, 0]
    for line in await show_chat(client, show_id):
        at = (datetime.fromisoformat(line["created_at"]) - started).total_seconds()
        minute = int(at / report["real_seconds_per_minute"])
        per_minute[min(minute, 2)] += 1
    sent = [row["chat"] for row in report["per_minute"][:3]]
    assert sum(per_minute) == sum(sent) == report["totals"]["chat"]
    outside = (per_minute[0] + per_minute[2]) / 2
    assert outside >= 8, per_minute
    assert per_minute[1] <= 0.3 * outside, (per_minute, sent)
    assert sent[1] == 0, sent


def test_scenarios_load_by_name_or_file_and_state_their_truth(tmp_path: Path) -> None:
    assert scenarios.load("steady").planted() == {}
    assert scenarios.load("dip").planted()["dip"]["start_minute"] == 10
    assert scenarios.load("churn").planted()["churn"]["quiet_days"] == 14
    path = tmp_path / "rehearsal.json"
    path.write_text(json.dumps({"base": "dip", "dip": {"start_minute": 4}, "rates": {"chat_per_min": 2}}))
    loaded = scenarios.load(str(path))
    assert (loaded.dip.start_minute if loaded.dip else None, loaded.dip and loaded.dip.minutes) == (4, 3)
    assert loaded.rates.chat_per_min == 2
    assert loaded.factor("chat", 5) == loaded.factor("likes", 6.9) == 0.07
    assert loaded.factor("gifts", 5) == loaded.factor("chat", 7) == 1.0
    path.write_text(json.dumps({"rates": {"chats": 2}}))
    with pytest.raises(scenarios.ScenarioError, match="chats"):
        scenarios.load(str(path))
    with pytest.raises(scenarios.ScenarioError, match="no scenario named"):
        scenarios.load("nope")


def test_the_simulator_is_a_client_only() -> None:
    """No import of the server's packages: it must work against a remote server."""
    for source in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert not name.startswith("livecircle") or name.startswith("livecircle.simulator"), (
                    source.name,
                    name,
                )


async def test_churn_needs_an_operator_token(server: RunningServer, host: Account) -> None:
    options = Options(
        base_url=server.base_url, show_id=1, viewers=1, minutes=0, scenario=scenarios.load("churn")
    )
    with pytest.raises(SimulationError, match="operator-token"):
        await simulate(options)


@ONE_BACKEND
async def test_the_cli_entry_point_drives_a_show(
    server: RunningServer, client: httpx.AsyncClient, host: Account, tmp_path: Path
) -> None:
    _, show_id = await live_show(server, client, host)
    chatty = tmp_path / "chatty.json"
    chatty.write_text(
        json.dumps({"rates": {"chat_per_min": 1.5, "anonymous_share": 0, "arrival_mean_min": 0.05}})
    )
    args = [CLI, "simulate", "--show", str(show_id), "--viewers", "4", "--minutes", "1", "--speed", "60"]
    args += ["--scenario", str(chatty), "--base-url", server.base_url, "--seed", str(seed()), "--json"]
    env = {**os.environ, "LIVECIRCLE_VAR_DIR": str(server.settings.var_dir)}
    done = await asyncio.to_thread(
        subprocess.run, args, capture_output=True, text=True, timeout=60, check=False, env=env
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["totals"]["viewers"] == 4
    assert report["totals"]["chat"] > 0
    lines = await show_chat(client, show_id)
    assert len(lines) == report["totals"]["chat"]
    text = await asyncio.to_thread(
        subprocess.run, [*args[:-1]], capture_output=True, text=True, timeout=60, check=False, env=env
    )
    assert text.returncode == 0, text.stderr
    assert "totals:" in text.stdout
    assert "minute" in text.stdout


@ONE_BACKEND
async def test_churn_history_is_stored_once_and_plants_its_cohort(
    server: RunningServer, client: httpx.AsyncClient, host: Account
) -> None:
    _, show_id = await live_show(server, client, host, pin=True)
    operator = await make_account(server, role=Role.OPERATOR, name="运营")
    options = Options(
        base_url=server.base_url,
        show_id=show_id,
        viewers=20,
        minutes=0,
        seed=seed(),
        scenario=scenarios.load("churn"),
        operator_token=operator.token,
    )
    first = await simulate(options)
    sent = first["history"]
    assert sent["accepted"] == sent["events"] > 20 * 10
    assert (sent["duplicates"], sent["failed"]) == (0, 0)
    users = set(first["accounts"]["user_ids"])
    cohort = set(first["planted"]["churn"]["cohort_user_ids"])
    assert cohort < users
    assert len(cohort) == round(len(users) * 0.3)

    again = await simulate(options)  # the same seed: the same accounts signed in, the same events
    assert set(again["accounts"]["user_ids"]) == users
    assert set(again["planted"]["churn"]["cohort_user_ids"]) == cohort
    assert (again["history"]["accepted"], again["history"]["duplicates"]) == (0, sent["events"])

    async with server.db.unit_of_work() as session:
        rows = (
            await session.execute(
                select(AnalyticsEvent.user_id, func.count(), func.max(AnalyticsEvent.ts))
                .where(AnalyticsEvent.event_id.like(f"import:sim:{options.seed}:%"))
                .group_by(AnalyticsEvent.user_id)
            )
        ).all()
    assert sum(count for _, count, _ in rows) == sent["events"]
    quiet_since = datetime.now(UTC) - timedelta(days=14)
    last_seen = {user_id: last for user_id, _, last in rows}
    assert set(last_seen) == users
    assert all(last_seen[u] < quiet_since for u in cohort)
    assert all(last_seen[u] >= quiet_since for u in users - cohort)
