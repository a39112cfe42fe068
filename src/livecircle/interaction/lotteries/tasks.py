"""Lottery broadcasts (opened with the seed's hash; drawn with the winners) and the job that
draws at the set time."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from livecircle.config import EconomySettings
from livecircle.interaction.lotteries import service
from livecircle.interaction.lotteries.events import LotteryDrawn, LotteryOpened
from livecircle.kit.db import Database
from livecircle.kit.jobs import JobRunner
from livecircle.realtime.hub import Hub


def register_jobs(runner: JobRunner, rules: EconomySettings) -> None:
    async def draw(session: AsyncSession, payload: dict[str, Any]) -> None:
        await service.on_draw_job(session, rules, payload)

    runner.register(service.DRAW_JOB, draw)


def subscribe(db: Database, hub: Hub, rules: EconomySettings) -> None:
    async def publish(event: LotteryOpened | LotteryDrawn) -> None:
        async with db.unit_of_work() as session:
            lottery = await service.get_lottery(session, event.lottery_id)
            view = await service.view(session, rules, lottery)
        kind = "lottery_drawn" if isinstance(event, LotteryDrawn) else "lottery"
        await hub.publish(f"room:{lottery.room_id}", {"type": kind, "lottery": view})

    db.bus.subscribe(LotteryOpened, publish)
    db.bus.subscribe(LotteryDrawn, publish)
