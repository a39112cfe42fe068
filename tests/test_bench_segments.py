"""bench.segments at a tiny size: the memberships it times are the app's segments, the
SQLite peer computes the same ones, and the CLI prints the acceptance keys."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from bench.segments import peer
from bench.segments.__main__ import SEGMENTS, duck_figures
from bench.segments.data import AS_OF, TENANT, generate

from livecircle.analytics.segments import churn, lifecycle, rfm
from livecircle.analytics.store import connect

MEMBERS = 2000


def expected(con, name: str, as_of) -> set[int]:  # type: ignore[no-untyped-def]
    """The segment straight from analytics.segments (not through marketing.audience)."""
    if name == "rfm_champions":
        rows = rfm.rfm_rows(con, tenant_id=TENANT, as_of=as_of)
        return {row["user_id"] for row in rows if row["tier"] == rfm.TIER_ORDER[0]}
    if name == "lifecycle_loyal":
        stages = lifecycle.lifecycle_stages(con, tenant_id=TENANT, as_of=as_of)
        return {user for user, stage in stages.items() if stage == "loyal"}
    scores = None
    if name == "churn_risk_model":
        model = churn.train_churn_model(con, tenant_id=TENANT, as_of=as_of)
        assert model.scores, model.note  # the tiny tenant still trains a model
        scores = model.scores
    stages = lifecycle.lifecycle_stages(con, tenant_id=TENANT, as_of=as_of, churn_scores=scores)
    return {user for user, stage in stages.items() if stage == "churn_risk"}


def test_refreshed_memberships_are_the_apps_segments_and_the_peer_agrees() -> None:
    con = connect()
    try:
        events = generate(con, MEMBERS)
        assert MEMBERS * 4 < events < MEMBERS * 30
        people = con.execute("SELECT count(DISTINCT person_id) FROM person_events").fetchall()[0][0]
        assert people == MEMBERS
        duck = duck_figures(con, repeat=1)
        assert set(duck) == set(SEGMENTS)
        for name, figures in duck.items():
            now, before = expected(con, name, AS_OF), expected(con, name, AS_OF - timedelta(days=1))
            assert figures["members"] == now, name
            assert figures["entered"] == now - before, name
            assert figures["left"] == before - now, name
            assert 0 < len(now) < MEMBERS, name
        # the model adds members to the inactivity rule
        assert duck["churn_risk_rule"]["members"] < duck["churn_risk_model"]["members"]
        with tempfile.TemporaryDirectory() as tmp:
            compared = peer.sqlite_peer(con, Path(tmp) / "events.db", 1, duck)
        for name in SEGMENTS:
            assert compared[name]["agrees"], (name, compared[name])
            assert compared[name]["members"] == len(duck[name]["members"])
    finally:
        con.close()


def test_cli_prints_members_refresh_seconds_and_the_peer() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.segments", "--members", str(MEMBERS), "--json", "--repeat", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    result = json.loads(done.stdout)
    assert result["members"] == MEMBERS
    assert isinstance(result["refresh_s"], float)
    assert result["refresh_s"] > 0
    assert result["segment_members"] > 0
    assert result["peer_agrees"] is True
    assert set(result["peer"]["sqlite"]) >= set(SEGMENTS)
    assert result["peer"]["sqlite"]["churn_risk_model"]["s"] > 0
    assert {"events", "duckdb", "sqlite", "python", "cpus"} <= set(result["run"])
