"""Invites JSON API: my invites (code, link, counts, list) and the tenant's leaderboard."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from livecircle.growth.invites import service
from livecircle.growth.invites.deps import ClientMarks
from livecircle.growth.invites.schemas import BoardEntryOut, LeaderboardOut, MyInvitesOut
from livecircle.identity.deps import CurrentUser
from livecircle.kit.deps import AppSettings, DbSession

router = APIRouter(prefix="/api/v1", tags=["invites"])


@router.get("/me/invites")
async def my_invites(
    session: DbSession, principal: CurrentUser, settings: AppSettings, client: ClientMarks
) -> MyInvitesOut:
    """The caller's code and link, invites per status and the latest 100 (also notes the caller's
    IP and device, which the self-invite rule compares sign-ups with)."""
    assert principal.user_id is not None
    await service.do_note_marks(session, user_id=principal.user_id, ip=client.ip, device=client.device)
    return MyInvitesOut.model_validate(
        await service.get_my_invites(session, settings, user_id=principal.user_id)
    )


@router.get("/invites/leaderboard")
async def leaderboard(session: DbSession, principal: CurrentUser) -> LeaderboardOut:
    """Top 50 inviters of the caller's tenant by vested invites: all time and the last 7 days."""
    assert principal.tenant_id is not None
    boards = await service.get_boards(session, tenant_id=principal.tenant_id)
    return LeaderboardOut(
        **{name: [BoardEntryOut(**asdict(entry)) for entry in entries] for name, entries in boards.items()}
    )
