"""A show's script: planning steps, arming them when the show goes live, firing each exactly
once (by its timer job, by the analytics judge when its condition holds, or by the host), and
the log of what became of every step.

Exactly once: whoever fires a step first moves it from pending/scheduled to ``firing`` with a
conditional UPDATE in its own transaction, runs the action and records the outcome in that
same transaction. A second claimant (a rerun job, another node, the host's click) updates no
row and does nothing; on PostgreSQL it waits on the row lock, then sees the step settled.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.interaction.errors import StepNotFound
from livecircle.interaction.models import ShowStep
from livecircle.interaction.runofshow import actions
from livecircle.interaction.runofshow.errors import ScriptClosed, StepNotOpen
from livecircle.interaction.runofshow.schemas import StepIn
from livecircle.kit import jobs
from livecircle.kit.clock import utcnow
from livecircle.kit.db import one_sqlite_writer
from livecircle.kit.errors import AppError
from livecircle.kit.tracking import track
from livecircle.live import service as live_service
from livecircle.live.errors import ShowNotLive
from livecircle.live.models import Room, Show

STEP_JOB = "interaction.run_step"
OPEN = ("pending", "scheduled")
LIVE, ENDED = "live", "ended"


async def do_add_step(session: AsyncSession, *, room: Room, show: Show | None, data: StepIn) -> ShowStep:
    """Add a step to ``show``'s script (None: the room's next show). A live show arms it now.
    Raises ScriptClosed (the show ended), StepTargetInvalid and the target's NotFound."""
    if show is not None and show.status == ENDED:
        raise ScriptClosed()
    await actions.check_target(session, room, data.action, data.target_id)
    step = ShowStep(
        tenant_id=room.tenant_id,
        room_id=room.id,
        show_id=show.id if show is not None else None,
        tool=data.action,
        tool_id=data.target_id or 0,
        offset_s=data.offset_s,
        kind=data.kind,
        label=data.label.strip(),
        params=data.params(),
        metric=data.metric,
        comparator=data.comparator,
        threshold=data.threshold,
        window_s=data.window_s,
        hold_s=data.hold_s,
    )
    session.add(step)
    await session.flush()
    live = await live_service.get_live_show(session, room.id)
    if live is not None and (show is None or show.id == live.id):
        await _arm(session, step, live)
    return step


async def do_plan(session: AsyncSession, *, room: Room, tool: str, tool_id: int, offset_s: int) -> ShowStep:
    """A poll or lottery draft at ``offset_s`` into the live show, or the room's next one."""
    step = ShowStep(tenant_id=room.tenant_id, room_id=room.id, tool=tool, tool_id=tool_id, offset_s=offset_s)
    session.add(step)
    await session.flush()
    show = await live_service.get_live_show(session, room.id)
    if show is not None:
        await _arm(session, step, show)
    return step


async def _arm(session: AsyncSession, step: ShowStep, show: Show) -> None:
    """Bind the step to the live show: a timed step gets its job, a condition is judged."""
    step.status, step.show_id = "scheduled", show.id
    if step.kind == "timed":
        started = show.started_at or utcnow()
        await jobs.schedule(
            session,
            STEP_JOB,
            key=f"step:{step.id}:{show.id}",
            run_at=max(started + timedelta(seconds=step.offset_s), utcnow()),
            payload={"step_id": step.id, "show_id": show.id},
        )
    await session.flush()


async def do_schedule_show(session: AsyncSession, *, room_id: int, show_id: int) -> int:
    """The show went live: its steps and the room's unbound ones are armed. Returns how many."""
    show = await live_service.get_show(session, show_id)
    rows = await session.scalars(
        select(ShowStep)
        .where(
            ShowStep.room_id == room_id,
            ShowStep.status == "pending",
            or_(ShowStep.show_id.is_(None), ShowStep.show_id == show_id),
        )
        .order_by(ShowStep.id)
    )
    steps = list(rows)
    for step in steps:
        await _arm(session, step, show)
    return len(steps)


async def do_close_show(session: AsyncSession, *, show_id: int) -> int:
    """The show ended: its steps that never fired are ``missed``. Returns how many."""
    await one_sqlite_writer(session)
    missed = list(
        await session.scalars(
            update(ShowStep)
            .where(ShowStep.show_id == show_id, ShowStep.status.in_(OPEN))
            .values(status="missed", note="the show ended before the step fired")
            .returning(ShowStep.id)
            .execution_options(synchronize_session=False)
        )
    )
    for step_id in missed:
        step = await session.get(ShowStep, step_id, populate_existing=True)
        assert step is not None
        _track(session, step)
    return len(missed)


async def on_step_job(session: AsyncSession, payload: dict[str, Any], limits: actions.Limits) -> None:
    """A timed step's job: fire it unless it was fired, skipped or rebound meanwhile."""
    await do_fire(
        session, int(payload["step_id"]), show_id=int(payload["show_id"]), by="timer", limits=limits
    )


async def do_fire(
    session: AsyncSession,
    step_id: int,
    *,
    show_id: int,
    by: str,
    limits: actions.Limits,
    user_id: int | None = None,
    value: float | None = None,
) -> ShowStep | None:
    """Fire the step in its live show, once. Returns it settled (fired, or failed with the
    reason in ``note``), or None when it was not open (fired, skipped, missed) any more.
    A show that is not live any more makes the step ``missed``."""
    if not await _claim(session, step_id, show_id=show_id):
        return None
    step = await session.get(ShowStep, step_id, populate_existing=True)
    assert step is not None
    step.fired_at, step.fired_by, step.fired_by_user = utcnow(), by, user_id
    if value is not None:
        step.seen_value = value
    live = await live_service.get_live_show(session, step.room_id)
    if live is None or live.id != show_id:
        step.status, step.note = "missed", "the show was not live"
    else:
        await _launch(session, step, live, limits)
    await session.flush()
    _track(session, step)
    return step


async def _claim(session: AsyncSession, step_id: int, *, show_id: int) -> bool:
    await one_sqlite_writer(session)
    claimed = await session.execute(
        update(ShowStep)
        .where(ShowStep.id == step_id, ShowStep.show_id == show_id, ShowStep.status.in_(OPEN))
        .values(status="firing")
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(claimed, "rowcount", 0))


async def _launch(session: AsyncSession, step: ShowStep, show: Show, limits: actions.Limits) -> None:
    try:
        async with session.begin_nested():
            step.result = await actions.launch(session, show, step, limits)
    except AppError as exc:
        step.status, step.note = "failed", f"{exc.code}: {exc.detail}"[:200]
    else:
        step.status = "fired"


async def do_fire_now(
    session: AsyncSession, step: ShowStep, *, user_id: int | None, limits: actions.Limits
) -> ShowStep:
    """The host fires a step early. Raises ShowNotLive (its show is not live), StepNotOpen."""
    if step.status not in OPEN:
        raise StepNotOpen()
    live = await live_service.get_live_show(session, step.room_id)
    if live is None or step.show_id not in (None, live.id):
        raise ShowNotLive("A step fires in its live show")
    if step.show_id is None:  # a room step planned before this show: bind it first
        await _arm(session, step, live)
    fired = await do_fire(session, step.id, show_id=live.id, by="host", user_id=user_id, limits=limits)
    if fired is None:
        raise StepNotOpen()
    return fired


async def do_skip(session: AsyncSession, step: ShowStep, *, user_id: int | None) -> ShowStep:
    """The host skips a step: it never fires. Raises StepNotOpen when it is settled already."""
    await one_sqlite_writer(session)
    skipped = await session.execute(
        update(ShowStep)
        .where(ShowStep.id == step.id, ShowStep.status.in_(OPEN))
        .values(status="skipped", note="skipped by the host", fired_by="host", fired_by_user=user_id)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(step)
    if not getattr(skipped, "rowcount", 0):
        raise StepNotOpen()
    _track(session, step)
    return step


async def do_delete_step(session: AsyncSession, step: ShowStep) -> None:
    """Take a step that has not fired out of the script. Raises StepNotOpen."""
    if step.status not in OPEN:
        raise StepNotOpen("A step that fired, failed or was skipped stays in the show's log")
    await session.delete(step)
    await session.flush()


def _track(session: AsyncSession, step: ShowStep) -> None:
    """The step's outcome, once per step, in the analytics log (and so in the replica)."""
    track(
        session,
        "script_step",
        event_id=f"script_step:{step.id}",
        tenant_id=step.tenant_id,
        user_id=step.fired_by_user,
        room_id=step.room_id,
        show_id=step.show_id,
        props={
            "step_id": step.id,
            "action": step.tool,
            "kind": step.kind,
            "status": step.status,
            "by": step.fired_by,
            "value": step.seen_value if step.fired_by == "condition" else None,
        },
    )


async def shows_with_armed_conditions(session: AsyncSession, show_ids: list[int]) -> set[int]:
    """Of ``show_ids``, those with a conditional step waiting for its condition."""
    rows = await session.scalars(
        select(ShowStep.show_id)
        .where(ShowStep.show_id.in_(show_ids), ShowStep.status == "scheduled", ShowStep.kind == "condition")
        .distinct()
    )
    return {int(show_id) for show_id in rows if show_id is not None}


async def armed_conditions(session: AsyncSession, show_id: int) -> list[ShowStep]:
    """The show's conditional steps waiting for their condition."""
    rows = await session.scalars(
        select(ShowStep)
        .where(ShowStep.show_id == show_id, ShowStep.status == "scheduled", ShowStep.kind == "condition")
        .order_by(ShowStep.id)
    )
    return list(rows)


async def do_observe(
    session: AsyncSession, step: ShowStep, *, value: float | None, holds: bool, now: datetime
) -> datetime | None:
    """Record the judge's look at a conditional step; returns since when its condition holds
    (None: it does not). Only an armed step is written (a fired one keeps the value it fired on)."""
    since = (step.holding_since or now) if holds else None
    await one_sqlite_writer(session)
    await session.execute(
        update(ShowStep)
        .where(ShowStep.id == step.id, ShowStep.status == "scheduled")
        .values(seen_value=value, seen_at=now, holding_since=since)
        .execution_options(synchronize_session=False)
    )
    return since


async def get_step(session: AsyncSession, *, room_id: int, step_id: int) -> ShowStep:
    step = await session.get(ShowStep, step_id)
    if step is None or step.room_id != room_id:
        raise StepNotFound()
    return step


async def list_steps(session: AsyncSession, room_id: int) -> list[ShowStep]:
    rows = await session.scalars(
        select(ShowStep).where(ShowStep.room_id == room_id).order_by(ShowStep.offset_s, ShowStep.id)
    )
    return list(rows)


async def list_script(session: AsyncSession, show: Show) -> list[ShowStep]:
    """The show's steps, and while it has not started the room's steps waiting for its next
    show (they bind to whichever show goes live first)."""
    mine = ShowStep.show_id == show.id
    if show.status not in (LIVE, ENDED):
        mine = or_(mine, (ShowStep.show_id.is_(None)) & (ShowStep.status == "pending"))
    rows = await session.scalars(
        select(ShowStep)
        .where(ShowStep.room_id == show.room_id, mine)
        .order_by(ShowStep.kind.desc(), ShowStep.offset_s, ShowStep.id)
    )
    return list(rows)


def due_at(step: ShowStep, show: Show) -> datetime | None:
    if step.kind != "timed" or show.started_at is None:
        return None
    return show.started_at + timedelta(seconds=step.offset_s)


async def show_log(session: AsyncSession, show_id: int) -> list[dict[str, Any]]:
    """Every step of an ended show with its outcome (the post-show report's section): when it
    was due or what it waited for, when it fired and by what, or why not."""
    show = await live_service.get_show(session, show_id)
    started = show.started_at
    out = []
    for step in await list_script(session, show):
        status = "missed" if step.status in OPEN and show.status == ENDED else step.status
        fired_minute = (
            round((step.fired_at - started).total_seconds() / 60, 2) if step.fired_at and started else None
        )
        out.append(
            {
                "step_id": step.id,
                "label": step.label,
                "kind": step.kind,
                "action": step.tool,
                "target_id": step.tool_id or None,
                "offset_s": step.offset_s,
                "condition": _condition_text(step),
                "status": status,
                "fired_at": step.fired_at.isoformat() if step.fired_at else None,
                "fired_minute": fired_minute,
                "fired_by": step.fired_by,
                "value": step.seen_value if step.fired_by == "condition" else None,
                "note": step.note,
                "result": step.result,
            }
        )
    return out


def _condition_text(step: ShowStep) -> str | None:
    if step.kind != "condition":
        return None
    text = f"{step.metric} {step.comparator} {step.threshold:g}"
    if step.hold_s:
        text += f" for {step.hold_s}s"
    return text
