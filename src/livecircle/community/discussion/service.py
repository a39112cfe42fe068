"""What other domains read of the discussion: growth reminds those signed up for an activity
before it starts (subscribing to ActivityScheduled / ActivitySignedUp / ActivityCancelled)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.community.discussion.activities import get_activity, seats_left, signup_open
from livecircle.community.discussion.models import ActivitySignup

__all__ = ["get_activity", "list_signup_user_ids", "seats_left", "signup_open"]


async def list_signup_user_ids(session: AsyncSession, activity_id: int) -> list[int]:
    """The members signed up for the activity, in sign-up order."""
    rows = await session.scalars(
        select(ActivitySignup.user_id)
        .where(ActivitySignup.activity_id == activity_id)
        .order_by(ActivitySignup.created_at, ActivitySignup.user_id)
    )
    return list(rows)
