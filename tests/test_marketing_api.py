"""The campaigns API on both databases: operators of the tenant only, other tenants' ids are
404, bad definitions are 422 problems with nothing written; the churn-recall template end to
end on back-dated events; message links that count clicks without a session in them; opens;
and the migration that matches the models."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, func, select

from livecircle.commerce.models import Coupon
from livecircle.kit.db import Base
from livecircle.marketing import guards
from livecircle.marketing.models import Campaign
from livecircle.models_registry import load_all
from tests.conftest import RunningServer, make_account, migrate
from tests.test_marketing import (
    NOON,
    PROBLEM,
    create,
    driven_by_hand,  # noqa: F401 - the autouse fixture applies here too
    inbox_of,
    members,
    message,
    new_shop,
    plant,
    run,
    sends_of,
    template,
    watched,
)

TRIGGER = {"type": "event", "event": "view_start", "did": True, "days": 14}
MARKETING_TABLES = ("marketing_campaign", "marketing_enrolment", "marketing_send", "marketing_tag")


def test_the_migration_matches_the_models(tmp_path: Path) -> None:
    load_all()
    path = tmp_path / "schema.db"
    migrate(f"sqlite+aiosqlite:///{path}")
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert [d for d in diff if any(name in repr(d) for name in MARKETING_TABLES)] == []


async def test_only_the_tenants_operators_see_its_campaigns_and_bad_input_is_refused(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    shop, other = await new_shop(server), await new_shop(server)
    campaign = await create(client, shop, trigger=TRIGGER, steps=[message("你好")])
    path = f"/api/v1/campaigns/{campaign['id']}"
    member = await make_account(server, tenant=shop.slug, consents=())
    assert (await client.get("/api/v1/campaigns", headers=member.headers)).status_code == 403
    assert (await client.get("/api/v1/campaigns")).status_code == 401
    for method, url, body in (
        ("GET", path, None),
        ("PATCH", path, {"name": "改名"}),
        ("POST", f"{path}/status", {"status": "paused"}),
        ("GET", f"{path}/report", None),
    ):
        foreign = await client.request(method, url, json=body, headers=other.operator.headers)
        assert (foreign.status_code, foreign.json()["code"]) == (404, "campaign_not_found"), url
        assert foreign.headers["content-type"] == PROBLEM
    assert [
        c["id"] for c in (await client.get("/api/v1/campaigns", headers=other.operator.headers)).json()
    ] == []
    listed = (await client.get("/api/v1/campaigns", headers=shop.operator.headers)).json()
    assert [(c["id"], c["status"], c["entrants"]) for c in listed] == [(campaign["id"], "active", 0)]
    foreign_coupon = await template(other)
    bad_bodies = [
        {"trigger": TRIGGER, "steps": [message("a"), {"type": "branch", "events": ["chat"], "then": 0}]},
        {"trigger": {**TRIGGER, "event": "no_such_event"}, "steps": [message("a")]},
        {"trigger": TRIGGER, "steps": [message("a", link="https://evil.example/")]},
        {"trigger": TRIGGER, "steps": [{"type": "wait", "hours": 1}]},
        {"trigger": TRIGGER, "steps": [message("a")], "timezone": "Mars/Base"},
        {"trigger": TRIGGER, "steps": [message("a")], "holdout_percent": 90},
        {"trigger": {"type": "segment", "segment": "lifecycle", "value": "sleepy"}, "steps": [message("a")]},
    ]
    for body in bad_bodies:
        bad = await client.post(
            "/api/v1/campaigns", json={"name": "坏", **body}, headers=shop.operator.headers
        )
        assert (bad.status_code, bad.json()["code"]) == (422, "validation_error"), body
        assert bad.headers["content-type"] == PROBLEM
    stolen = {"name": "坏", "trigger": TRIGGER, "steps": [{"type": "coupon", "template_id": foreign_coupon}]}
    refused = await client.post("/api/v1/campaigns", json=stolen, headers=shop.operator.headers)
    assert (refused.status_code, refused.json()["code"]) == (404, "coupon_not_found")
    async with server.db.unit_of_work() as session:
        count = await session.scalar(
            select(func.count()).select_from(Campaign).where(Campaign.tenant_id == shop.tenant_id)
        )
    assert count == 1  # nothing half-written
    ended = await client.post(f"{path}/status", json={"status": "ended"}, headers=shop.operator.headers)
    assert ended.json()["status"] == "ended"
    again = await client.post(f"{path}/status", json={"status": "active"}, headers=shop.operator.headers)
    assert (again.status_code, again.json()["code"]) == (409, "campaign_not_editable")


async def test_churn_recall_reaches_the_silent_and_spares_who_came_back(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    shop = await new_shop(server)
    silent = await members(shop, 8)
    (active,) = await members(shop, 1)
    await plant(
        shop, watched(silent, NOON - timedelta(days=40)) + watched([active], NOON - timedelta(days=1))
    )
    coupon = await template(shop, valid_days=14)
    enabled = await client.post(
        "/api/v1/campaigns/churn-recall",
        json={"coupon_template_id": coupon, "email": False},
        headers=shop.operator.headers,
    )
    assert enabled.status_code == 201, enabled.text
    campaign = enabled.json()
    assert (campaign["status"], campaign["template"], campaign["holdout_percent"]) == (
        "active",
        "churn_recall",
        10,
    )
    assert [s["type"] for s in campaign["steps"]] == ["coupon", "message", "wait", "branch", "message"]
    await run(server, NOON)
    held = {u for u in silent if guards.in_holdout(campaign["id"], u, 10)}
    treated = [u for u in silent if u not in held]
    assert len(treated) >= 2  # 8 members at 10 %: all but a 1-in-a-million draw
    first_title = campaign["steps"][1]["title"]
    assert await inbox_of(server, campaign["id"]) == Counter({(u, first_title): 1 for u in treated})
    async with server.db.unit_of_work() as session:
        coupons = await session.scalars(select(Coupon.user_id).where(Coupon.template_id == coupon))
        assert sorted(coupons) == sorted(treated)
    returning, still_silent = treated[0], treated[1:]
    await plant(shop, watched([returning], NOON + timedelta(days=1)))
    await run(server, NOON + timedelta(days=3, minutes=1))
    reminder = campaign["steps"][4]["title"]
    assert await inbox_of(server, campaign["id"]) == Counter(
        {(u, first_title): 1 for u in treated} | {(u, reminder): 1 for u in still_silent}
    )
    statuses = {(s.user_id, s.step): s.status for s in await sends_of(server, campaign["id"])}
    assert statuses[(returning, 3)] == "taken"
    assert (returning, 4) not in statuses
    assert all(statuses[(u, 0)] == statuses[(u, 4)] == "holdout" for u in held)
    report = (
        await client.get(f"/api/v1/campaigns/{campaign['id']}/report", headers=shop.operator.headers)
    ).json()
    assert (report["entrants"], report["treatment"]["members"], report["holdout"]["members"]) == (
        8,
        len(treated),
        len(held),
    )
    assert report["steps"][0]["counts"] == {"sent": len(treated)} | ({"holdout": len(held)} if held else {})
    assert report["steps"][4]["counts"].get("sent") == len(still_silent)


async def test_a_message_link_counts_clicks_and_reads_count_as_opens(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    shop = await new_shop(server)
    reader = await make_account(server, tenant=shop.slug, consents=("marketing",))
    await plant(shop, watched([reader.user_id], NOON - timedelta(hours=1)))
    campaign = await create(client, shop, trigger=TRIGGER, steps=[message("新品", link="/rooms/1")])
    await run(server, NOON)
    inbox = (await client.get("/api/v1/me/inbox", headers=reader.headers)).json()["items"]
    (entry,) = [n for n in inbox if n["title"] == "新品"]
    assert entry["link"].startswith("/go/")
    assert "session" not in entry["link"]
    assert reader.token not in entry["link"]
    anonymous = httpx.AsyncClient(base_url=server.base_url, timeout=20)
    async with anonymous:
        followed = await anonymous.get(entry["link"])
        assert (followed.status_code, followed.headers["location"]) == (303, "/rooms/1")
        forged = await anonymous.get(entry["link"][:-2] + "xx")
        assert forged.status_code == 404
    read = await client.post(f"/api/v1/me/inbox/{entry['id']}/read", headers=reader.headers)
    assert read.status_code == 200
    report = (
        await client.get(f"/api/v1/campaigns/{campaign['id']}/report", headers=shop.operator.headers)
    ).json()
    figures = report["steps"][0]
    assert (figures["counts"], figures["opened"], figures["clicked"]) == ({"sent": 1}, 1, 1)
    (send,) = await sends_of(server, campaign["id"])
    assert (send.clicks, send.clicked_at is not None) == (1, True)
    summary: list[dict[str, Any]] = (
        await client.get("/api/v1/campaigns", headers=shop.operator.headers)
    ).json()
    assert (summary[0]["sent"], summary[0]["clicked"]) == (1, 1)


async def test_the_console_pages_list_edit_and_report(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    shop = await new_shop(server)
    member = await make_account(server, tenant=shop.slug, consents=())
    headers = shop.operator.headers
    for path in ("/console/campaigns", "/console/campaigns/new"):
        assert (await client.get(path, headers=headers)).status_code == 200, path
        assert (await client.get(path, headers=member.headers)).status_code == 403
        anonymous = await client.get(path)
        assert (anonymous.status_code, anonymous.headers["location"]) == (303, f"/login?next={path}")
    csrf = client.cookies["lc_csrf"]
    form = {
        "csrf_token": csrf,
        "name": "新客欢迎",
        "trigger_type": "event",
        "did": "true",
        "event": "signup",
        "days": "3",
        "steps-0-type": "message",
        "steps-0-title": "欢迎加入",
        "steps-0-link": "/rooms/1",
        "steps-0-email": "true",
        "steps-1-type": "wait",
        "steps-1-hours": "24",
        "steps-2-type": "branch",
        "steps-2-events": "order_paid, activity",
        "steps-2-then": "stop",
        "steps-3-type": "tag",
        "steps-3-tag": "待激活",
        "steps-4-type": "",
        "holdout_percent": "15",
        "quiet_start": "23",
        "quiet_end": "7",
    }
    created = await client.post("/console/campaigns", data=form, headers=headers)
    assert created.status_code == 303, created.text
    campaign_id = int(created.headers["location"].rsplit("/", 1)[1])
    stored = (await client.get(f"/api/v1/campaigns/{campaign_id}", headers=headers)).json()
    assert stored["trigger"] == {"type": "event", "event": "signup", "did": True, "days": 3}
    assert [s["type"] for s in stored["steps"]] == ["message", "wait", "branch", "tag"]
    assert stored["steps"][0]["email"] is True
    assert stored["steps"][2]["events"] == ["order_paid", "activity"]
    assert (stored["holdout_percent"], stored["quiet_start"], stored["quiet_end"]) == (15, 23, 7)
    bad = await client.post("/console/campaigns", data={**form, "steps-2-then": "0"}, headers=headers)
    assert bad.status_code == 422
    assert 'id="campaign-error"' in bad.text
    edit = await client.get(f"/console/campaigns/{campaign_id}", headers=headers)
    assert "欢迎加入" in edit.text
    renamed = await client.post(
        f"/console/campaigns/{campaign_id}", data={**form, "name": "新客欢迎二"}, headers=headers
    )
    assert renamed.status_code == 303
    # Every trigger the API knows can be chosen in the editor, the flash-sale miss too.
    missed = {**form, "name": "新客欢迎二", "trigger_type": "flash_sale_miss", "hours": "6"}
    resaved = await client.post(f"/console/campaigns/{campaign_id}", data=missed, headers=headers)
    assert resaved.status_code == 303, resaved.text
    stored = (await client.get(f"/api/v1/campaigns/{campaign_id}", headers=headers)).json()
    assert stored["trigger"] == {"type": "flash_sale_miss", "hours": 6}
    page = (await client.get(f"/console/campaigns/{campaign_id}", headers=headers)).text
    assert 'value="flash_sale_miss" checked' in page
    enabled = await client.post(
        "/console/campaigns/churn-recall", data={"csrf_token": csrf, "email": "true"}, headers=headers
    )
    assert enabled.status_code == 303
    assert (await client.get(enabled.headers["location"], headers=headers)).status_code == 200
    listed = await client.get("/console/campaigns", headers=headers, params={"lang": "en"})
    assert "新客欢迎二" in listed.text
    assert listed.text.count('class="report-link"') == 2
    report_page = await client.get(f"/console/campaigns/{campaign_id}/report", headers=headers)
    assert report_page.status_code == 200
    assert 'id="report-steps"' in report_page.text
    foreign = await new_shop(server)
    other = await client.get(f"/console/campaigns/{campaign_id}/report", headers=foreign.operator.headers)
    assert other.status_code == 404
