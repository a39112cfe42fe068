"""Activity reminders: community/discussion plans a durable job ``REMIND_JOB`` in the same
transaction as an activity's start time; this handler notifies those signed up (inbox,
e-mail, tenant webhooks), unless the activity was cancelled or moved since."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.community import service as community_service
from livecircle.community.discussion import activities
from livecircle.community.discussion import service as discussion
from livecircle.community.discussion.errors import ActivityNotFound
from livecircle.growth.notify import service
from livecircle.growth.notify.reminders import STALE_AFTER
from livecircle.growth.notify.schemas import Kind
from livecircle.kit.clock import utcnow

REMIND_JOB = activities.REMIND_JOB
Translate = Callable[[str], str]


async def on_remind_job(
    session: AsyncSession, payload: dict[str, Any], *, translate: Translate, email: bool
) -> int:
    """Returns how many members were notified (0: cancelled, moved, long past or nobody)."""
    try:
        activity = await discussion.get_activity(session, int(payload["activity_id"]))
    except ActivityNotFound:
        return 0
    starts_at = datetime.fromisoformat(str(payload["starts_at"]))
    now = utcnow()
    if (
        activity.state != activities.SCHEDULED
        or activity.starts_at != starts_at
        or starts_at < now - STALE_AFTER
    ):
        return 0
    audience = await discussion.list_signup_user_ids(session, activity.id)
    if not audience:
        return 0
    community = await community_service.get_community(session, activity.community_id)
    minutes = max(0, round((starts_at - now).total_seconds() / 60))
    values = {"community": community.name, "minutes": minutes, "time": starts_at.strftime("%Y-%m-%d %H:%M")}
    await service.do_notify(
        session,
        tenant_id=activity.tenant_id,
        user_ids=audience,
        kind=Kind.EVENT_REMINDER,
        title=translate("Activity soon: %(title)s") % {"title": activity.title},
        body=translate("%(community)s: starts in %(minutes)s min (%(time)s UTC).") % values,
        link=f"/communities/{community.id}",
        dedupe_key=f"event_reminder:{activity.id}:{int(starts_at.timestamp() * 1000)}",
        data={
            "activity": {
                "id": activity.id,
                "community_id": community.id,
                "title": activity.title,
                "starts_at": payload["starts_at"],
            }
        },
        email=email,
    )
    return len(audience)
