"""Community broadcasts: the join card popping up in a live room, and the group's member
count on that card while viewers join (at most every ``COUNT_EVERY`` seconds per group)."""

from __future__ import annotations

from typing import Any

from livecircle.community import service
from livecircle.community.events import CommunityCardPushed, CommunityJoined
from livecircle.community.models import Community
from livecircle.kit.background import Coalescer
from livecircle.kit.db import Database
from livecircle.realtime.hub import Hub

COUNT_EVERY = 0.5  # seconds


def card(community: Community) -> dict[str, Any]:
    """What a viewer's card shows: enough to decide and join, nothing about other members."""
    return {
        "id": community.id,
        "name": community.name,
        "description": community.description[:200],
        "rules": community.rules[:500],
        "min_tier": community.min_tier,
        "member_count": community.member_count,
    }


def subscribe(db: Database, hub: Hub) -> None:
    async def publish_count(community_id: int) -> None:
        async with db.unit_of_work() as session:
            community = await service.get_community(session, community_id)
        if community.room_id is not None:
            update = {"id": community.id, "member_count": community.member_count}
            await hub.publish(f"room:{community.room_id}", {"type": "community_count", "community": update})

    counts = Coalescer(publish_count, every=COUNT_EVERY)

    async def pushed(event: CommunityCardPushed) -> None:
        async with db.unit_of_work() as session:
            community = await service.get_community(session, event.community_id)
        frame = {"type": "community_card", "community": card(community), "show_id": event.show_id}
        await hub.publish(f"room:{event.room_id}", frame)

    async def joined(event: CommunityJoined) -> None:
        counts.touch(event.community_id)

    db.bus.subscribe(CommunityCardPushed, pushed)
    db.bus.subscribe(CommunityJoined, joined)
