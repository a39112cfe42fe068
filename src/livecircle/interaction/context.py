"""What a chat line is checked against: the room's context and the sender's standing,
loaded from the database (the pipeline caches them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from livecircle.identity import service as identity_service
from livecircle.identity.schemas import Principal, Role
from livecircle.interaction import policy as policy_service
from livecircle.interaction.errors import ChatNeedsAccount
from livecircle.interaction.models import AutoReply
from livecircle.interaction.service import is_moderator
from livecircle.kit.clock import as_utc
from livecircle.kit.db import Database
from livecircle.live import audience
from livecircle.live import service as live_service
from livecircle.moderation import service as moderation_service
from livecircle.privacy import consent
from livecircle.privacy.consent_errors import GuardianConsentPending


@dataclass(slots=True)
class RoomContext:
    room_id: int
    tenant_id: int
    owner_id: int
    show_id: int | None
    mode: str
    slow_mode_seconds: int
    min_account_age_minutes: int
    pinned: dict[str, Any] | None
    auto_replies: list[AutoReply]
    visibility: str


@dataclass(slots=True)
class Sender:
    user_id: int
    display_name: str
    badge: str | None  # host | moderator | None
    is_moderator: bool
    registered_at: datetime
    sanction: tuple[str, datetime | None] | None
    is_member: bool
    follows_host: bool


async def load_room_context(db: Database, room_id: int) -> RoomContext:
    """The same for every viewer (who may see the room is checked on use). Raises RoomNotFound."""
    async with db.unit_of_work() as session:
        room = await live_service.get_room(session, room_id)
        show = await live_service.get_live_show(session, room.id)
        policy = await policy_service.get_policy(session, room.id)
        replies = await policy_service.list_auto_replies(session, room.id, enabled_only=True)
        pinned = await policy_service.pinned_event(session, policy)
    return RoomContext(
        room_id=room.id,
        tenant_id=room.tenant_id,
        owner_id=room.owner_id,
        show_id=show.id if show else None,
        mode=policy.mode,
        slow_mode_seconds=policy.slow_mode_seconds,
        min_account_age_minutes=policy.min_account_age_minutes,
        pinned=pinned,
        auto_replies=replies,
        visibility=room.visibility,
    )


async def load_sender(db: Database, principal: Principal, room: RoomContext) -> Sender:
    assert principal.user_id is not None
    async with db.unit_of_work() as session:
        user = await identity_service.get_user(session, principal.user_id)
        sanctions = await moderation_service.active_sanctions(
            session, room_id=room.room_id, user_id=principal.user_id
        )
        follows = room.mode == "followers" and await audience.is_following(
            session, user_id=principal.user_id, host_id=room.owner_id
        )
        # A member under 14 chats once a guardian agreed (PIPL art. 31); a failed load is not cached.
        waiting = await consent.awaiting_guardian(session, principal.user_id)
    if user is None:
        raise ChatNeedsAccount()
    if waiting:
        raise GuardianConsentPending()
    return Sender(
        user_id=user.id,
        display_name=principal.display_name or user.display_name,
        badge=badge_for(principal, room),
        is_moderator=is_moderator(principal, room.tenant_id, room.owner_id),
        registered_at=as_utc(user.created_at),
        sanction=moderation_service.strongest(sanctions),
        is_member=principal.tenant_id == room.tenant_id,
        follows_host=follows,
    )


def badge_for(principal: Principal, room: RoomContext) -> str | None:
    if principal.user_id == room.owner_id:
        return "host"
    if principal.has_role(room.tenant_id, Role.MODERATOR):
        return "moderator"
    return None
