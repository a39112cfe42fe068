"""Scenarios: per-viewer rates and the truth a run plants (an interaction dip, a churn cohort).

A scenario is a built-in name (``steady``, ``dip``, ``churn``) or a JSON file of the same
shape as ``Scenario.as_dict()``: ``{"name": ..., "rates": {...}, "dip": {...}|null,
"churn": {...}|null}``; keys left out keep their defaults.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

DIPPED = frozenset({"chat", "likes", "shares"})  # what an interaction dip lowers


class ScenarioError(ValueError):
    """A scenario name or file that cannot be used."""


@dataclass(frozen=True, slots=True)
class Rates:
    """Per viewer: actions per simulated minute, and probabilities per chance."""

    chat_per_min: float = 0.8  # danmaku lines (signed-in viewers only)
    likes_per_min: float = 4.0  # taps
    shares_per_min: float = 0.05
    gifts_per_min: float = 0.1  # per gifter
    clicks_per_min: float = 0.15  # opening a pinned card's checkout
    anonymous_share: float = 0.3  # viewers who never sign in
    gifter_share: float = 0.2  # signed-in viewers who top up coins and send gifts
    follow_prob: float = 0.3  # a signed-in viewer follows the host once during the stay
    join_prob: float = 0.3  # joins the community when its card is pushed
    order_prob: float = 0.35  # places an order after a click
    pay_prob: float = 0.85  # pays an order it placed
    pay_fail_prob: float = 0.1  # the sandbox payment of a paying viewer fails
    arrival_mean_min: float = 0.0  # mean arrival time (exponential); 0: a quarter of the run
    stay_mean_min: float = 30.0  # mean stay before leaving (exponential)
    topup_coins: int = 200
    chat_limit: int = 18  # lines per chat_window_s per viewer, under the server's 20 per 30 s
    chat_window_s: float = 30.0
    likes_per_second: int = 20  # under the server's 30 taps per connection per second


@dataclass(frozen=True, slots=True)
class Dip:
    """Chat, likes and shares drop to ``factor`` of their rate in [start_minute, +minutes)."""

    start_minute: float = 10.0
    minutes: float = 3.0
    factor: float = 0.07  # a 93 % drop

    def covers(self, minute: float) -> bool:
        return self.start_minute <= minute < self.start_minute + self.minutes


@dataclass(frozen=True, slots=True)
class Churn:
    """``days`` of past activity for the signed-in viewers, uploaded through the batch
    ingestion endpoint: a ``cohort_share`` whose activity decays and stops more than
    ``quiet_days`` before now, the rest active throughout."""

    days: int = 60
    cohort_share: float = 0.3
    quiet_days: int = 14
    events_per_day: float = 4.0  # mean for an active viewer on an active day
    active_day_prob: float = 0.5


@dataclass(frozen=True, slots=True)
class Recall:
    """A campaign's planted effect. After the show every signed-in viewer (all of whom gave
    marketing consent) waits for the campaign (``--campaign``) to reach it, reads its inbox and
    buys the show's first product: with ``reached_buy_prob`` when the campaign's message is
    there (following its link first), with ``base_buy_prob`` when not (the hold-out). The
    campaign report's lift should find the difference."""

    reached_buy_prob: float = 0.5
    base_buy_prob: float = 0.2
    wait_s: float = 150.0  # for the campaign's passes to enrol and reach every viewer


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str = "steady"
    rates: Rates = field(default_factory=Rates)
    dip: Dip | None = None
    churn: Churn | None = None
    recall: Recall | None = None

    def factor(self, action: str, minute: float) -> float:
        """How much of ``action``'s rate applies at ``minute`` (the planted dip)."""
        if self.dip is not None and action in DIPPED and self.dip.covers(minute):
            return self.dip.factor
        return 1.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def planted(self) -> dict[str, Any]:
        """The truth this scenario plants, as the run reports it."""
        truth: dict[str, Any] = {}
        if self.dip is not None:
            truth["dip"] = {**asdict(self.dip), "actions": sorted(DIPPED)}
        if self.churn is not None:
            truth["churn"] = asdict(self.churn)
        if self.recall is not None:
            truth["recall"] = asdict(self.recall)
        return truth


BUILT_IN: dict[str, Scenario] = {
    "steady": Scenario(),
    "dip": Scenario(name="dip", dip=Dip()),
    "churn": Scenario(name="churn", churn=Churn()),
    "recall": Scenario(name="recall", recall=Recall()),
}


def _build(kind: type[Any], data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ScenarioError(f"{where} must be an object")
    known = {f.name for f in fields(kind)}
    unknown = set(data) - known
    if unknown:
        raise ScenarioError(f"unknown {where} keys: {', '.join(sorted(unknown))}")
    try:
        return kind(**data)
    except TypeError as exc:
        raise ScenarioError(f"{where}: {exc}") from exc


def from_dict(data: dict[str, Any]) -> Scenario:
    """A scenario from its JSON shape; a ``base`` key starts from a built-in one."""
    base = BUILT_IN.get(str(data.get("base", "steady")))
    if base is None:
        raise ScenarioError(f"unknown base scenario {data.get('base')!r}")
    rates = _merge(Rates, base.rates, data.get("rates"), "rates")
    dip = _optional(Dip, base.dip, data, "dip")
    churn = _optional(Churn, base.churn, data, "churn")
    recall = _optional(Recall, base.recall, data, "recall")
    return Scenario(name=str(data.get("name", base.name)), rates=rates, dip=dip, churn=churn, recall=recall)


def _merge(kind: type[Any], current: Any, data: Any, where: str) -> Any:
    if data is None:
        return current if current is not None else kind()
    if not isinstance(data, dict):
        raise ScenarioError(f"{where} must be an object")
    start = asdict(current) if current is not None else {}
    return _build(kind, {**start, **data}, where)


def _optional(kind: type[Any], current: Any, data: dict[str, Any], key: str) -> Any:
    if key not in data:
        return current
    if data[key] is None:
        return None
    return _merge(kind, current, data[key], key)


def load(spec: str) -> Scenario:
    """A built-in scenario by name, or a JSON file."""
    if spec in BUILT_IN:
        return BUILT_IN[spec]
    path = Path(spec)
    if not path.is_file():
        raise ScenarioError(f"no scenario named {spec!r} ({', '.join(BUILT_IN)}) and no such file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"{path}: not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a scenario is a JSON object")
    return from_dict(data)
