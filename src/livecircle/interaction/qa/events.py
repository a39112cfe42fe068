"""Facts the Q&A tool emits (released after commit; ``tasks.subscribe`` tells the room)."""

from __future__ import annotations

from dataclasses import dataclass

from livecircle.kit.events import DomainEvent


@dataclass(frozen=True, slots=True)
class QuestionAsked(DomainEvent):
    tenant_id: int
    room_id: int
    show_id: int
    question_id: int


@dataclass(frozen=True, slots=True)
class QuestionVoted(DomainEvent):
    """An upvote was added or taken back: the count changed."""

    tenant_id: int
    room_id: int
    show_id: int
    question_id: int


@dataclass(frozen=True, slots=True)
class QuestionsChanged(DomainEvent):
    """A moderator answered, pinned, unpinned, hid or reopened; pinning one may unpin another."""

    tenant_id: int
    room_id: int
    show_id: int
    question_ids: tuple[int, ...]
