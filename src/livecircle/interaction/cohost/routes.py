"""Co-host (连麦) JSON API. Viewers: the snapshot, my status and position, apply, cancel, answer
an invitation. Host and moderators: the scored queue, accept, reject, remove, invite."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, status

from livecircle.identity.deps import CurrentPrincipal, CurrentUser
from livecircle.interaction.cohost import queue, rules, service
from livecircle.interaction.cohost.schemas import (
    CohostBoardOut,
    CohostMeOut,
    CohostQueueOut,
    CohostRequestOut,
    InviteIn,
    QueueEntryOut,
)
from livecircle.kit.deps import AppSettings, DbSession

router = APIRouter(prefix="/api/v1", tags=["cohost"])
RoomId = Annotated[int, Path(ge=1, le=2**31 - 1)]
RequestId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def mine_out(mine: queue.Mine) -> CohostMeOut:
    request = mine.request
    return CohostMeOut(
        show_id=mine.show_id,
        request_id=request.id if request else None,
        status=request.status if request else "none",
        source=request.source if request else None,
        position=mine.position,
        queue_length=mine.queue_length,
        retry_after=mine.retry_after,
    )


def board_out(board: queue.Board) -> CohostBoardOut:
    queue = [
        QueueEntryOut.model_validate(
            {
                **CohostRequestOut.model_validate(r).model_dump(),
                "position": n,
                "waited_s": round((board.now - r.applied_at).total_seconds(), 3),
                "score": round(rules.score(r.tier_rank, r.applied_at, board.now), 3),
            }
        )
        for n, r in enumerate(board.queue, start=1)
    ]
    return CohostBoardOut(
        show_id=board.show_id,
        max_cohosts=rules.MAX_COHOSTS,
        tier_weight_s=rules.TIER_WEIGHT_S,
        queue=queue,
        cohosts=[CohostRequestOut.model_validate(r) for r in board.cohosts],
        invited=[CohostRequestOut.model_validate(r) for r in board.invited],
    )


# ---- everybody in the room ----


@router.get("/rooms/{room_id}/cohost")
async def cohost_snapshot(room_id: RoomId, session: DbSession, principal: CurrentPrincipal) -> CohostQueueOut:
    """The live show's queue (positions), co-hosts on stage and open invitations."""
    return CohostQueueOut.model_validate(await queue.get_room_snapshot(session, principal, room_id))


@router.get("/rooms/{room_id}/cohost/me")
async def my_cohost(room_id: RoomId, session: DbSession, principal: CurrentUser) -> CohostMeOut:
    """My latest request in the live show, my position in line and my cooldown."""
    return mine_out(await queue.get_mine(session, principal, room_id))


@router.post("/rooms/{room_id}/cohost/apply", status_code=status.HTTP_201_CREATED)
async def apply_cohost(
    room_id: RoomId, session: DbSession, principal: CurrentUser, settings: AppSettings
) -> CohostMeOut:
    """申请连麦: join the queue of the live show. 409 when not live, already in, or the queue is
    full; 429 (``retry_after``) during the cooldown after a rejection, removal or cancel."""
    await service.check_apply(session, settings.economy, principal, room_id)
    return mine_out(await queue.get_mine(session, principal, room_id))


@router.post("/rooms/{room_id}/cohost/cancel")
async def cancel_cohost(room_id: RoomId, session: DbSession, principal: CurrentUser) -> CohostMeOut:
    """Leave the queue (cooldown), decline an invitation, or step off stage."""
    await service.check_cancel(session, principal, room_id)
    return mine_out(await queue.get_mine(session, principal, room_id))


@router.post("/rooms/{room_id}/cohost/invitation/{answer}")
async def answer_invitation(
    room_id: RoomId, answer: Literal["accept", "decline"], session: DbSession, principal: CurrentUser
) -> CohostMeOut:
    """Answer the host's invitation. Accepting is 409 ``cohost_full`` when every seat is taken."""
    await service.check_answer_invitation(session, principal, room_id, accept=answer == "accept")
    return mine_out(await queue.get_mine(session, principal, room_id))


# ---- the host and moderators ----


@router.get("/rooms/{room_id}/cohost/queue")
async def cohost_board(room_id: RoomId, session: DbSession, principal: CurrentUser) -> CohostBoardOut:
    """The scored queue (first in line first), the co-hosts on stage and open invitations."""
    return board_out(await queue.get_board(session, principal, room_id))


@router.post("/rooms/{room_id}/cohost/requests/{request_id}/{decision}")
async def decide_cohost(
    room_id: RoomId,
    request_id: RequestId,
    decision: Literal["accept", "reject", "remove"],
    session: DbSession,
    principal: CurrentUser,
) -> CohostRequestOut:
    """Accept or reject an applicant; remove a co-host from stage or withdraw an invitation."""
    if decision == "remove":
        request = await service.check_remove(session, principal, room_id, request_id)
    else:
        request = await service.check_decide(
            session, principal, room_id, request_id, accept=decision == "accept"
        )
    return CohostRequestOut.model_validate(request)


@router.post("/rooms/{room_id}/cohost/invite", status_code=status.HTTP_201_CREATED)
async def invite_cohost(
    room_id: RoomId, data: InviteIn, session: DbSession, principal: CurrentUser, settings: AppSettings
) -> CohostRequestOut:
    """Invite a user (by id) on stage; they accept or decline in the room."""
    request = await service.check_invite(session, settings.economy, principal, room_id, data.user_id)
    return CohostRequestOut.model_validate(request)
