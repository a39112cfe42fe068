"""Notifications JSON API: the caller's inbox and preferences, show reminders (预约), and the
tenant's webhook endpoints (operators)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from livecircle.growth.notify import endpoints, reminders, service
from livecircle.growth.notify.schemas import (
    InboxPage,
    NotificationOut,
    PreferencesIn,
    PreferencesOut,
    ReadAllOut,
    ReminderOut,
    RoomReminderOut,
    WebhookCreated,
    WebhookIn,
    WebhookOut,
    WebhookUpdate,
)
from livecircle.identity.deps import CurrentPrincipal, CurrentUser
from livecircle.identity.schemas import Principal
from livecircle.kit.deps import AppSettings, DbSession
from livecircle.live import service as live_service

router = APIRouter(prefix="/api/v1", tags=["notifications"])
ObjectId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _me(principal: Principal) -> int:
    assert principal.user_id is not None  # CurrentUser
    return principal.user_id


@router.get("/me/inbox")
async def inbox(
    session: DbSession,
    principal: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Entries older than this id")] = None,
) -> InboxPage:
    """Newest first, with the unread count of the whole inbox."""
    rows, next_before = await service.list_inbox(session, user_id=_me(principal), limit=limit, before=before)
    unread = await service.count_unread(session, user_id=_me(principal))
    items = [NotificationOut.model_validate(n) for n in rows]
    return InboxPage(items=items, unread=unread, next_before=next_before)


@router.post("/me/inbox/read-all")
async def read_all(session: DbSession, principal: CurrentUser) -> ReadAllOut:
    marked = await service.do_mark_all_read(session, user_id=_me(principal))
    return ReadAllOut(marked=marked, unread=0)


@router.post("/me/inbox/{notification_id}/read")
async def read_one(notification_id: ObjectId, session: DbSession, principal: CurrentUser) -> NotificationOut:
    note = await service.do_mark_read(session, user_id=_me(principal), notification_id=notification_id)
    return NotificationOut.model_validate(note)


@router.get("/me/notification-preferences")
async def preferences(session: DbSession, principal: CurrentUser) -> PreferencesOut:
    """Every kind × channel (inbox, email); all on until turned off."""
    return PreferencesOut(preferences=await service.get_preferences(session, user_id=_me(principal)))


@router.put("/me/notification-preferences")
async def set_preferences(data: PreferencesIn, session: DbSession, principal: CurrentUser) -> PreferencesOut:
    """Changes only the pairs given, e.g. ``{"preferences": {"show_reminder": {"email": false}}}``."""
    prefs = await service.do_set_preferences(session, user_id=_me(principal), changes=data.preferences)
    return PreferencesOut(preferences=prefs)


@router.get("/shows/{show_id}/reminder")
async def show_reminder(show_id: ObjectId, session: DbSession, principal: CurrentPrincipal) -> ReminderOut:
    show = await live_service.get_show(session, show_id)
    await live_service.access_room(session, principal, show.room_id)
    return await reminders.reminder_state(session, show=show, user_id=principal.user_id)


@router.post("/shows/{show_id}/reminder")
async def sign_up(
    show_id: ObjectId, session: DbSession, principal: CurrentUser, settings: AppSettings
) -> ReminderOut:
    """Remind me (预约) of this show before it starts. Idempotent; 409 ``show_not_remindable``
    once the show is live, over, or has no start time ahead."""
    show = await reminders.access_upcoming_show(session, principal, show_id)
    lead = timedelta(minutes=settings.growth.reminder_lead_minutes)
    await reminders.do_sign_up(session, show=show, user_id=_me(principal), lead=lead)
    return await reminders.reminder_state(session, show=show, user_id=principal.user_id)


@router.delete("/shows/{show_id}/reminder", status_code=status.HTTP_204_NO_CONTENT)
async def cancel_sign_up(show_id: ObjectId, session: DbSession, principal: CurrentUser) -> None:
    show = await live_service.get_show(session, show_id)
    await live_service.access_room(session, principal, show.room_id)
    await reminders.do_cancel_sign_up(session, show_id=show.id, user_id=_me(principal))


@router.get("/rooms/{room_id}/reminder")
async def room_reminder(
    room_id: ObjectId, session: DbSession, principal: CurrentPrincipal
) -> RoomReminderOut:
    """The room's next scheduled show, and whether the caller asked to be reminded of it."""
    return await reminders.room_reminder(session, principal=principal, room_id=room_id)


@router.get("/webhooks")
async def list_webhooks(session: DbSession, principal: CurrentUser) -> list[WebhookOut]:
    tenant_id = endpoints.check_operator(principal)
    return [endpoints.endpoint_out(e) for e in await endpoints.list_endpoints(session, tenant_id=tenant_id)]


@router.post("/webhooks", status_code=status.HTTP_201_CREATED)
async def create_webhook(data: WebhookIn, session: DbSession, principal: CurrentUser) -> WebhookCreated:
    """The answer carries the signing secret; it is not shown again."""
    tenant_id = endpoints.check_operator(principal)
    endpoint = await endpoints.do_create_endpoint(
        session, tenant_id=tenant_id, user_id=principal.user_id, data=data
    )
    return endpoints.endpoint_created(endpoint)


@router.patch("/webhooks/{endpoint_id}")
async def update_webhook(
    endpoint_id: ObjectId, data: WebhookUpdate, session: DbSession, principal: CurrentUser
) -> WebhookOut:
    tenant_id = endpoints.check_operator(principal)
    endpoint = await endpoints.get_endpoint(session, tenant_id=tenant_id, endpoint_id=endpoint_id)
    await endpoints.do_update_endpoint(session, endpoint, data)
    return endpoints.endpoint_out(endpoint)


@router.delete("/webhooks/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_webhook(endpoint_id: ObjectId, session: DbSession, principal: CurrentUser) -> None:
    tenant_id = endpoints.check_operator(principal)
    endpoint = await endpoints.get_endpoint(session, tenant_id=tenant_id, endpoint_id=endpoint_id)
    await endpoints.do_delete_endpoint(session, endpoint)
