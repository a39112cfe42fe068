"""The Redis gate sends what buyers ask while others travel in one pipeline: the takes of a
rush, and the confirms, refunds and drops that settle them once their orders are written (each
script still atomic, in the order asked)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from livecircle.commerce.gate import RESERVED, SOLD_OUT, FlashGate
from tests import services

SALE = 424_242
UNITS = 40
BUYERS = 60


class Counted:
    """Counts the gate's pipelines and the commands each carried."""

    def __init__(self, gate: FlashGate) -> None:
        self.sizes: list[int] = []
        self._pipeline = gate.redis.pipeline

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        pipe = self._pipeline(*args, **kwargs)
        execute, sizes = pipe.execute, self.sizes

        async def counted(*a: Any, **k: Any) -> Any:
            sizes.append(len(pipe.command_stack))
            return await execute(*a, **k)

        pipe.execute = counted
        return pipe


async def test_settlements_travel_together_like_the_takes(monkeypatch: pytest.MonkeyPatch) -> None:
    with services.redis_server() as url:
        gate = FlashGate(url)
        try:
            await gate._load(keys=FlashGate.keys(SALE)[:2], args=[UNITS])
            tokens = [uuid.uuid4().hex for _ in range(BUYERS)]
            counted = Counted(gate)
            monkeypatch.setattr(gate.redis, "pipeline", counted)
            answers = await asyncio.gather(
                *(
                    gate.take(SALE, user_id=buyer, quantity=1, limit=1, token=token)
                    for buyer, token in enumerate(tokens, start=1)
                )
            )
            assert answers.count(RESERVED) == UNITS
            assert answers.count(SOLD_OUT) == BUYERS - UNITS
            takes = len(counted.sizes)
            winners = [t for t, a in zip(tokens, answers, strict=True) if a == RESERVED]
            settled = await asyncio.gather(
                *(gate.confirm(SALE, t) for t in winners[:30]),
                *(gate.refund(SALE, t) for t in winners[30:35]),
                *(gate.drop(SALE, t) for t in winners[35:]),
            )
            assert settled[30:35] == [True] * 5  # each refund gave its unit back
            settles = counted.sizes[takes:]
            assert sum(settles) == UNITS, settles
            assert len(settles) <= 2, settles
            assert int(await gate.redis.get(FlashGate.keys(SALE)[0]) or 0) == 5
        finally:
            await gate.close()
