"""Polls and questionnaires: create, open in the live show, vote once per account, close on
time (a durable job, and every vote checks the clock), results and CSV export."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.interaction.polls.errors import (
    AlreadyVoted,
    BallotInvalid,
    PollAlreadyOpened,
    PollNotFound,
    PollNotOpen,
)
from livecircle.interaction.polls.events import PollClosed, PollOpened, PollVoted
from livecircle.interaction.polls.models import Poll, PollAnswer, PollBallot, PollOption, PollQuestion
from livecircle.interaction.polls.schemas import AnswerIn, PollCreate
from livecircle.kit import jobs
from livecircle.kit.clock import utcnow
from livecircle.kit.db import one_sqlite_writer
from livecircle.kit.events import emit
from livecircle.live import service as live_service
from livecircle.live.errors import ShowNotLive
from livecircle.live.models import Room

CLOSE_JOB = "interaction.close_poll"
Results = dict[str, Any]


async def do_create_poll(session: AsyncSession, *, room: Room, user_id: int, data: PollCreate) -> Poll:
    """A draft poll of the room with its questions and options (opened by ``do_open_poll``)."""
    poll = Poll(
        tenant_id=room.tenant_id,
        room_id=room.id,
        kind=data.kind,
        title=data.title.strip(),
        duration_s=data.duration_s,
        created_by=user_id,
    )
    session.add(poll)
    await session.flush()
    for position, question in enumerate(data.questions):
        row = PollQuestion(poll_id=poll.id, position=position, text=question.text.strip(), kind=question.kind)
        session.add(row)
        await session.flush()
        session.add_all(
            PollOption(question_id=row.id, position=i, text=text) for i, text in enumerate(question.options)
        )
    await session.flush()
    return poll


async def get_poll(session: AsyncSession, poll_id: int) -> Poll:
    poll = await session.get(Poll, poll_id)
    if poll is None:
        raise PollNotFound()
    return poll


async def do_open_poll(session: AsyncSession, poll: Poll) -> Poll:
    """Open a draft in the room's live show. Raises ShowNotLive, PollAlreadyOpened.
    Schedules its closing; emits PollOpened."""
    show = await live_service.get_live_show(session, poll.room_id)
    if show is None:
        raise ShowNotLive("Go live before launching the poll")
    await one_sqlite_writer(session)
    now = utcnow()
    closes_at = now + timedelta(seconds=poll.duration_s) if poll.duration_s else None
    opened = await session.execute(
        update(Poll)
        .where(Poll.id == poll.id, Poll.status == "draft")
        .values(status="open", show_id=show.id, opened_at=now, closes_at=closes_at)
    )
    if not getattr(opened, "rowcount", 0):
        raise PollAlreadyOpened()
    await session.refresh(poll)
    if closes_at is not None:
        await jobs.schedule(
            session, CLOSE_JOB, key=f"poll-close:{poll.id}", run_at=closes_at, payload={"poll_id": poll.id}
        )
    emit(session, PollOpened(poll.tenant_id, poll.room_id, show.id, poll.id))
    return poll


async def do_close_poll(session: AsyncSession, poll_id: int) -> bool:
    """Close an open poll (at its time, or by the host). True when this call closed it."""
    await one_sqlite_writer(session)
    closed = await session.execute(
        update(Poll)
        .where(Poll.id == poll_id, Poll.status == "open")
        .values(status="closed", closed_at=utcnow())
    )
    if not getattr(closed, "rowcount", 0):
        return False
    poll = await get_poll(session, poll_id)
    emit(session, PollClosed(poll.tenant_id, poll.room_id, poll.show_id, poll.id))
    return True


async def on_close_job(session: AsyncSession, payload: dict[str, Any]) -> None:
    await do_close_poll(session, int(payload["poll_id"]))


async def do_vote(session: AsyncSession, poll: Poll, *, user_id: int, answers: list[AnswerIn]) -> None:
    """Cast the caller's one ballot. Raises PollNotOpen (also past ``closes_at``, whether or
    not the closing job has run), BallotInvalid, AlreadyVoted. Emits PollVoted."""
    now = utcnow()
    if poll.status != "open" or (poll.closes_at is not None and poll.closes_at <= now):
        raise PollNotOpen()
    rows = await _answer_rows(session, poll, answers)
    await one_sqlite_writer(session)
    ballot = PollBallot(poll_id=poll.id, user_id=user_id, created_at=now)
    session.add(ballot)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:  # the unique (poll, user) key: a second ballot, however concurrent
        raise AlreadyVoted() from None
    for row in rows:
        row.ballot_id = ballot.id
    session.add_all(rows)
    await session.flush()
    emit(session, PollVoted(poll.tenant_id, poll.room_id, poll.show_id, poll.id, user_id))


async def _answer_rows(session: AsyncSession, poll: Poll, answers: list[AnswerIn]) -> list[PollAnswer]:
    questions = await _questions(session, poll.id)
    options = await _options(session, [q.id for q in questions])
    by_id = {q.id: q for q in questions}
    given = {a.question_id: a for a in answers}
    if len(given) != len(answers) or not given.keys() <= by_id.keys():
        raise BallotInvalid("Answer each question of this poll once")
    if poll.kind == "poll" and len(given) != len(questions):
        raise BallotInvalid("Choose an option")
    rows: list[PollAnswer] = []
    for question_id, answer in given.items():
        rows.extend(_check_answer(by_id[question_id], {o.id for o in options[question_id]}, answer))
    return rows


def _check_answer(question: PollQuestion, valid: set[int], answer: AnswerIn) -> list[PollAnswer]:
    if question.kind == "text":
        text = (answer.text or "").strip()
        if answer.option_ids or not text:
            raise BallotInvalid(f"Question {question.position + 1} wants a text answer")
        return [PollAnswer(question_id=question.id, text=text)]
    chosen = answer.option_ids
    if not chosen or len(set(chosen)) != len(chosen) or not set(chosen) <= valid or answer.text:
        raise BallotInvalid(f"Question {question.position + 1}: choose among its options")
    if question.kind == "single" and len(chosen) != 1:
        raise BallotInvalid(f"Question {question.position + 1} takes one option")
    return [PollAnswer(question_id=question.id, option_id=option_id) for option_id in chosen]


async def _questions(session: AsyncSession, poll_id: int) -> list[PollQuestion]:
    rows = await session.scalars(
        select(PollQuestion).where(PollQuestion.poll_id == poll_id).order_by(PollQuestion.position)
    )
    return list(rows)


async def _options(session: AsyncSession, question_ids: list[int]) -> dict[int, list[PollOption]]:
    found: dict[int, list[PollOption]] = {qid: [] for qid in question_ids}
    rows = await session.scalars(
        select(PollOption)
        .where(PollOption.question_id.in_(question_ids))
        .order_by(PollOption.question_id, PollOption.position)
    )
    for option in rows:
        found[option.question_id].append(option)
    return found


async def results(session: AsyncSession, poll: Poll, *, user_id: int | None = None) -> Results:
    """The poll with its live counts (what every viewer sees) and the caller's own ballot."""
    questions = await _questions(session, poll.id)
    options = await _options(session, [q.id for q in questions])
    counts = await _counts(session, [q.id for q in questions])
    ballots = await session.scalar(
        select(func.count()).select_from(PollBallot).where(PollBallot.poll_id == poll.id)
    )
    view: Results = {
        "id": poll.id,
        "room_id": poll.room_id,
        "show_id": poll.show_id,
        "kind": poll.kind,
        "title": poll.title,
        "status": poll.status,
        "duration_s": poll.duration_s,
        "opened_at": poll.opened_at,
        "closes_at": poll.closes_at,
        "closed_at": poll.closed_at,
        "ballots": ballots or 0,
        "questions": [_question_view(q, options[q.id], counts) for q in questions],
        "server_now": utcnow(),
    }
    if user_id is not None:
        view["my_ballot"] = await _my_ballot(session, poll.id, user_id)
    return view


def _question_view(
    question: PollQuestion, options: list[PollOption], counts: dict[tuple[int, int | None], int]
) -> dict[str, Any]:
    """Percentages are of the ballots that answered the question (several options of a
    multiple-choice question may add up to more than 100)."""
    answered = counts.get((question.id, -1), 0)
    rows = []
    for option in options:
        votes = counts.get((question.id, option.id), 0)
        rows.append(
            {"id": option.id, "text": option.text, "votes": votes, "percent": _percent(votes, answered)}
        )
    return {
        "id": question.id,
        "text": question.text,
        "kind": question.kind,
        "answered": answered,
        "options": rows,
    }


def _percent(votes: int, ballots: int) -> float:
    return round(100 * votes / ballots, 1) if ballots else 0.0


async def _counts(session: AsyncSession, question_ids: list[int]) -> dict[tuple[int, int | None], int]:
    """Votes per (question, option); (question, -1) holds ballots that answered a question."""
    rows = await session.execute(
        select(PollAnswer.question_id, PollAnswer.option_id, func.count())
        .where(PollAnswer.question_id.in_(question_ids))
        .group_by(PollAnswer.question_id, PollAnswer.option_id)
    )
    counts: dict[tuple[int, int | None], int] = {(q, o): n for q, o, n in rows.all()}
    answered = await session.execute(
        select(PollAnswer.question_id, func.count(func.distinct(PollAnswer.ballot_id)))
        .where(PollAnswer.question_id.in_(question_ids))
        .group_by(PollAnswer.question_id)
    )
    for question_id, n in answered.all():
        counts[(question_id, -1)] = n
    return counts


async def _my_ballot(session: AsyncSession, poll_id: int, user_id: int) -> dict[int, list[int]] | None:
    ballot_id = await session.scalar(
        select(PollBallot.id).where(PollBallot.poll_id == poll_id, PollBallot.user_id == user_id)
    )
    if ballot_id is None:
        return None
    mine: defaultdict[int, list[int]] = defaultdict(list)
    rows = await session.execute(
        select(PollAnswer.question_id, PollAnswer.option_id).where(PollAnswer.ballot_id == ballot_id)
    )
    for question_id, option_id in rows.all():
        if option_id is not None:
            mine[question_id].append(option_id)
        else:
            mine.setdefault(question_id, [])
    return dict(mine)


async def list_room_polls(session: AsyncSession, *, room_id: int, show_id: int | None) -> list[Poll]:
    """The room's drafts, and the polls of ``show_id`` (open and closed), newest first."""
    where = Poll.status == "draft"
    if show_id is not None:
        where = where | (Poll.show_id == show_id)
    rows = await session.scalars(select(Poll).where(Poll.room_id == room_id, where).order_by(Poll.id.desc()))
    return list(rows)


async def export_csv(session: AsyncSession, poll: Poll) -> str:
    """One row per ballot, one column per question (choices joined by "；"), with a UTF-8 BOM so
    spreadsheet programs read the Chinese text right."""
    questions = await _questions(session, poll.id)
    options = await _options(session, [q.id for q in questions])
    label = {o.id: o.text for group in options.values() for o in group}
    answers: defaultdict[int, defaultdict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    rows = await session.execute(
        select(PollBallot.id, PollBallot.user_id, PollBallot.created_at)
        .where(PollBallot.poll_id == poll.id)
        .order_by(PollBallot.id)
    )
    ballots = rows.all()
    given = await session.execute(
        select(PollAnswer.ballot_id, PollAnswer.question_id, PollAnswer.option_id, PollAnswer.text)
        .join(PollBallot, PollBallot.id == PollAnswer.ballot_id)
        .where(PollBallot.poll_id == poll.id)
        .order_by(PollAnswer.id)
    )
    for ballot_id, question_id, option_id, text in given.all():
        answers[ballot_id][question_id].append(label[option_id] if option_id is not None else text or "")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["ballot", "user_id", "submitted_at", *(q.text for q in questions)])
    for ballot_id, user_id, created_at in ballots:
        cells = ["；".join(answers[ballot_id][q.id]) for q in questions]
        writer.writerow([ballot_id, user_id, created_at.isoformat(), *cells])
    return "\ufeff" + out.getvalue()
