"""The run-of-show section of the report (the PDF's table; the HTML has report_script.html):
each step of the show's script and what became of it, from ``data["script"]``
(interaction's ``runofshow.service.show_log``, stored with the report)."""

from __future__ import annotations

from typing import Any

from livecircle.analytics.report.document import Gettext

ACTIONS = {
    "pin": "Pin a product",
    "flash_sale": "Start a flash sale",
    "poll": "Launch a poll",
    "lottery": "Start a lottery",
    "coupon": "Drop a coupon",
    "community": "Push the community card",
    "cue": "Cue for the host",
}
STATES = {"fired": "Fired", "failed": "Failed", "skipped": "Skipped", "missed": "Missed"}
BY = {"timer": "timer", "condition": "condition", "host": "host"}
HEADER = ("Step", "When", "Outcome", "Minute", "By", "Value seen")


def rows(data: dict[str, Any], _: Gettext) -> list[tuple[str, ...]]:
    """One row per step; a report built before scripts existed has none."""
    return [_row(step, _) for step in data.get("script") or []]


def _row(step: dict[str, Any], _: Gettext) -> tuple[str, ...]:
    action = _(ACTIONS.get(step["action"], step["action"]))
    name = f"{step['label']} · {action}" if step.get("label") else action
    at = f"T+{step['offset_s'] / 60:.1f} min"
    when = f"{step['condition']} (≥ {at})" if step["kind"] == "condition" else at
    outcome = _(STATES.get(step["status"], step["status"]))
    if step.get("note") and step["status"] in ("failed", "missed"):
        outcome = f"{outcome}: {step['note']}"
    minute = "–" if step.get("fired_minute") is None else f"{step['fired_minute']:.1f}"
    by = _(BY[step["fired_by"]]) if step.get("fired_by") in BY else "–"
    value = "–" if step.get("value") is None else f"{step['value']:.3g}"
    return (name, when, outcome, minute, by, value)
