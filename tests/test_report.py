"""Post-show reports through the running server, on both databases: a show with planted events
ends through the API, its report is built by the durable job, and every figure equals what
the planted events give by hand; the PDF has Chinese text and real pages; the page, CSV and
authorisation work."""

from __future__ import annotations

import asyncio
import csv
import io
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import update

from livecircle.analytics.report.formulas import INFLUENCE_WEIGHTS, VALUE_WEIGHTS
from livecircle.identity.schemas import Role
from livecircle.kit.clock import utcnow
from livecircle.kit.tracking import event_row, insert_rows
from livecircle.live.models import Show
from tests import services
from tests.conftest import Account, RunningServer, make_account, make_room
from tests.room_kit import go_live

TITLE = "美妆专场：秋冬新品发布"
HEADINGS = (
    "直播复盘报告",
    "观看人数曲线",
    "互动峰值",
    "转化漏斗",
    "热销商品",
    "用户分层",
    "模型公式",
    "目标达成",
)
SHOW_MINUTES = 30


@dataclass
class Scenario:
    host: Account
    operator: Account
    viewers: list[Account]
    anon: str
    room_id: int
    tenant_id: int
    first_show: int
    show_id: int
    products: list[int]
    report: dict[str, Any]
    first_report: dict[str, Any]


async def wait_report(
    client: httpx.AsyncClient, account: Account, show_id: int, timeout: float = 30
) -> dict[str, Any]:
    """Poll until the job has built the show's report."""
    deadline = time.monotonic() + timeout
    while True:
        response = await client.get(f"/api/v1/shows/{show_id}/report", headers=account.headers)
        if response.status_code == 200:
            body: dict[str, Any] = response.json()
            return body
        assert response.status_code == 404, response.text
        assert time.monotonic() < deadline, f"no report for show {show_id} within {timeout} s"
        await asyncio.sleep(0.2)


async def start_show(
    server: RunningServer, client: httpx.AsyncClient, host: Account, room_id: int, title: str
) -> tuple[int, datetime]:
    """A show of ``title`` live now, whose start is moved ``SHOW_MINUTES`` back so planted
    events fit between its start and its end."""
    created = await client.post(f"/api/v1/rooms/{room_id}/shows", json={"title": title}, headers=host.headers)
    assert created.status_code == 201, created.text
    show_id = await go_live(client, host, room_id)
    assert show_id == created.json()["id"]
    started = utcnow() - timedelta(minutes=SHOW_MINUTES)
    async with server.db.unit_of_work() as session:
        await session.execute(update(Show).where(Show.id == show_id).values(started_at=started))
    return show_id, started


async def plant(server: RunningServer, rows: list[dict[str, Any]]) -> None:
    async with server.db.unit_of_work() as session:
        await insert_rows(session, rows)


async def end_show(client: httpx.AsyncClient, host: Account, show_id: int) -> None:
    ended = await client.post(f"/api/v1/shows/{show_id}/end", headers=host.headers)
    assert ended.status_code in (200, 204), ended.text


async def make_product(client: httpx.AsyncClient, operator: Account, name: str) -> int:
    body = {"name": name, "skus": [{"name": "标准装", "price_cents": 9900, "stock": 10}]}
    response = await client.post("/api/v1/products", json=body, headers=operator.headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def planted_show(
    start: datetime,
    *,
    tenant_id: int,
    room_id: int,
    show_id: int,
    users: list[int],
    anon: str,
    products: list[int],
) -> list[dict[str, Any]]:
    """The main show's events (the golden data; expected figures in the tests below)."""
    u1, u2, u3, u4 = users
    p1, p2 = products
    rows: list[dict[str, Any]] = []

    def ev(kind: str, minute: int, **fields: Any) -> None:
        ts = start + timedelta(minutes=minute, seconds=5)
        rows.append(event_row(kind, tenant_id=tenant_id, room_id=room_id, show_id=show_id, ts=ts, **fields))

    for user in users:
        ev("view_start", 0, user_id=user, props={"session": uuid.uuid4().hex})
    ev("view_start", 2, anon_id=anon, props={"session": uuid.uuid4().hex})
    ev("view_start", 4, user_id=u1, props={"session": uuid.uuid4().hex})  # a second viewing: still one viewer
    for minute, online in ((0, 1), (1, 3), (2, 4), (10, 2)):
        ev("online_sample", minute, amount=online)
    for _ in range(3):
        ev("chat", 5, user_id=u1)
    ev("chat", 5, user_id=u2)
    ev("chat", 12, user_id=u3)
    ev("like", 3, user_id=u1, amount=10)
    ev("like", 12, anon_id=anon, amount=5)
    ev("share", 12, user_id=u2)
    ev("gift", 8, user_id=u1, amount=40, props={"gift_id": 1, "count": 4, "currency": "coin"})
    ev("gift", 15, user_id=u3, amount=10, props={"gift_id": 1, "count": 1, "currency": "coin"})
    ev("poll_started", 2, props={"poll_id": 1})
    ev("product_pinned", 11, props={"pin_id": 1, "product_id": p1})
    ev("coupon_drop", 20, props={"template_id": 1})
    for user, product, minute in ((u1, p1, 11), (u2, p1, 11), (u3, p2, 13), (u1, p2, 13)):
        ev("product_click", minute, user_id=user, props={"product_id": product})
    orders = ((u1, p1, 1, 14, 9900), (u2, p1, 2, 16, 9900), (u1, p2, 3, 17, 5000), (u4, p2, 4, 18, 5000))
    base = show_id * 100
    for user, product, order, minute, cents in orders:
        ev(
            "order_placed",
            minute,
            user_id=user,
            amount=cents,
            props={"order_id": base + order, "product_id": product},
        )
    for user, order, minute, cents in ((u1, 1, 15, 9900), (u1, 3, 18, 5000), (u4, 4, 19, 5000)):
        ev("order_paid", minute, user_id=user, amount=cents, props={"order_id": base + order})
    ev("follow", 6, user_id=u3, props={"host_id": 0})
    ev("follow", 7, user_id=u4, props={"host_id": 0})
    ev("community_join", 9, user_id=u2, props={"community_id": 1, "source": "room"})
    return rows


@pytest.fixture(scope="module")
async def scenario(server: RunningServer) -> AsyncIterator[Scenario]:
    """The host's first show (2 viewers, 1 chat line), then the main show with targets."""
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        host = await make_account(server, role=Role.HOST, name="主播小美")
        operator = await make_account(server, role=Role.OPERATOR, name="运营")
        viewers = [await make_account(server, name=f"观众{i}") for i in range(4)]
        users = [v.user_id for v in viewers]
        room = await make_room(client, host, title="小美的美妆间")
        room_id, tenant_id = room["id"], room["tenant_id"]
        products = [await make_product(client, operator, n) for n in ("玫瑰精华面霜", "保湿喷雾")]
        anon = f"anon-{uuid.uuid4().hex[:12]}"

        first, start = await start_show(server, client, host, room_id, "第一场：试播")
        ids = {"tenant_id": tenant_id, "room_id": room_id, "show_id": first}
        await plant(
            server,
            [
                event_row("view_start", user_id=users[0], ts=start + timedelta(minutes=1), **ids),
                event_row("view_start", user_id=users[1], ts=start + timedelta(minutes=1), **ids),
                event_row("chat", user_id=users[0], ts=start + timedelta(minutes=2), **ids),
            ],
        )
        await end_show(client, host, first)
        first_report = await wait_report(client, host, first)

        show_id, start = await start_show(server, client, host, room_id, TITLE)
        rows = planted_show(
            start,
            tenant_id=tenant_id,
            room_id=room_id,
            show_id=show_id,
            users=users,
            anon=anon,
            products=products,
        )
        await plant(server, rows)
        targets = {"targets": {"viewers": 10, "orders": 2}}
        put = await client.put(f"/api/v1/shows/{show_id}/targets", json=targets, headers=host.headers)
        assert put.status_code == 200, put.text
        await end_show(client, host, show_id)
        report = await wait_report(client, host, show_id)
        yield Scenario(
            host, operator, viewers, anon, room_id, tenant_id, first, show_id, products, report, first_report
        )


async def test_the_report_is_built_when_the_show_ends_with_hand_computed_figures(scenario: Scenario) -> None:
    data = scenario.report["data"]
    assert data["show"]["title"] == TITLE
    assert data["show"]["host_name"] == "主播小美"
    f = data["figures"]
    expected = {
        "viewers": 5,
        "comments": 5,
        "likes": 2,
        "like_taps": 15,
        "shares": 1,
        "gifts": 5,
        "gift_coins": 50,
        "product_clicks": 4,
        "orders": 4,
        "gmv_cents": 29800,
        "paid_orders": 3,
        "paid_cents": 19900,
        "new_followers": 2,
        "new_members": 1,
        "peak": 4,
    }
    assert {k: f[k] for k in expected} == expected
    assert data["growth"] == {"new_followers": 2, "new_members": 1}

    # Viewer curve: the planted samples (a real sample taken while live may follow them).
    planted = [p for p in data["curve"]["points"] if p[0] < (SHOW_MINUTES - 1) * 60]
    assert planted == [[5, 1], [65, 3], [125, 4], [605, 2]]
    assert data["curve"]["unique_viewers"] == 5
    assert data["curve"]["peak"] == 4

    # Interaction per minute and its peaks: minute 3 (10 taps), 12 (7), 8 (4 gifts: a burst);
    # minute 5 (4 chat lines) is within 2 minutes of the busier minute 3.
    minutes = {m["minute"]: m for m in data["interaction"]["minutes"]}
    assert minutes[3]["like_taps"] == 10
    assert minutes[5]["chat"] == 4
    assert minutes[8]["gifts"] == 4
    assert minutes[12] | {} == {"minute": 12, "chat": 1, "like_taps": 5, "gifts": 0, "shares": 1, "total": 7}
    assert data["interaction"]["gift_bursts"] == [8]
    peaks = [
        (p["minute"], p["total"], [c["type"] for c in p["causes"]]) for p in data["interaction"]["peaks"]
    ]
    assert peaks == [(3, 10, ["poll_started"]), (12, 7, ["product_pinned"]), (8, 4, ["gift_burst"])]
    assert data["interaction"]["peaks"][1]["causes"][0]["product_name"] == "玫瑰精华面霜"

    # Funnel: 5 viewers → 3 clickers → 2 ordered after clicking (u4 ordered without) → 1 paid.
    steps = [(s["step"], s["people"], s["conversion"]) for s in data["funnel"]["steps"]]
    assert steps == [("view", 5, None), ("click", 3, 0.6), ("order", 2, 0.6667), ("pay", 1, 0.5)]
    assert f["clickers"] == 3
    assert f["converted_clickers"] == 2

    p1, p2 = scenario.products
    keys = ("product_id", "name", "clicks", "orders", "order_cents", "paid_orders", "paid_cents")
    products = [tuple(p[k] for k in keys) for p in data["products"]]
    assert products == [(p2, "保湿喷雾", 2, 2, 10000, 2, 10000), (p1, "玫瑰精华面霜", 2, 2, 19800, 1, 9900)]

    # Segments: u1 two paid orders (loyal), u4 one (converted), u2 and u3 new accounts.
    mix = {m["stage"]: m["count"] for m in data["segments"]["mix"]}
    assert data["segments"]["signed_in_viewers"] == 4
    assert mix == {"new": 2, "engaged": 0, "converted": 1, "loyal": 1, "silent": 0, "churn_risk": 0}


async def test_the_seed_formulas_use_the_shares_of_viewers(scenario: Scenario) -> None:
    formulas = scenario.report["data"]["formulas"]
    # viewers who did i (of 5), and of them who placed an order (u1, u2, u4 ordered)
    did = {"chat": (3, 2), "like": (2, 1), "share": (1, 1), "gift": (2, 1), "product_click": (3, 2),
           "follow": (2, 1), "community_join": (1, 1)}  # fmt: skip
    p = {i: n / 5 for i, (n, _) in did.items()}
    c = {i: o / n for i, (n, o) in did.items()}
    rows = {r["interaction"]: r for r in formulas["rows"]}
    assert {i: (r["doers"], r["ordered"]) for i, r in rows.items()} == did
    assert formulas["viewers"] == 5
    assert formulas["P_u"] == pytest.approx(sum(p[i] * VALUE_WEIGHTS[i] for i in p), abs=1e-4)
    assert formulas["C_r"] == pytest.approx(sum(c[i] * p[i] for i in p) / sum(p.values()), abs=1e-4)
    assert formulas["I_b"] == pytest.approx(
        sum(INFLUENCE_WEIGHTS[i] * p[i] for i in p) / sum(p.values()), abs=1e-4
    )
    assert formulas["weights"]["value"] == VALUE_WEIGHTS


async def test_comparison_with_previous_shows_and_targets(scenario: Scenario) -> None:
    first = scenario.first_report["data"]
    assert first["comparison"]["previous"] == []
    assert first["figures"]["viewers"] == 2
    assert first["figures"]["comments"] == 1

    comparison = scenario.report["data"]["comparison"]
    assert [p["show_id"] for p in comparison["previous"]] == [scenario.first_show]
    rows = {r["metric"]: r for r in comparison["rows"]}
    assert rows["viewers"] | {} == {
        "metric": "viewers",
        "this": 5,
        "mean": 2.0,
        "delta": 3.0,
        "delta_pct": 1.5,
    }
    assert (rows["comments"]["this"], rows["comments"]["mean"], rows["comments"]["delta"]) == (5, 1.0, 4.0)

    targets = {t["metric"]: t for t in scenario.report["data"]["targets"]}
    assert targets["viewers"] | {} == {"metric": "viewers", "target": 10.0, "actual": 5, "attainment": 0.5}
    assert targets["orders"]["attainment"] == 2.0


def _require_poppler() -> None:
    services.require(
        "poppler-utils",
        bool(shutil.which("pdftoppm") and shutil.which("pdftotext")),
        "apt install poppler-utils",
    )


async def test_the_pdf_has_pages_charts_and_chinese_text(
    scenario: Scenario, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    _require_poppler()
    response = await client.get(f"/shows/{scenario.show_id}/report.pdf", headers=scenario.host.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(response.content)
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(tmp_path / "page")], check=True, timeout=60)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 2
    for page in pages:
        with Image.open(page) as image:
            grey = image.convert("L")
            dark = sum(grey.histogram()[:100])
        assert dark > 200, f"{page.name} looks blank ({dark} dark pixels)"
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], check=True, capture_output=True, timeout=60
    ).stdout.decode()
    assert TITLE in text
    for heading in HEADINGS:
        assert heading in text, heading
    assert "玫瑰精华面霜" in text


async def test_the_page_draws_vendored_charts_and_speaks_both_languages(
    scenario: Scenario, client: httpx.AsyncClient
) -> None:
    url = f"/shows/{scenario.show_id}/report"
    zh = await client.get(url, headers=scenario.host.headers | {"Accept-Language": "zh-CN"})
    assert zh.status_code == 200
    page = zh.text
    for chart in ("chart-curve", "chart-interaction", "chart-funnel", "chart-products", "chart-segments"):
        assert f'id="{chart}"' in page
    assert '<script src="/static/vendor/echarts.min.js"></script>' in page
    assert '<script type="module" src="/static/report.js"></script>' in page
    assert 'type="application/json" id="report-data"' in page
    assert "cdn" not in page.lower()
    assert 'src="http' not in page
    assert TITLE in page
    assert "观看人数曲线" in page
    assert "转化漏斗" in page
    en = await client.get(url + "?lang=en", headers=scenario.host.headers)
    assert "Viewer curve" in en.text
    assert "Conversion funnel" in en.text
    for asset in ("/static/vendor/echarts.min.js", "/static/report.js", "/static/vendor/echarts.LICENSE"):
        assert (await client.get(asset)).status_code == 200, asset
    document = await client.get(f"/shows/{scenario.show_id}/report.html", headers=scenario.host.headers)
    assert document.status_code == 200
    assert TITLE in document.text
    assert 'id="chart-curve"' in document.text


async def test_every_table_exports_as_csv(scenario: Scenario, client: httpx.AsyncClient) -> None:
    base = f"/api/v1/shows/{scenario.show_id}/report.csv"
    funnel = await client.get(base, params={"table": "funnel"}, headers=scenario.host.headers)
    assert funnel.status_code == 200
    assert funnel.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(funnel.text.lstrip("\ufeff"))))
    assert [(r["step"], r["people"]) for r in rows] == [
        ("view", "5"),
        ("click", "3"),
        ("order", "2"),
        ("pay", "1"),
    ]
    products = await client.get(base, params={"table": "products"}, headers=scenario.host.headers)
    names = [r["name"] for r in csv.DictReader(io.StringIO(products.text.lstrip("\ufeff")))]
    assert names == ["保湿喷雾", "玫瑰精华面霜"]
    curve = await client.get(base, params={"table": "curve"}, headers=scenario.host.headers)
    assert list(csv.DictReader(io.StringIO(curve.text.lstrip("\ufeff"))))[1] == {
        "seconds": "65",
        "online": "3",
    }
    formulas = await client.get(base, params={"table": "formulas"}, headers=scenario.host.headers)
    parsed = list(csv.DictReader(io.StringIO(formulas.text.lstrip("\ufeff"))))
    assert [r["interaction"] for r in parsed][:2] == ["chat", "like"]
    assert parsed[0]["p"] == "0.6"
    unknown = await client.get(base, params={"table": "secrets"}, headers=scenario.host.headers)
    assert unknown.status_code == 422


async def test_only_the_host_and_the_tenant_staff_see_a_report(
    scenario: Scenario, server: RunningServer, client: httpx.AsyncClient
) -> None:
    show = scenario.show_id
    viewer = scenario.viewers[0]
    stranger = await make_account(server, role=Role.HOST, tenant=f"t{uuid.uuid4().hex[:8]}", name="别家主播")
    moderator = await make_account(server, role=Role.MODERATOR, name="场控")
    for path in (f"/api/v1/shows/{show}/report", f"/api/v1/shows/{show}/report.csv?table=funnel",
                 f"/shows/{show}/report.pdf", f"/api/v1/shows/{show}/targets"):  # fmt: skip
        assert (await client.get(path, headers=viewer.headers)).status_code == 403, path
        assert (await client.get(path, headers=stranger.headers)).status_code in (403, 404), path
        assert (await client.get(path)).status_code == 401, path
        assert (await client.get(path, headers=moderator.headers)).status_code == 200, path
    page = await client.get(f"/shows/{show}/report", headers=viewer.headers | {"Accept": "text/html"})
    assert page.status_code == 403
    assert TITLE not in page.text
    anonymous_page = await client.get(f"/shows/{show}/report", follow_redirects=False)
    assert anonymous_page.status_code == 303
    assert anonymous_page.headers["location"].startswith("/login")
    for account in (viewer, stranger, moderator):  # rebuilding and targets: the host or an operator
        rebuilt = await client.post(f"/api/v1/shows/{show}/report", headers=account.headers)
        assert rebuilt.status_code in (403, 404), rebuilt.text
        put = await client.put(f"/api/v1/shows/{show}/targets", json={"targets": {}}, headers=account.headers)
        assert put.status_code in (403, 404), put.text
    assert (await client.get("/console/reports", headers=viewer.headers)).status_code == 403
    assert (await client.get("/console/reports", headers=stranger.headers)).text.count(TITLE) == 0


async def test_the_console_lists_the_tenants_reports(scenario: Scenario, client: httpx.AsyncClient) -> None:
    response = await client.get("/console/reports", headers=scenario.operator.headers)
    assert response.status_code == 200
    page = response.text
    assert f'data-show-id="{scenario.show_id}"' in page
    assert f'data-show-id="{scenario.first_show}"' in page
    assert TITLE in page
    assert f"/shows/{scenario.show_id}/report.pdf" in page
    assert page.index(f'data-show-id="{scenario.show_id}"') < page.index(
        f'data-show-id="{scenario.first_show}"'
    )


async def test_targets_and_rebuild(
    scenario: Scenario, server: RunningServer, client: httpx.AsyncClient
) -> None:
    show = scenario.show_id
    bad = await client.put(
        f"/api/v1/shows/{show}/targets", json={"targets": {"bogus": 1}}, headers=scenario.host.headers
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "unknown_target_metric"
    negative = {"targets": {"viewers": -1}}
    assert (
        await client.put(f"/api/v1/shows/{show}/targets", json=negative, headers=scenario.host.headers)
    ).status_code == 422

    before = scenario.report["built_at"]
    targets = {"targets": {"viewers": 10, "orders": 2, "gmv_cents": 59600}}
    put = await client.put(f"/api/v1/shows/{show}/targets", json=targets, headers=scenario.operator.headers)
    assert put.status_code == 200
    assert put.json()["targets"] == {
        "viewers": 10.0,
        "orders": 2.0,
        "gmv_cents": 59600.0,
    }
    report = (await client.get(f"/api/v1/shows/{show}/report", headers=scenario.host.headers)).json()
    assert report["built_at"] > before  # an ended show's report is rebuilt with the new targets
    gmv = next(t for t in report["data"]["targets"] if t["metric"] == "gmv_cents")
    assert (gmv["actual"], gmv["attainment"]) == (29800, 0.5)

    rebuilt = await client.post(f"/api/v1/shows/{show}/report", headers=scenario.host.headers)
    assert rebuilt.status_code == 200
    assert rebuilt.json()["data"]["figures"]["viewers"] == 5
    assert rebuilt.json()["built_at"] > report["built_at"]

    live, _ = await start_show(server, client, scenario.host, scenario.room_id, "直播中")
    try:
        early = await client.post(f"/api/v1/shows/{live}/report", headers=scenario.host.headers)
        assert early.status_code == 409
        assert early.json()["code"] == "report_show_not_ended"
        assert (
            await client.get(f"/api/v1/shows/{live}/report", headers=scenario.host.headers)
        ).status_code == 404
    finally:
        await end_show(client, scenario.host, live)
