"""Q&A JSON API: viewers ask in the live show and upvote; the host and moderators answer, pin
and hide; the list stays with the show for its replay."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from livecircle.identity.deps import CurrentPrincipal, CurrentUser
from livecircle.identity.schemas import Principal
from livecircle.interaction.engine import Engine
from livecircle.interaction.qa import service
from livecircle.interaction.qa.models import HIDDEN, Question
from livecircle.interaction.qa.schemas import QuestionBoard, QuestionIn, QuestionOut, QuestionUpdate
from livecircle.interaction.service import is_moderator
from livecircle.kit.db import Database
from livecircle.kit.deps import DbSession, get_database
from livecircle.live import service as live_service
from livecircle.live.deps import RoomAccess
from livecircle.live.models import Room
from livecircle.live.schemas import ShowStatus

router = APIRouter(prefix="/api/v1", tags=["qa"])
ObjectId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=500)]


async def _database(conn: HTTPConnection) -> Database:
    return get_database(conn)


Db = Annotated[Database, Depends(_database)]


@router.get("/rooms/{room_id}/questions")
async def room_questions(
    room: RoomAccess, session: DbSession, principal: CurrentPrincipal, limit: Limit = 200
) -> QuestionBoard:
    """The live show's questions, else the latest show's; the host and moderators also see hidden ones."""
    show = await service.get_board_show(session, room.id)
    if show is None:
        return QuestionBoard(show_id=None, live=False, questions=[])
    questions = await _listed(session, principal, room, show.id, limit)
    return QuestionBoard(show_id=show.id, live=show.status == ShowStatus.LIVE.value, questions=questions)


@router.get("/shows/{show_id}/questions")
async def show_questions(
    show_id: ObjectId, session: DbSession, principal: CurrentPrincipal, limit: Limit = 200
) -> list[QuestionOut]:
    """A show's questions, live or after it ended (beside its replay)."""
    show = await live_service.get_show(session, show_id)
    room = await live_service.access_room(session, principal, show.room_id)
    return await _listed(session, principal, room, show.id, limit)


@router.post("/rooms/{room_id}/questions", status_code=status.HTTP_201_CREATED)
async def ask_question(
    room_id: ObjectId,
    data: QuestionIn,
    session: DbSession,
    principal: CurrentUser,
    engine: Engine,
    db: Db,
    response: Response,
) -> QuestionOut:
    """Ask in the live show. 201 when the room sees it; 202 when the word filter held it for a
    moderator (status ``hidden`` until one reopens it)."""
    question = await service.check_ask(session, db, engine.filters, principal, room_id, text=data.text)
    if question.status == HIDDEN:
        response.status_code = status.HTTP_202_ACCEPTED
    return QuestionOut.model_validate(question)


@router.put("/questions/{question_id}/vote")
async def upvote(question_id: ObjectId, session: DbSession, principal: CurrentUser) -> QuestionOut:
    """One upvote per account (repeating it changes nothing); not on your own question."""
    question = await service.check_vote(session, principal, question_id, up=True)
    return QuestionOut.model_validate(question).model_copy(update={"voted": True})


@router.delete("/questions/{question_id}/vote")
async def take_back_vote(question_id: ObjectId, session: DbSession, principal: CurrentUser) -> QuestionOut:
    question = await service.check_vote(session, principal, question_id, up=False)
    return QuestionOut.model_validate(question)


@router.patch("/questions/{question_id}")
async def update_question(
    question_id: ObjectId, data: QuestionUpdate, session: DbSession, principal: CurrentUser
) -> QuestionOut:
    """The host or a moderator: ``status`` answered | hidden | open (reopen), ``pinned``."""
    question = await service.check_update_question(
        session, principal, question_id, status=data.status, pinned=data.pinned
    )
    voted = await service.voted_ids(session, show_id=question.show_id, user_id=principal.user_id)
    return _out([question], voted)[0]


async def _listed(
    session: AsyncSession, principal: Principal, room: Room, show_id: int, limit: int
) -> list[QuestionOut]:
    moderator = is_moderator(principal, room.tenant_id, room.owner_id)
    questions = await service.list_questions(session, show_id=show_id, include_hidden=moderator, limit=limit)
    return _out(questions, await service.voted_ids(session, show_id=show_id, user_id=principal.user_id))


def _out(questions: Sequence[Question], voted: set[int]) -> list[QuestionOut]:
    return [QuestionOut.model_validate(q).model_copy(update={"voted": q.id in voted}) for q in questions]
