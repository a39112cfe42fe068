"""Q&A subscribers: after commit the room hears of new questions (``qa_question``) and of
changes (``qa_update``); vote counts are gathered per show and sent at most every
``VOTES_EVERY`` seconds, so a vote storm costs the room two events a second, not one per vote."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from livecircle.interaction.qa import service
from livecircle.interaction.qa.events import QuestionAsked, QuestionsChanged, QuestionVoted
from livecircle.interaction.qa.models import HIDDEN, Question
from livecircle.kit.background import Coalescer
from livecircle.kit.db import Database
from livecircle.kit.jobs import JobRunner
from livecircle.live.events import ShowEnded, ShowStarted
from livecircle.realtime.hub import Hub

VOTES_EVERY = 0.5  # seconds


def subscribe(db: Database, hub: Hub) -> None:
    bus = db.bus
    pending: dict[int, set[int]] = {}  # show id -> questions whose count changed since the last send
    rooms: dict[int, int] = {}  # show id -> its room

    async def load(question_ids: Sequence[int]) -> list[Question]:
        async with db.unit_of_work() as session:
            return await service.get_questions(session, question_ids)

    async def update(room_id: int, show_id: int, questions: list[dict[str, Any]], **extra: Any) -> None:
        event = {"type": "qa_update", "show_id": show_id, "questions": questions, **extra}
        await hub.publish(f"room:{room_id}", event)

    async def asked(event: QuestionAsked) -> None:
        for question in await load([event.question_id]):
            if question.status != HIDDEN:
                await hub.publish(
                    f"room:{event.room_id}", {"type": "qa_question", "question": service.view(question)}
                )

    async def changed(event: QuestionsChanged) -> None:
        await update(event.room_id, event.show_id, [_public(q) for q in await load(event.question_ids)])

    async def send_votes(show_id: int) -> None:
        question_ids, room_id = pending.pop(show_id, set()), rooms.pop(show_id)
        counts = [
            {"id": q.id, "votes": q.votes} for q in await load(sorted(question_ids)) if q.status != HIDDEN
        ]
        if counts:
            await update(room_id, show_id, counts)

    votes = Coalescer(send_votes, every=VOTES_EVERY)

    async def voted(event: QuestionVoted) -> None:
        pending.setdefault(event.show_id, set()).add(event.question_id)
        rooms[event.show_id] = event.room_id
        votes.touch(event.show_id)

    async def show_started(event: ShowStarted) -> None:
        if not event.resumed:  # a new show: every panel switches to its (empty) list
            await update(event.room_id, event.show_id, [], live=True)

    async def show_ended(event: ShowEnded) -> None:
        await update(event.room_id, event.show_id, [], live=False)

    bus.subscribe(QuestionAsked, asked)
    bus.subscribe(QuestionsChanged, changed)
    bus.subscribe(QuestionVoted, voted)
    bus.subscribe(ShowStarted, show_started)
    bus.subscribe(ShowEnded, show_ended)


def _public(question: Question) -> dict[str, Any]:
    """What everyone may know of a question: a hidden one loses its words and asker."""
    if question.status == HIDDEN:
        return {"id": question.id, "status": HIDDEN, "pinned": False, "votes": question.votes}
    return service.view(question)


def register_jobs(runner: JobRunner) -> None:
    """Durable jobs (none: Q&A needs no timer)."""
