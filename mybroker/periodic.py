"""A step run every `interval` seconds in a task of its own, until stopped: the life cycle
the reservation sweeper, the reconciliation, b3-sim's session clock and its day roll
share. A failed step is handed to `on_error` (called inside the `except`, so
`log.exception` works) and the next one tries again; cancellation always stops it."""
from __future__ import annotations

import asyncio
from typing import Awaitable, Callable


class Periodic:
    def __init__(
        self,
        name: str,
        interval: float,
        step: Callable[[], Awaitable[object]],
        *,
        on_error: Callable[[Exception], None],
        first_at_once: bool = False,
    ):
        """`first_at_once`: the first step at start, else after one interval (when what the
        step asks about may not be serving yet at start)."""
        self.name = name
        self.interval = interval
        self.step = step
        self.on_error = on_error
        self.first_at_once = first_at_once
        self._task: asyncio.Task | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _run(self) -> None:
        if not self.first_at_once:
            await asyncio.sleep(self.interval)
        while True:
            try:
                await self.step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the next step tries again
                self.on_error(exc)
            await asyncio.sleep(self.interval)
