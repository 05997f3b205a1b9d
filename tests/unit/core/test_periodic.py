"""mybroker.periodic: a failed step is reported and the next one runs; stop ends it."""
from __future__ import annotations

import asyncio

from mybroker.periodic import Periodic


async def test_a_failed_step_is_reported_and_the_next_one_runs():
    steps, errors = [], []

    async def step() -> None:
        steps.append(len(steps))
        if len(steps) == 1:
            raise RuntimeError("first one fails")

    loop = Periodic("test", 0.001, step, on_error=errors.append, first_at_once=True)
    loop.start()
    while len(steps) < 3:
        await asyncio.sleep(0.001)
    await loop.stop()
    assert [str(e) for e in errors] == ["first one fails"] and not loop.running
    done = len(steps)
    await asyncio.sleep(0.01)
    assert len(steps) == done, "stopped means stopped"


async def test_by_default_the_first_step_waits_one_interval():
    steps = []

    async def step() -> None:
        steps.append(1)

    loop = Periodic("test", 60, step, on_error=lambda exc: None)
    loop.start()
    await asyncio.sleep(0.01)
    await loop.stop()
    assert steps == []
