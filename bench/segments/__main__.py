"""python -m bench.segments: refreshing a marketing segment of a 500,000-member tenant.

    python -m bench.segments --members 500000 --json

Builds a DuckDB replica (``analytics.store.connect``: the product's schema and its
``person_events`` view) holding the event log of one tenant with ``--members`` accounts
over 180 days (``generate``): each member joins on a day of their own and has 2 to ~32
events (skewed: most have a few, some tens; ~12 on average) spread between joining and
leaving: views (``view_end`` with seconds watched), chat, likes, shares, gifts, product
clicks, orders placed and paid (cents). A third of the members churn: their events stop
within 60 days of joining. Every event belongs to a signed-in account.

A *segment* is what a campaign's trigger enrols from (``marketing.audience``,
``SegmentTrigger``) and what the segments page lists: a lifecycle stage, the churn-risk
stage or an RFM tier. *Refreshing* it means recomputing its membership for every member of
the tenant at ``as_of`` with the app's own function (``audience.segment_members``, the
code the campaign scheduler runs) and diffing it against the membership of the previous
refresh (a day earlier): the members who entered are those a campaign enrols.

Timed (best of ``--repeat``), each segment one ``refresh`` = membership + diff:

- ``refresh_s``: the heaviest, ``lifecycle / churn_risk`` with the churn model (idle for
  more than 30 days, or scored >= 0.5 by the logistic model trained at ``as_of``: a
  training, a validation and a scoring snapshot of every member, fit and predict);
- ``detail.churn_risk_rule_s``: the same stage without the model (inactivity only);
- ``detail.lifecycle_loyal_s``: one rule-based lifecycle stage (``loyal``);
- ``detail.rfm_champions_s``: one RFM tier (``重要价值``).

Not timed: reading consent (``privacy.consent.allowed_among``) and inserting the
enrolment rows into the application database (``marketing.engine``), which cost the same
whichever engine computed the segment; the previous membership (computed once, untimed).

Peer (``--peer sqlite``, the default): the same rows in SQLite (stdlib, file, WAL), every
segment written as plain SQL for it (``bench.segments.peer``; the churn model's snapshots
too, with the same scikit-learn pipeline), the same diff, best of ``--peer-repeat``; its
memberships must equal DuckDB's (``peer_agrees``). Prints ``{"members", "refresh_s",
"peer_refresh_s", "vs_peer", "detail", "peer", "run", ...}``: the figures and the peer's
side by side; progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import tempfile
import time
from datetime import datetime, timedelta
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any

import duckdb

from bench.segments import peer as peer_mod
from bench.segments.data import AS_OF, DAYS, GOAL_S, TENANT, generate, log, timed
from livecircle.analytics.segments import rfm
from livecircle.analytics.store import connect
from livecircle.marketing import audience
from livecircle.marketing.schemas import SegmentTrigger

CHAMPIONS = rfm.TIER_ORDER[0]
SEGMENTS: dict[str, SegmentTrigger] = {
    "churn_risk_model": SegmentTrigger(segment="lifecycle", value="churn_risk", model=True),
    "churn_risk_rule": SegmentTrigger(segment="lifecycle", value="churn_risk"),
    "lifecycle_loyal": SegmentTrigger(segment="lifecycle", value="loyal"),
    "rfm_champions": SegmentTrigger(segment="rfm", value=CHAMPIONS),
}


def refresh(
    con: duckdb.DuckDBPyConnection, trigger: SegmentTrigger, as_of: datetime, previous: set[int]
) -> dict[str, Any]:
    """One segment's refresh: its members now (the app's function) and who entered or left."""
    members = audience.segment_members(con, TENANT, trigger, as_of)
    return {"members": members, "entered": members - previous, "left": previous - members}


def duck_figures(con: duckdb.DuckDBPyConnection, repeat: int) -> dict[str, Any]:
    """Each segment: refresh time, size, entered and left since the previous day."""
    figures: dict[str, Any] = {}
    for name, trigger in SEGMENTS.items():
        previous = audience.segment_members(con, TENANT, trigger, AS_OF - timedelta(days=1))
        seconds, result = timed(repeat, partial(refresh, con, trigger, AS_OF, previous))
        figures[name] = {"s": seconds, **{k: result[k] for k in ("members", "entered", "left")}}
        log(f"duckdb {name}: {seconds} s, {len(result['members']):,} members")
    return figures


def run_bench(
    members: int, *, seed: int = 1, repeat: int = 3, peer: str = "sqlite", peer_repeat: int = 1
) -> dict[str, Any]:
    """Generate, refresh every segment, run the peer; the result as printed (sets dropped)."""
    con = connect()
    try:
        started = time.perf_counter()
        events = generate(con, members, seed)
        generate_s = round(time.perf_counter() - started, 1)
        log(f"generated {events:,} events of {members:,} members in {generate_s} s")
        duck = duck_figures(con, repeat)
        head = duck["churn_risk_model"]
        result: dict[str, Any] = {
            "members": members,
            "refresh_s": head["s"],
            "segment": "lifecycle/churn_risk (with the churn model)",
            "segment_members": len(head["members"]),
            "entered": len(head["entered"]),
            "left": len(head["left"]),
            "goal_s": GOAL_S,
            "detail": {f"{name}_s": fig["s"] for name, fig in duck.items() if name != "churn_risk_model"}
            | {f"{name}_members": len(fig["members"]) for name, fig in duck.items()},
        }
        if peer == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                peer_figures = peer_mod.sqlite_peer(con, Path(tmp) / "events.db", peer_repeat, duck)
            result["peer"] = {"sqlite": peer_figures}
            result["peer_agrees"] = all(fig["agrees"] for name, fig in peer_figures.items() if name in duck)
            result["peer_refresh_s"] = peer_figures["churn_risk_model"]["s"]
            result["vs_peer"] = round(result["peer_refresh_s"] / max(head["s"], 0.001), 1)
        result["run"] = {
            "members": members,
            "events": events,
            "days": DAYS,
            "as_of": AS_OF.isoformat(),
            "seed": seed,
            "repeat": repeat,
            "peer_repeat": peer_repeat,
            "generate_s": generate_s,
            "duckdb": version("duckdb"),
            "sqlite": sqlite3.sqlite_version,
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "machine": platform.machine(),
        }
        result["memberships"] = duck  # for callers in-process; main drops it
        return result
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--peer-repeat", type=int, default=1)
    parser.add_argument("--peer", choices=["sqlite", "none"], default="sqlite")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run_bench(
        args.members, seed=args.seed, repeat=args.repeat, peer=args.peer, peer_repeat=args.peer_repeat
    )
    del result["memberships"]
    print(json.dumps(result, ensure_ascii=False, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
