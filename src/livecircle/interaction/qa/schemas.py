"""Q&A schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

from livecircle.kit.schemas import Schema


class QuestionIn(Schema):
    # 1 to 300 characters after whitespace is collapsed: checked by the service (question_text_invalid).
    text: str = Field(max_length=1000)


class QuestionUpdate(Schema):
    """What the host or a moderator changes: the status, the pin, or both."""

    status: Literal["open", "answered", "hidden"] | None = None
    pinned: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> QuestionUpdate:
        if self.status is None and self.pinned is None:
            raise ValueError("give status, pinned or both")
        return self


class QuestionOut(Schema):
    id: int
    room_id: int
    show_id: int
    user_id: int
    display_name: str
    text: str
    votes: int
    status: str = Field(description="open | answered | hidden (hidden: only the host and moderators see it)")
    pinned: bool
    answered_at: datetime | None
    created_at: datetime
    voted: bool = Field(default=False, description="the caller upvoted it (false when signed out)")


class QuestionBoard(Schema):
    """The room's Q&A now: the live show's questions, else the latest show's (kept for replay)."""

    show_id: int | None
    live: bool
    questions: list[QuestionOut]
