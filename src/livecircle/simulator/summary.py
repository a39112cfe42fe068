"""The run's report as a terminal reads it (``--json`` prints the full object instead)."""

from __future__ import annotations

import json
from typing import Any

from livecircle.simulator.tally import COLUMNS


def render(report: dict[str, Any]) -> str:
    accounts = report["accounts"]
    lines = [
        f"show {report['show_id']} (room {report['room_id']}), scenario {report['scenario']['name']}, "
        f"{report['viewers']} viewers ({accounts['signed_in']} signed in, "
        f"{accounts['anonymous']} anonymous), "
        f"{report['minutes']} min at speed {report['speed']} in {report['elapsed_s']} s",
    ]
    for name, truth in report.get("planted", {}).items():
        shown = {k: v for k, v in truth.items() if k != "cohort_user_ids"}
        if "cohort_user_ids" in truth:
            shown["cohort_size"] = len(truth["cohort_user_ids"])
        lines.append(f"planted {name}: {json.dumps(shown, ensure_ascii=False)}")
    if "history" in report:
        h = report["history"]
        lines.append(
            f"history: {h['events']} events for {h['users']} accounts, accepted {h['accepted']}, "
            f"duplicates {h['duplicates']}, failed {h['failed']}"
        )
    if "recall" in report:
        r = report["recall"]
        reached, missed = set(r["reached_user_ids"]), set(r["not_reached_user_ids"])
        bought = set(r["bought_user_ids"])
        lines.append(
            f"recall (campaign {r['campaign_id']}, every viewer enrolled: {r['passes_done']}): "
            f"reached {len(reached)}, of whom {len(bought & reached)} bought; "
            f"not reached {len(missed)}, of whom {len(bought & missed)} bought"
        )
    lines.append("totals: " + ", ".join(f"{k} {v}" for k, v in report["totals"].items()))
    header = ("minute", *COLUMNS, "online")
    lines.append(" ".join(f"{h:>9}" for h in header))
    for row in report["per_minute"]:
        lines.append(" ".join(f"{row.get(h, 0):>9}" for h in header))
    if report["errors"]:
        lines.append("refused: " + ", ".join(f"{k} {v}" for k, v in report["errors"].items()))
    return "\n".join(lines)
