"""Q&A service: ask in the live show, upvote once per account, and the host's or a moderator's
answer / pin / hide. Everything runs inside the caller's unit of work (flush, never commit).

Ordering everywhere: pinned first, then most votes, then oldest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from livecircle.identity.schemas import Principal
from livecircle.interaction.qa.errors import (
    OwnQuestion,
    QuestionClosed,
    QuestionCooldown,
    QuestionNotFound,
    QuestionTextInvalid,
    TooManyQuestions,
)
from livecircle.interaction.qa.events import QuestionAsked, QuestionsChanged, QuestionVoted
from livecircle.interaction.qa.models import ANSWERED, HIDDEN, OPEN, Question, QuestionVote
from livecircle.interaction.qa.schemas import QuestionOut
from livecircle.interaction.service import check_moderate_room, is_moderator
from livecircle.kit.clock import utcnow
from livecircle.kit.db import Database, dialect_insert, one_sqlite_writer
from livecircle.kit.events import emit
from livecircle.live import service as live_service
from livecircle.live.errors import ShowNotLive
from livecircle.live.models import Room, Show
from livecircle.live.schemas import ShowStatus
from livecircle.moderation import service as moderation_service
from livecircle.moderation.errors import Banned, MessageBlocked, Muted
from livecircle.moderation.filters import FilterRegistry
from livecircle.moderation.wordfilter import Action
from livecircle.privacy import consent

MAX_TEXT = 300
MAX_OPEN_PER_USER = 3  # open questions per viewer per show
COOLDOWN_SECONDS = 10.0  # between two questions of one viewer
RANKING = (Question.pinned.desc(), Question.votes.desc(), Question.created_at, Question.id)


# ---- asking ----


async def check_ask(
    session: AsyncSession,
    db: Database,
    filters: FilterRegistry,
    principal: Principal,
    room_id: int,
    *,
    text: str,
) -> Question:
    """Ask in the room's live show, through the tenant's word filter (as chat).

    A *mask* verdict stores the text starred; *block* refuses it (logged); *review* keeps the
    question hidden for the host or a moderator to reopen (logged, no broadcast).
    Raises RoomNotFound, ShowNotLive, Banned, Muted, QuestionTextInvalid, MessageBlocked,
    TooManyQuestions, QuestionCooldown. Emits QuestionAsked (unless held).
    """
    assert principal.user_id is not None
    room = await live_service.access_room(session, principal, room_id)
    show = await live_service.get_live_show(session, room.id)
    if show is None:
        raise ShowNotLive("Questions can be asked while the show is live")
    await _check_standing(session, room_id=room.id, user_id=principal.user_id)
    await consent.require_guardian(session, principal.user_id)
    text = " ".join(text.split())
    if not text or len(text) > MAX_TEXT:
        raise QuestionTextInvalid(max_length=MAX_TEXT)
    verdict = (await filters.get(room.tenant_id)).check(text)
    if verdict.action is Action.BLOCK:
        await _log_blocked(db, room, principal.user_id, text, list(verdict.words))
        raise MessageBlocked("The question breaks the room rules")
    if not is_moderator(principal, room.tenant_id, room.owner_id):
        await _check_pace(session, show_id=show.id, user_id=principal.user_id)
    held = verdict.action is Action.REVIEW
    # A held question keeps its words for the moderator who reviews it (as a held chat line).
    question = await do_ask(session, show, principal, text=text if held else verdict.text, held=held)
    if held:
        _log(session, room, None, "auto_hold", question, words=list(verdict.words))
    return question


async def do_ask(
    session: AsyncSession, show: Show, principal: Principal, *, text: str, held: bool
) -> Question:
    assert principal.user_id is not None
    question = Question(
        tenant_id=show.tenant_id,
        room_id=show.room_id,
        show_id=show.id,
        user_id=principal.user_id,
        display_name=principal.display_name[:64] or f"#{principal.user_id}",
        text=text,
        votes=0,
        status=HIDDEN if held else OPEN,
        pinned=False,
        created_at=utcnow(),
    )
    session.add(question)
    await session.flush()
    if not held:
        emit(session, QuestionAsked(show.tenant_id, show.room_id, show.id, question.id))
    return question


async def _check_standing(session: AsyncSession, *, room_id: int, user_id: int) -> None:
    """The room's chat sanctions hold for questions too."""
    sanctions = await moderation_service.active_sanctions(session, room_id=room_id, user_id=user_id)
    decided = moderation_service.strongest(sanctions)
    if decided is None:
        return
    kind, until = decided
    if kind == "ban":
        raise Banned("You are banned from this room's chat and Q&A")
    retry = (until - utcnow()).total_seconds() if until else None
    raise Muted(retry_after=round(retry, 1) if retry else None)


async def _check_pace(session: AsyncSession, *, show_id: int, user_id: int) -> None:
    """At most MAX_OPEN_PER_USER open questions, and COOLDOWN_SECONDS between two. One ask per
    viewer and show at a time decides, so a burst of parallel asks cannot slip past."""
    await one_sqlite_writer(session)
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            sql_text("SELECT pg_advisory_xact_lock(CAST(:a AS integer), CAST(:b AS integer))"),
            {"a": show_id, "b": user_id},
        )
    row = (
        await session.execute(
            select(func.count().filter(Question.status == OPEN), func.max(Question.created_at)).where(
                Question.show_id == show_id, Question.user_id == user_id
            )
        )
    ).one()
    open_count, last = row
    if last is not None:
        wait = (last + timedelta(seconds=COOLDOWN_SECONDS) - utcnow()).total_seconds()
        if wait > 0:
            raise QuestionCooldown(retry_after=round(wait, 1))
    if (open_count or 0) >= MAX_OPEN_PER_USER:
        raise TooManyQuestions(limit=MAX_OPEN_PER_USER)


# ---- voting ----


async def check_vote(session: AsyncSession, principal: Principal, question_id: int, *, up: bool) -> Question:
    """Add (``up``) or take back the caller's upvote; repeating either changes nothing.

    Raises QuestionNotFound, OwnQuestion, QuestionClosed (answered or hidden), ShowNotLive.
    Emits QuestionVoted when the count changed.
    """
    assert principal.user_id is not None
    question = await access_question(session, principal, question_id)
    if question.user_id == principal.user_id:
        raise OwnQuestion()
    if question.status != OPEN:
        raise QuestionClosed()
    show = await live_service.get_show(session, question.show_id)
    if show.status != ShowStatus.LIVE.value:
        raise ShowNotLive("Voting closed when the show ended")
    if up:
        await do_vote(session, question, user_id=principal.user_id)
    else:
        await do_unvote(session, question, user_id=principal.user_id)
    return question


async def do_vote(session: AsyncSession, question: Question, *, user_id: int) -> bool:
    """One row per account and question (the primary key decides between concurrent votes);
    ``votes`` moves in the same transaction as the row. True when this call added the vote."""
    await one_sqlite_writer(session)
    insert = (
        dialect_insert(session, QuestionVote)
        .values(question_id=question.id, user_id=user_id, created_at=utcnow())
        .on_conflict_do_nothing()
        .returning(QuestionVote.user_id)
    )
    if await session.scalar(insert) is None:
        return False
    await _count(session, question, +1)
    return True


async def do_unvote(session: AsyncSession, question: Question, *, user_id: int) -> bool:
    await one_sqlite_writer(session)
    gone = await session.scalar(
        delete(QuestionVote)
        .where(QuestionVote.question_id == question.id, QuestionVote.user_id == user_id)
        .returning(QuestionVote.user_id)
    )
    if gone is None:
        return False
    await _count(session, question, -1)
    return True


async def _count(session: AsyncSession, question: Question, step: int) -> None:
    votes = await session.scalar(
        update(Question)
        .where(Question.id == question.id)
        .values(votes=Question.votes + step)
        .returning(Question.votes)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(question, "votes", int(votes or 0))
    emit(session, QuestionVoted(question.tenant_id, question.room_id, question.show_id, question.id))


# ---- the host's and moderators' controls ----


async def check_update_question(
    session: AsyncSession, principal: Principal, question_id: int, *, status: str | None, pinned: bool | None
) -> Question:
    """Raises QuestionNotFound, RoomNotFound, NotModerator, QuestionClosed (pinning a hidden one)."""
    question = await get_question(session, question_id)
    room = await check_moderate_room(session, principal, question.room_id)
    return await do_update_question(
        session, room, question, actor_id=principal.user_id, status=status, pinned=pinned
    )


async def do_update_question(
    session: AsyncSession,
    room: Room,
    question: Question,
    *,
    actor_id: int | None,
    status: str | None,
    pinned: bool | None,
) -> Question:
    """Answered stamps who and when; hidden unpins; pinning unpins the show's other pinned
    question (one at a time per show). Emits QuestionsChanged with every question touched."""
    touched = {question.id}
    if status is not None and status != question.status:
        _set_status(session, room, question, status, actor_id)
    if pinned and question.status == HIDDEN:
        raise QuestionClosed("Show the question again before pinning it")
    if pinned and not question.pinned:
        touched.update(await _unpin_others(session, question))
        question.pinned = True
    elif pinned is False or question.status == HIDDEN:
        question.pinned = False
    await session.flush()
    emit(
        session,
        QuestionsChanged(question.tenant_id, question.room_id, question.show_id, tuple(sorted(touched))),
    )
    return question


def _set_status(
    session: AsyncSession, room: Room, question: Question, status: str, actor_id: int | None
) -> None:
    question.status = status
    question.answered_at = utcnow() if status == ANSWERED else None
    question.answered_by = actor_id if status == ANSWERED else None
    if status == HIDDEN:
        _log(session, room, actor_id, "hide_question", question)
    elif status == OPEN:
        _log(session, room, actor_id, "reopen_question", question)


async def _unpin_others(session: AsyncSession, question: Question) -> list[int]:
    """Two moderators pinning at once take turns on the show: the second unpins the first."""
    await one_sqlite_writer(session)
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(Show.id).where(Show.id == question.show_id).with_for_update())
    unpinned = await session.scalars(
        update(Question)
        .where(Question.show_id == question.show_id, Question.pinned.is_(True), Question.id != question.id)
        .values(pinned=False)
        .returning(Question.id)
        .execution_options(synchronize_session="fetch")
    )
    return list(unpinned)


# ---- reading ----


async def get_question(session: AsyncSession, question_id: int) -> Question:
    question = await session.get(Question, question_id)
    if question is None:
        raise QuestionNotFound()
    return question


async def get_questions(session: AsyncSession, question_ids: Sequence[int]) -> list[Question]:
    if not question_ids:
        return []
    return list(
        await session.scalars(select(Question).where(Question.id.in_(question_ids)).order_by(*RANKING))
    )


async def access_question(session: AsyncSession, principal: Principal, question_id: int) -> Question:
    """The question if ``principal`` may see it (hidden ones: the host and moderators only)."""
    question = await get_question(session, question_id)
    room = await live_service.access_room(session, principal, question.room_id)
    if question.status == HIDDEN and not is_moderator(principal, room.tenant_id, room.owner_id):
        raise QuestionNotFound()
    return question


async def get_board_show(session: AsyncSession, room_id: int) -> Show | None:
    """The live show, else the latest show that went live (its questions stay for the replay)."""
    live = await live_service.get_live_show(session, room_id)
    if live is not None:
        return live
    return await session.scalar(
        select(Show)
        .where(Show.room_id == room_id, Show.started_at.is_not(None))
        .order_by(Show.started_at.desc(), Show.id.desc())
        .limit(1)
    )


async def list_questions(
    session: AsyncSession, *, show_id: int, include_hidden: bool, limit: int = 200
) -> list[Question]:
    query = select(Question).where(Question.show_id == show_id)
    if not include_hidden:
        query = query.where(Question.status != HIDDEN)
    return list(await session.scalars(query.order_by(*RANKING).limit(limit)))


async def voted_ids(session: AsyncSession, *, show_id: int, user_id: int | None) -> set[int]:
    """The questions of ``show_id`` that ``user_id`` upvoted."""
    if user_id is None:
        return set()
    rows = await session.scalars(
        select(QuestionVote.question_id)
        .join(Question, Question.id == QuestionVote.question_id)
        .where(Question.show_id == show_id, QuestionVote.user_id == user_id)
    )
    return set(rows)


def view(question: Question) -> dict[str, Any]:
    """A question as the room hears it (JSON-ready; ``voted`` belongs to each viewer)."""
    return QuestionOut.model_validate(question).model_dump(mode="json", exclude={"voted"})


def views(questions: Sequence[Question]) -> list[dict[str, Any]]:
    return [view(q) for q in questions]


# ---- the moderation log ----


def _log(
    session: AsyncSession, room: Room, actor_id: int | None, action: str, question: Question, **detail: Any
) -> None:
    moderation_service.log_action(
        session,
        tenant_id=room.tenant_id,
        room_id=room.id,
        actor_id=actor_id,
        action=action,
        target_user_id=question.user_id,
        text=question.text,
        question_id=question.id,
        **detail,
    )


async def _log_blocked(db: Database, room: Room, user_id: int, text: str, words: list[str]) -> None:
    """In a unit of work of its own: the request's rolls back with the refusal."""
    async with db.unit_of_work() as session:
        moderation_service.log_action(
            session,
            tenant_id=room.tenant_id,
            room_id=room.id,
            actor_id=None,
            action="auto_block",
            target_user_id=user_id,
            words=words,
            text=text,
            kind="question",
        )
