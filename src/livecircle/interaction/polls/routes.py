"""Polls JSON API: the host prepares and launches, viewers vote once, everybody sees results."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status

from livecircle.identity.deps import CurrentPrincipal, CurrentUser
from livecircle.interaction import runofshow
from livecircle.interaction import service as interaction_service
from livecircle.interaction.polls import service
from livecircle.interaction.polls.errors import PollNotFound, VoteNeedsAccount
from livecircle.interaction.polls.models import Poll
from livecircle.interaction.polls.schemas import BallotIn, PollCreate, PollOut
from livecircle.kit.deps import DbSession
from livecircle.live import service as live_service

router = APIRouter(prefix="/api/v1", tags=["polls"])
ObjectId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post("/rooms/{room_id}/polls", status_code=status.HTTP_201_CREATED)
async def create_poll(
    room_id: ObjectId, data: PollCreate, session: DbSession, principal: CurrentUser
) -> PollOut:
    """A draft; ``launch`` opens it in the live show now, ``offset_s`` plans it into the run-of-show."""
    room = await interaction_service.check_moderate_room(session, principal, room_id)
    assert principal.user_id is not None
    poll = await service.do_create_poll(session, room=room, user_id=principal.user_id, data=data)
    if data.launch:
        await service.do_open_poll(session, poll)
    elif data.offset_s is not None:
        await runofshow.do_plan(session, room=room, tool="poll", tool_id=poll.id, offset_s=data.offset_s)
    return PollOut.model_validate(await service.results(session, poll))


@router.get("/rooms/{room_id}/polls")
async def room_polls(room_id: ObjectId, session: DbSession, principal: CurrentPrincipal) -> list[PollOut]:
    """The live (else latest) show's polls, newest first; the host and moderators also see drafts."""
    room = await live_service.access_room(session, principal, room_id)
    show = await live_service.get_current_show(session, room.id)
    rows = await service.list_room_polls(session, room_id=room.id, show_id=show.id if show else None)
    if not interaction_service.is_moderator(principal, room.tenant_id, room.owner_id):
        rows = [p for p in rows if p.status != "draft"]
    return [
        PollOut.model_validate(await service.results(session, p, user_id=principal.user_id)) for p in rows
    ]


@router.get("/polls/{poll_id}")
async def get_poll(poll_id: ObjectId, session: DbSession, principal: CurrentPrincipal) -> PollOut:
    poll = await _visible_poll(session, principal, poll_id)
    return PollOut.model_validate(await service.results(session, poll, user_id=principal.user_id))


@router.post("/polls/{poll_id}/open")
async def open_poll(poll_id: ObjectId, session: DbSession, principal: CurrentUser) -> PollOut:
    """Launch a draft in the live show (one click from the console)."""
    poll = await _managed_poll(session, principal, poll_id)
    await service.do_open_poll(session, poll)
    return PollOut.model_validate(await service.results(session, poll))


@router.post("/polls/{poll_id}/close")
async def close_poll(poll_id: ObjectId, session: DbSession, principal: CurrentUser) -> PollOut:
    poll = await _managed_poll(session, principal, poll_id)
    await service.do_close_poll(session, poll.id)
    await session.refresh(poll)
    return PollOut.model_validate(await service.results(session, poll))


@router.post("/polls/{poll_id}/ballot", status_code=status.HTTP_201_CREATED)
async def vote(poll_id: ObjectId, data: BallotIn, session: DbSession, principal: CurrentPrincipal) -> PollOut:
    """The caller's one ballot: 409 ``already_voted`` for a second, 409 ``poll_not_open`` once closed."""
    if principal.user_id is None:
        raise VoteNeedsAccount()
    poll = await _visible_poll(session, principal, poll_id)
    await service.do_vote(session, poll, user_id=principal.user_id, answers=data.answers)
    return PollOut.model_validate(await service.results(session, poll, user_id=principal.user_id))


@router.get("/polls/{poll_id}/results.csv", response_class=Response)
async def export_poll(poll_id: ObjectId, session: DbSession, principal: CurrentUser) -> Response:
    poll = await _managed_poll(session, principal, poll_id)
    body = await service.export_csv(session, poll)
    headers = {"Content-Disposition": f'attachment; filename="poll-{poll.id}.csv"'}
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)


async def _visible_poll(session: DbSession, principal: Any, poll_id: int) -> Poll:
    """A poll of a room the caller may see; drafts only for those who run the room."""
    poll = await service.get_poll(session, poll_id)
    room = await live_service.access_room(session, principal, poll.room_id)
    if poll.status == "draft" and not interaction_service.is_moderator(
        principal, room.tenant_id, room.owner_id
    ):
        raise PollNotFound()
    return poll


async def _managed_poll(session: DbSession, principal: Any, poll_id: int) -> Poll:
    poll = await service.get_poll(session, poll_id)
    await interaction_service.check_moderate_room(session, principal, poll.room_id)
    return poll
