"""The seed formulas the report exposes, with every input shown (seed 002, §4.1):

- participation  P_u = Σ p_i · a_i
- conversion     C_r = Σ c_i · p_i / Σ p_i
- influence      I_b = Σ i_b · p_i / Σ p_i

over the interaction types i in ``INTERACTIONS``, where p_i is the share of the show's
viewers who did i at least once, c_i the share of those viewers who also placed an order
in the show, a_i the value weight of i and i_b its brand-influence weight (both below,
fixed here and printed next to the table in every report).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

INTERACTIONS: tuple[str, ...] = ("chat", "like", "share", "gift", "product_click", "follow", "community_join")

# a_i: what one viewer doing i is worth to the show, relative to a chat line (= 1).
VALUE_WEIGHTS: dict[str, float] = {
    "chat": 1.0,
    "like": 0.5,
    "share": 3.0,
    "gift": 5.0,
    "product_click": 2.0,
    "follow": 4.0,
    "community_join": 6.0,
}
# i_b: how much i spreads or binds to the brand, 0..1 (a share reaches others: 1).
INFLUENCE_WEIGHTS: dict[str, float] = {
    "chat": 0.4,
    "like": 0.2,
    "share": 1.0,
    "gift": 0.6,
    "product_click": 0.5,
    "follow": 0.8,
    "community_join": 0.9,
}


def seed_formulas(viewers: int, doers: Mapping[str, tuple[int, int]]) -> dict[str, Any]:
    """The three figures and their table from ``doers[i] = (viewers who did i, of whom
    ordered)``; every share is of the show's ``viewers``."""
    rows = [_row(kind, viewers, *doers.get(kind, (0, 0))) for kind in INTERACTIONS]
    p = {kind: _share(doers.get(kind, (0, 0))[0], viewers) for kind in INTERACTIONS}
    c = {kind: _share(doers.get(kind, (0, 0))[1], doers.get(kind, (0, 0))[0]) for kind in INTERACTIONS}
    total_p = sum(p.values())
    return {
        "viewers": viewers,
        "rows": rows,
        "P_u": round(sum(p[k] * VALUE_WEIGHTS[k] for k in INTERACTIONS), 4),
        "C_r": round(sum(c[k] * p[k] for k in INTERACTIONS) / total_p, 4) if total_p else None,
        "I_b": round(sum(INFLUENCE_WEIGHTS[k] * p[k] for k in INTERACTIONS) / total_p, 4)
        if total_p
        else None,
        "weights": {"value": dict(VALUE_WEIGHTS), "influence": dict(INFLUENCE_WEIGHTS)},
    }


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _row(kind: str, viewers: int, did: int, ordered: int) -> dict[str, Any]:
    p, c = _share(did, viewers), _share(ordered, did)
    a, ib = VALUE_WEIGHTS[kind], INFLUENCE_WEIGHTS[kind]
    return {
        "interaction": kind,
        "doers": did,
        "ordered": ordered,
        "p": round(p, 4),
        "a": a,
        "p_a": round(p * a, 4),
        "c": round(c, 4),
        "c_p": round(c * p, 4),
        "i_b": ib,
        "ib_p": round(ib * p, 4),
    }
