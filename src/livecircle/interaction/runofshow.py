"""Run-of-show: prepared tools (a poll, a lottery) launched at an offset into the room's next
live show by a durable job, or fired by hand from the console. Every step records what
happened to it (fired, skipped, failed and why)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.interaction.errors import StepNotFound
from livecircle.interaction.lotteries import service as lotteries
from livecircle.interaction.models import ShowStep
from livecircle.interaction.polls import service as polls
from livecircle.kit import jobs
from livecircle.kit.clock import utcnow
from livecircle.kit.errors import AppError
from livecircle.live import service as live_service
from livecircle.live.models import Room, Show

STEP_JOB = "interaction.run_step"


async def do_plan(session: AsyncSession, *, room: Room, tool: str, tool_id: int, offset_s: int) -> ShowStep:
    """Plan ``tool`` at ``offset_s`` into the live show, or the next one when none is live."""
    step = ShowStep(tenant_id=room.tenant_id, room_id=room.id, tool=tool, tool_id=tool_id, offset_s=offset_s)
    session.add(step)
    await session.flush()
    show = await live_service.get_live_show(session, room.id)
    if show is not None:
        await _schedule(session, step, show)
    return step


async def _schedule(session: AsyncSession, step: ShowStep, show: Show) -> None:
    started = show.started_at or utcnow()
    step.status, step.show_id = "scheduled", show.id
    await jobs.schedule(
        session,
        STEP_JOB,
        key=f"step:{step.id}:{show.id}",
        run_at=max(started + timedelta(seconds=step.offset_s), utcnow()),
        payload={"step_id": step.id, "show_id": show.id},
    )
    await session.flush()


async def do_schedule_show(session: AsyncSession, *, room_id: int, show_id: int) -> int:
    """The show went live: every pending step of the room gets its job. Returns how many."""
    show = await live_service.get_show(session, show_id)
    rows = await session.scalars(
        select(ShowStep)
        .where(ShowStep.room_id == room_id, ShowStep.status == "pending")
        .order_by(ShowStep.id)
    )
    steps = list(rows)
    for step in steps:
        await _schedule(session, step, show)
    return len(steps)


async def on_step_job(session: AsyncSession, payload: dict[str, Any]) -> None:
    step = await session.get(ShowStep, int(payload["step_id"]))
    if step is None or step.status != "scheduled" or step.show_id != payload["show_id"]:
        return  # fired or skipped by hand meanwhile
    await _fire(session, step)


async def _fire(session: AsyncSession, step: ShowStep) -> None:
    live = await live_service.get_live_show(session, step.room_id)
    if live is None or (step.show_id is not None and live.id != step.show_id):
        step.status, step.note = "skipped", "the show was not live"
        return
    try:
        async with session.begin_nested():
            await _launch(session, step.tool, step.tool_id)
    except AppError as exc:
        step.status, step.note = "failed", f"{exc.code}: {exc.message}"[:200]
    else:
        step.status, step.show_id = "fired", live.id
    step.fired_at = utcnow()


async def _launch(session: AsyncSession, tool: str, tool_id: int) -> None:
    if tool == "poll":
        await polls.do_open_poll(session, await polls.get_poll(session, tool_id))
    else:
        await lotteries.do_open_lottery(session, await lotteries.get_lottery(session, tool_id))


async def get_step(session: AsyncSession, *, room_id: int, step_id: int) -> ShowStep:
    step = await session.get(ShowStep, step_id)
    if step is None or step.room_id != room_id:
        raise StepNotFound()
    return step


async def do_fire_now(session: AsyncSession, step: ShowStep) -> ShowStep:
    """Fire a pending or scheduled step now (its job, if any, then finds it fired)."""
    if step.status in ("pending", "scheduled"):
        await _fire(session, step)
    return step


async def do_skip(session: AsyncSession, step: ShowStep) -> ShowStep:
    if step.status in ("pending", "scheduled"):
        step.status, step.note = "skipped", "skipped by the host"
    return step


async def list_steps(session: AsyncSession, room_id: int) -> list[ShowStep]:
    rows = await session.scalars(
        select(ShowStep).where(ShowStep.room_id == room_id).order_by(ShowStep.offset_s, ShowStep.id)
    )
    return list(rows)
