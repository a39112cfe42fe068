"""The co-host queue's tunables and its order, in one place.

Module constants (not settings yet): code reads them as ``rules.NAME`` at call time, so a test
or an operator hook may change them in the running process.

Order: every applicant has an **effective score** at time ``now``::

    score = tier_rank × TIER_WEIGHT_S + waited_seconds      (waited = now − applied_at)

and the queue is ordered by score, highest first, then by ``applied_at``, then by id. A member
whose tier ranks ``r`` steps higher is worth ``r × TIER_WEIGHT_S`` seconds of waiting: a premium
member (rank 2) goes ahead of a follower (rank 0) who has waited less than 2 × 120 s, but a
follower who has waited longer stays ahead of every later applicant, whatever their tier. As
``now`` is the same for everyone, the order never changes while people wait: it is the order of
``applied_at − tier_rank × TIER_WEIGHT_S`` (the *priority time*), which is what we sort by.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from livecircle.economy import tiers

MAX_COHOSTS = 6  # accepted co-hosts on stage at once per show (Twitch Guest Star allows 6)
MAX_QUEUE = 50  # applicants waiting at once per show; the queue snapshot stays small
TIER_WEIGHT_S = 120.0  # seconds of waiting one tier rank is worth
COOLDOWN_S = 60  # after a rejection, a removal or a cancelled application, per user and room
LEAVE_GRACE_S = 5.0  # a pending applicant gone from the room this long (no tab left) drops out
QUEUE_EVERY_S = 0.2  # the room's queue snapshot goes out at most this often


class Queued(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def tier_rank(self) -> int: ...
    @property
    def applied_at(self) -> datetime: ...


Q = TypeVar("Q", bound=Queued)


def tier_rank(tier: str) -> int:
    """0 follower (新关注者), 1 participant (参与者), 2 premium (高级会员): the place in ``tiers.TIERS``."""
    return tiers.TIERS.index(tier) if tier in tiers.TIERS else 0


def score(rank: int, applied_at: datetime, now: datetime) -> float:
    """The effective score (higher goes first); see the module docstring."""
    return rank * TIER_WEIGHT_S + (now - applied_at).total_seconds()


def priority_time(rank: int, applied_at: datetime) -> datetime:
    """``applied_at − rank × TIER_WEIGHT_S``: earlier goes first, at any ``now`` (exact, no floats)."""
    return applied_at - timedelta(seconds=rank * TIER_WEIGHT_S)


def in_order(requests: Iterable[Q]) -> list[Q]:
    """Applicants by score desc, then applied_at asc, then id asc."""
    return sorted(requests, key=lambda r: (priority_time(r.tier_rank, r.applied_at), r.applied_at, r.id))
