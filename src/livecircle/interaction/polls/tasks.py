"""Poll broadcasts: the whole poll when it opens or closes, its counts at most every
``RESULTS_EVERY`` seconds while votes come in; and the job that closes it on time."""

from __future__ import annotations

from livecircle.interaction.polls import service
from livecircle.interaction.polls.events import PollClosed, PollOpened, PollVoted
from livecircle.kit.background import Coalescer
from livecircle.kit.db import Database
from livecircle.kit.jobs import JobRunner
from livecircle.realtime.hub import Hub

RESULTS_EVERY = 0.5  # seconds


def register_jobs(runner: JobRunner) -> None:
    runner.register(service.CLOSE_JOB, service.on_close_job)


def subscribe(db: Database, hub: Hub) -> None:
    async def publish(poll_id: int, kind: str) -> None:
        async with db.unit_of_work() as session:
            poll = await service.get_poll(session, poll_id)
            view = await service.results(session, poll)
        await hub.publish(f"room:{poll.room_id}", {"type": kind, "poll": view})

    async def publish_results(poll_id: int) -> None:
        await publish(poll_id, "poll_results")

    results = Coalescer(publish_results, every=RESULTS_EVERY)

    async def changed(event: PollOpened | PollClosed) -> None:
        await publish(event.poll_id, "poll")

    async def voted(event: PollVoted) -> None:
        results.touch(event.poll_id)

    db.bus.subscribe(PollOpened, changed)
    db.bus.subscribe(PollClosed, changed)
    db.bus.subscribe(PollVoted, voted)
