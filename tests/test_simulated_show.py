"""Issue 8's acceptance, driven by the audience simulator against a running server:

- an interaction dip the simulator plants raises the interaction-rate alert within 10 s of
  the dip's start (and not before it);
- the show's post-show report is built when it ends, and its PDF renders to pages with
  pdftoppm and gives back its Chinese text with pdftotext;
- a churning cohort the simulator plants (history uploaded through the events API) is ranked
  by the churn-risk score with AUC ≥ 0.75.
"""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sklearn.metrics import roc_auc_score

from livecircle.analytics.segments.churn import train_churn_model
from livecircle.identity import service as identity_service
from livecircle.identity.schemas import Role
from livecircle.kit.clock import utcnow
from livecircle.simulator import scenario as scenarios
from livecircle.simulator.run import Options, simulate
from tests.conftest import Account, RunningServer, make_account, make_room
from tests.room_kit import go_live
from tests.test_report import _require_poppler, end_show, wait_report
from tests.test_simulator import seed

SECONDS_PER_MINUTE = 6  # speed 10: a simulated minute lasts 6 s

# Acceptance runs on SQLite (the embedded default); the pipeline, alerts, reports and segments
# each have their own tests on both databases.
ONE_BACKEND = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@ONE_BACKEND
async def test_a_planted_dip_raises_the_alert_within_10_s_and_the_show_gets_its_report(
    server: RunningServer, client: httpx.AsyncClient, host: Account, tmp_path: Path
) -> None:
    # The simulated audience is lively (about 2 interactions per viewer per window before the
    # dip, against 0.1-0.15 in it), so the operator's threshold for this room sits at 0.3.
    operator = await make_account(server, role=Role.OPERATOR, name="运营")
    room = await make_room(client, host, title="模拟冷场直播间")
    rule = await client.post(
        "/api/v1/analytics/alert-rules",
        json={"name": "冷场预警", "metric": "interaction_rate", "comparator": "<", "threshold": 0.3,
              "window_seconds": 5, "cooldown_seconds": 600, "min_viewers": 5, "action": "poll",
              "room_id": room["id"]},
        headers=operator.headers,
    )  # fmt: skip
    assert rule.status_code == 201, rule.text
    show_id = await go_live(client, host, room["id"])
    dip = {
        "base": "dip",
        "dip": {"start_minute": 2, "minutes": 2, "factor": 0.01},
        "rates": {"chat_per_min": 1.5, "anonymous_share": 0, "arrival_mean_min": 0.05, "stay_mean_min": 600},
    }
    options = Options(
        base_url=server.base_url,
        show_id=show_id,
        viewers=20,
        minutes=4,
        speed=60 / SECONDS_PER_MINUTE,
        seed=seed(),
        scenario=scenarios.from_dict(dip),
    )
    report = await simulate(options)
    assert report["real_seconds_per_minute"] == SECONDS_PER_MINUTE
    dip_start = datetime.fromisoformat(report["started_at"]) + timedelta(seconds=2 * SECONDS_PER_MINUTE)

    board = (await client.get(f"/api/v1/shows/{show_id}/dashboard", headers=host.headers)).json()
    alerts = [a for a in board["alerts"] if a["metric"] == "interaction_rate"]
    assert alerts, board["figures"]
    raised = datetime.fromisoformat(alerts[-1]["raised_at"])  # the first one (newest first)
    # Viewers decide every half second and their last pre-dip actions may land a little late, so
    # the dip shows from about its start; an alert from noise before it would come far earlier.
    lead = (raised - dip_start).total_seconds()
    assert -2 <= lead <= 10, lead
    assert alerts[-1]["value"] < 0.3
    assert board["figures"]["comments"] == report["totals"]["chat"]

    await end_show(client, host, show_id)
    built = await wait_report(client, host, show_id, timeout=60)
    assert built["data"]["figures"]["viewers"] == board["figures"]["viewers"]
    _require_poppler()
    pdf = await client.get(f"/shows/{show_id}/report.pdf", headers=host.headers)
    assert pdf.status_code == 200
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf.content)
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", str(path), str(tmp_path / "page")], check=True, timeout=60
    )
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 2
    for page in pages:
        with Image.open(page) as image:
            assert sum(image.convert("L").histogram()[:100]) > 200, f"{page.name} looks blank"
    text = subprocess.run(
        ["pdftotext", str(path), "-"], check=True, capture_output=True, timeout=60
    ).stdout.decode()
    assert "复盘报告" in text
    assert "互动" in text


# One planted world, the same every run: with a fresh seed each run, a world now and then
# left one class out of the scored accounts (seen once), so "ranked among the scored" failed.
CHURN_SEED = 20261126


@ONE_BACKEND
async def test_a_planted_churn_cohort_is_ranked_with_auc_above_075(
    server: RunningServer, client: httpx.AsyncClient
) -> None:
    # A community of its own: the model learns from these accounts' histories only.
    tenant = f"churn-{seed()}"
    owner = await make_account(server, role=Role.HOST, tenant=tenant, name="主播")
    room = await make_room(client, owner)
    show_id = await go_live(client, owner, room["id"])
    operator = await make_account(server, role=Role.OPERATOR, tenant=tenant, name="运营")
    options = Options(
        base_url=server.base_url,
        show_id=show_id,
        viewers=60,
        minutes=0,
        seed=CHURN_SEED,
        scenario=scenarios.load("churn"),
        operator_token=operator.token,
        tenant=tenant,
    )
    report = await simulate(options)
    users = report["accounts"]["user_ids"]
    cohort = set(report["planted"]["churn"]["cohort_user_ids"])
    assert 0 < len(cohort) < len(users)
    store = server.app.state.analytics
    await store.sync()
    async with server.db.sessionmaker() as session:
        tenant_id = (await identity_service.get_tenant_by_slug(session, tenant)).id
    model = await store.run(lambda con: train_churn_model(con, tenant_id=tenant_id, as_of=utcnow()))
    scored: dict[int, Any] = model.scores
    labels = [user in cohort for user in users]
    # Accounts idle for the whole feature window are not scored: they count as churned.
    scores = [scored.get(user, 1.0) for user in users]
    auc = roc_auc_score(labels, scores)
    assert auc >= 0.75, (auc, model.auc, model.note)
    # Among the accounts the model did score (idle less than the window), it alone ranks them.
    ranked = [user for user in users if user in scored]
    ranked_labels = [user in cohort for user in ranked]
    assert 0 < sum(ranked_labels) < len(ranked)
    assert roc_auc_score(ranked_labels, [scored[user] for user in ranked]) >= 0.75
    assert model.auc is not None
    assert model.auc >= 0.75  # the model's own time-split validation agrees
