"""Co-host API shapes. The public snapshot (``CohostQueueOut``) is also the ``cohost_queue``
room event; the board adds what only the host and moderators see (request ids, scores)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from livecircle.kit.schemas import Schema


class InviteIn(Schema):
    user_id: int = Field(ge=1, le=2**31 - 1)


class QueueSeat(Schema):
    position: int
    user_id: int
    display_name: str
    tier: str


class StageSeat(Schema):
    user_id: int
    display_name: str
    tier: str


class CohostQueueOut(Schema):
    show_id: int | None = Field(description="The live show; null when the room is not live")
    queue: list[QueueSeat] = Field(description="Applicants, first in line first")
    cohosts: list[StageSeat] = Field(description="Accepted co-hosts on stage")
    invited: list[int] = Field(description="User ids invited by the host, not answered yet")
    max_cohosts: int


class CohostRequestOut(Schema):
    id: int
    show_id: int
    user_id: int
    display_name: str
    tier: str
    tier_rank: int
    status: str = Field(description="applied invited accepted rejected declined removed left cancelled ended")
    source: str = Field(description="apply | invite")
    applied_at: datetime = Field(description="When the user applied, or was invited")
    decided_at: datetime | None
    closed_at: datetime | None


class QueueEntryOut(CohostRequestOut):
    position: int
    waited_s: float
    score: float = Field(description="tier_rank × tier_weight_s + waited_s; higher goes first")


class CohostBoardOut(Schema):
    show_id: int | None
    max_cohosts: int
    tier_weight_s: float
    queue: list[QueueEntryOut]
    cohosts: list[CohostRequestOut]
    invited: list[CohostRequestOut]


class CohostMeOut(Schema):
    show_id: int | None
    request_id: int | None
    status: str = Field(description="none, or the status of my latest request in the live show")
    source: str | None
    position: int | None = Field(description="1 = next in line; null unless applied")
    queue_length: int
    retry_after: int = Field(description="Seconds before I may apply again in this room (0: now)")
