"""Poll schemas: what the host writes, what a viewer sends, what everybody sees."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Self

from pydantic import BaseModel, Field, model_validator

POLL_SECONDS = (15, 1800)  # a poll is open 15 s to 30 min
SURVEY_SECONDS = (15, 86_400)


class QuestionIn(BaseModel):
    text: str = Field(min_length=1, max_length=200)
    kind: Literal["single", "multiple", "text"] = "single"
    options: list[str] = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _options_fit(self) -> Self:
        self.options = [o.strip() for o in self.options]
        if self.kind == "text":
            if self.options:
                raise ValueError("a text question has no options")
        elif not 2 <= len(self.options) <= 10 or not all(0 < len(o) <= 100 for o in self.options):
            raise ValueError("a choice question has 2 to 10 options of 1 to 100 characters")
        elif len(set(self.options)) != len(self.options):
            raise ValueError("options must differ")
        return self


class PollCreate(BaseModel):
    kind: Literal["poll", "survey"] = "poll"
    title: str = Field(min_length=1, max_length=200)
    questions: list[QuestionIn] = Field(min_length=1, max_length=20)
    duration_s: int | None = Field(default=60, description="Seconds open; a poll needs 15–1800")
    launch: bool = Field(default=False, description="Open it now in the live show")
    offset_s: int | None = Field(
        default=None, ge=0, le=86_400, description="Run-of-show: open it this long after the show goes live"
    )

    @model_validator(mode="after")
    def _shape(self) -> Self:
        if self.kind == "poll":
            question = self.questions[0]
            if len(self.questions) != 1 or question.kind == "text" or not 2 <= len(question.options) <= 5:
                raise ValueError("a poll is one single or multiple choice question with 2 to 5 options")
            low, high = POLL_SECONDS
            if self.duration_s is None or not low <= self.duration_s <= high:
                raise ValueError(f"a poll is open {low} to {high} seconds")
        elif self.duration_s is not None and not SURVEY_SECONDS[0] <= self.duration_s <= SURVEY_SECONDS[1]:
            raise ValueError("a questionnaire is open 15 s to 24 h, or until the host closes it")
        if self.launch and self.offset_s is not None:
            raise ValueError("launch now or at an offset, not both")
        return self


class AnswerIn(BaseModel):
    question_id: int = Field(ge=1, le=2**31 - 1)
    option_ids: list[int] = Field(default_factory=list, max_length=10)
    text: str | None = Field(default=None, max_length=500)


class BallotIn(BaseModel):
    answers: list[AnswerIn] = Field(min_length=1, max_length=20)


class OptionOut(BaseModel):
    id: int
    text: str
    votes: int
    percent: float


class QuestionOut(BaseModel):
    id: int
    text: str
    kind: str
    answered: int  # ballots that answered this question
    options: list[OptionOut]


class PollOut(BaseModel):
    id: int
    room_id: int
    show_id: int | None
    kind: str
    title: str
    status: str
    duration_s: int | None
    opened_at: datetime | None
    closes_at: datetime | None
    closed_at: datetime | None
    ballots: int
    questions: list[QuestionOut]
    my_ballot: dict[int, list[int]] | None = None  # question id -> option ids, for the caller
    server_now: datetime
