"""Drives the exchange's session phase from a calendar (b3sim.session) and the wall clock.

Every `interval` seconds it asks the calendar for the phase now; when that differs from
the core's, it hands the worker a SessionPhase envelope, which goes through the same
path as an order (lock, journal, reports), so a replay of the journal passes through the
same phase changes at the same points. The `always` calendar never changes phase, so
the clock is not started for it."""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Awaitable, Callable

from b3sim.session import Calendar, Phase
from b3sim.wire import session_phase_envelope
from mybroker.events import Envelope, utcnow

log = logging.getLogger("mybroker.b3sim")


class SessionClock:
    def __init__(
        self,
        calendar: Calendar,
        current: Callable[[], Phase | None],
        submit: Callable[[Envelope], Awaitable[None]],
        *,
        clock: Callable[[], datetime] = utcnow,
        interval: float = 1.0,
    ):
        self.calendar = calendar
        self.current = current  # the core's phase; None while it is being rebuilt
        self.submit = submit
        self.clock = clock
        self.interval = interval
        self._task: asyncio.Task | None = None

    async def tick(self) -> Phase | None:
        """One look at the calendar; answers the phase it moved the exchange to, if any."""
        current = self.current()
        wanted = self.calendar.phase_at(self.clock())
        if current is None or wanted is current:
            return None
        log.info("session phase %s -> %s", current.value, wanted.value)
        await self.submit(session_phase_envelope(wanted))
        return wanted

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="b3sim-session-clock")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # noqa: BLE001 - a failed tick is retried at the next one
                log.exception("session clock tick failed")
            await asyncio.sleep(self.interval)
