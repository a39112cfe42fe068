"""Event subscribers: what moderators and hosts change goes out to the room."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.interaction import policy as policy_service
from livecircle.interaction.engine import ChatEngine
from livecircle.interaction.events import ChatMessageApproved, ChatMessageRemoved, ChatPolicyChanged
from livecircle.interaction.models import ChatMessage
from livecircle.interaction.runofshow import service as runofshow
from livecircle.interaction.runofshow.actions import Limits
from livecircle.interaction.schemas import chat_event_from_row
from livecircle.kit.db import Database
from livecircle.kit.jobs import JobRunner
from livecircle.live.events import ShowEnded, ShowStarted
from livecircle.moderation.events import UserSanctioned, WordListChanged
from livecircle.realtime.hub import Hub


def subscribe(db: Database, hub: Hub, engine: ChatEngine) -> None:
    pipeline = engine.pipeline

    def channel(room_id: int) -> str:
        return f"room:{room_id}"

    async def removed(event: ChatMessageRemoved) -> None:
        pipeline.deleted.add(event.message_id)
        await hub.publish(channel(event.room_id), {"type": "chat_deleted", "id": event.message_id, "pri": 1})

    async def approved(event: ChatMessageApproved) -> None:
        async with db.unit_of_work() as session:
            message = await session.get(ChatMessage, event.message_id)
            payload = chat_event_from_row(message) if message is not None else None
        if payload is not None:
            await hub.publish(channel(event.room_id), payload)

    async def policy_changed(event: ChatPolicyChanged) -> None:
        pipeline.forget_room(event.room_id)
        async with db.unit_of_work() as session:
            policy = await policy_service.get_policy(session, event.room_id)
            pinned = await policy_service.pinned_event(session, policy)
            summary = {
                "mode": policy.mode,
                "slow_mode_seconds": policy.slow_mode_seconds,
                "min_account_age_minutes": policy.min_account_age_minutes,
            }
        if event.change == "pin":
            await hub.publish(channel(event.room_id), {"type": "pin", "message": pinned, "pri": 1})
        elif event.change == "policy":
            await hub.publish(channel(event.room_id), {"type": "policy", **summary, "pri": 1})

    async def sanctioned(event: UserSanctioned) -> None:
        pipeline.forget_sender(event.room_id, event.user_id)
        await hub.publish(
            channel(event.room_id),
            {
                "type": "moderation",
                "action": event.kind,
                "user_id": event.user_id,
                "until": event.until.isoformat() if event.until else None,
                "pri": 1,
            },
        )

    async def words_changed(event: WordListChanged) -> None:
        engine.filters.invalidate(event.tenant_id)

    async def show_changed(event: ShowStarted | ShowEnded) -> None:
        pipeline.forget_room(event.room_id)

    db.bus.subscribe(ChatMessageRemoved, removed)
    db.bus.subscribe(ChatMessageApproved, approved)
    db.bus.subscribe(ChatPolicyChanged, policy_changed)
    db.bus.subscribe(UserSanctioned, sanctioned)
    db.bus.subscribe(WordListChanged, words_changed)
    db.bus.subscribe(ShowStarted, show_changed)
    db.bus.subscribe(ShowEnded, show_changed)


def subscribe_run_of_show(db: Database) -> None:
    """A show going live (not resuming) arms its script; a show ending marks what never fired."""

    async def started(event: ShowStarted) -> None:
        if event.resumed:
            return
        async with db.unit_of_work() as session:
            await runofshow.do_schedule_show(session, room_id=event.room_id, show_id=event.show_id)

    async def ended(event: ShowEnded) -> None:
        async with db.unit_of_work() as session:
            await runofshow.do_close_show(session, show_id=event.show_id)

    db.bus.subscribe(ShowStarted, started)
    db.bus.subscribe(ShowEnded, ended)


def register_jobs(runner: JobRunner, *, max_pins: int) -> None:
    limits = Limits(max_pins=max_pins)

    async def run_step(session: AsyncSession, payload: dict[str, Any]) -> None:
        await runofshow.on_step_job(session, payload, limits)

    runner.register(runofshow.STEP_JOB, run_step)
