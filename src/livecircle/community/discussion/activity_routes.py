"""Activities JSON API: admins schedule, reschedule and cancel; members sign up until the start."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from livecircle.community import service as community_service
from livecircle.community.discussion import activities, views
from livecircle.community.discussion.deps import ObjectId, TextScreen
from livecircle.community.discussion.models import Activity
from livecircle.community.discussion.schemas import (
    ActivityCreate,
    ActivityOut,
    ActivityUpdate,
    SignupMemberOut,
    SignupOut,
)
from livecircle.identity.deps import CurrentUser
from livecircle.kit.deps import AppSettings, DbSession

router = APIRouter(prefix="/api/v1", tags=["community activities"])


def _signup(activity: Activity, signed_up: bool) -> SignupOut:
    return SignupOut(
        activity_id=activity.id,
        signups=activity.signups,
        seats_left=activities.seats_left(activity),
        signed_up=signed_up,
    )


@router.get("/communities/{community_id}/activities")
async def community_activities(
    community_id: ObjectId,
    session: DbSession,
    principal: CurrentUser,
    include_past: Annotated[bool, Query()] = False,
) -> list[ActivityOut]:
    """Soonest first; those ended are left out unless ``include_past``."""
    await community_service.check_member(session, principal, community_id)
    rows = await activities.list_activities(session, community_id=community_id, include_past=include_past)
    return await views.activity_views(session, principal, rows)


@router.post("/communities/{community_id}/activities", status_code=status.HTTP_201_CREATED)
async def create_activity(
    community_id: ObjectId,
    data: ActivityCreate,
    session: DbSession,
    principal: CurrentUser,
    screen: TextScreen,
    settings: AppSettings,
) -> ActivityOut:
    """Those who sign up are reminded ``growth.reminder_lead_minutes`` before it starts."""
    before = timedelta(minutes=settings.growth.reminder_lead_minutes)
    activity = await activities.check_create_activity(
        session, screen, principal, community_id, data, remind_before=before
    )
    return views.activity_view(activity, signed_up=False)


@router.get("/activities/{activity_id}")
async def get_activity(activity_id: ObjectId, session: DbSession, principal: CurrentUser) -> ActivityOut:
    activity = await activities.access_activity(session, principal, activity_id)
    [view] = await views.activity_views(session, principal, [activity])
    return view


@router.patch("/activities/{activity_id}")
async def update_activity(
    activity_id: ObjectId,
    data: ActivityUpdate,
    session: DbSession,
    principal: CurrentUser,
    screen: TextScreen,
    settings: AppSettings,
) -> ActivityOut:
    """Edit or reschedule (members signed up hear about a new time through the reminders)."""
    before = timedelta(minutes=settings.growth.reminder_lead_minutes)
    activity = await activities.check_update_activity(
        session, screen, principal, activity_id, data, remind_before=before
    )
    [view] = await views.activity_views(session, principal, [activity])
    return view


@router.post("/activities/{activity_id}/cancel")
async def cancel_activity(activity_id: ObjectId, session: DbSession, principal: CurrentUser) -> ActivityOut:
    activity = await activities.check_cancel_activity(session, principal, activity_id)
    [view] = await views.activity_views(session, principal, [activity])
    return view


@router.put("/activities/{activity_id}/signup")
async def sign_up(
    activity_id: ObjectId, session: DbSession, principal: CurrentUser, response: Response
) -> SignupOut:
    """201 for a new seat, 200 when already signed up; 409 ``activity_full`` or
    ``activity_signup_closed`` (started or cancelled)."""
    activity, created = await activities.check_sign_up(session, principal, activity_id)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return _signup(activity, True)


@router.delete("/activities/{activity_id}/signup")
async def cancel_sign_up(activity_id: ObjectId, session: DbSession, principal: CurrentUser) -> SignupOut:
    """Give the seat back before the start; idempotent."""
    activity = await activities.check_cancel_sign_up(session, principal, activity_id)
    return _signup(activity, False)


@router.get("/activities/{activity_id}/signups")
async def signups(activity_id: ObjectId, session: DbSession, principal: CurrentUser) -> list[SignupMemberOut]:
    """Who signed up, in sign-up order (admins)."""
    activity = await activities.get_activity(session, activity_id)
    await community_service.check_admin(session, principal, activity.community_id)
    rows = await activities.list_signups(session, activity_id=activity.id)
    return [SignupMemberOut.model_validate(row) for row in rows]
