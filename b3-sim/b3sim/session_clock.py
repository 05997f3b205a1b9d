"""Drives the exchange's session phase from a calendar (b3sim.session) and the wall clock.

Every `interval` seconds it asks the calendar for the phase now; when that differs from
the core's, it hands the worker a SessionPhase envelope, which goes through the same
path as an order (lock, journal, reports), so a replay of the journal passes through the
same phase changes at the same points. The `always` calendar never changes phase, so
the clock is not started for it; its DAY orders expire through the day roll (DayRoll)
when the trading day changes."""
from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Awaitable, Callable, Literal

from b3sim.session import Calendar, Phase
from b3sim.wire import end_of_session_envelope, session_phase_envelope
from mybroker.events import Envelope, utcnow
from mybroker.periodic import Periodic

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
        self._loop = Periodic(
            "b3sim-session-clock", interval, self.tick, first_at_once=True,
            on_error=lambda _exc: log.exception("session clock tick failed"),
        )

    async def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def tick(self) -> Phase | None:
        """One look at the calendar; answers the phase it moved the exchange to, if any."""
        current = self.current()
        wanted = self.calendar.phase_at(self.clock())
        if current is None or wanted is current:
            return None
        log.info("session phase %s -> %s", current.value, wanted.value)
        await self.submit(session_phase_envelope(wanted))
        return wanted



class DayRoll:
    """The continuous mode's close: the `always` calendar never closes, so DAY orders would
    never expire. Every `interval` seconds this compares the trading day now (the kernel's
    calendar, rolling at 18:00 in Brasília) with the exchange's, and when they differ hands
    the worker an EndOfSession for the new day, journaled like any command: DAY orders
    expire, a replay expires them at the same point, and a restart after the roll still
    expires what the day before left."""

    def __init__(
        self,
        trading_day: Callable[[datetime], date],
        current: Callable[[], date | None | Literal[False]],
        submit: Callable[[Envelope], Awaitable[None]],
        *,
        clock: Callable[[], datetime] = utcnow,
        interval: float = 1.0,
    ):
        self.trading_day = trading_day
        self.current = current  # the exchange's trading day; False while it is being rebuilt
        self.submit = submit
        self.clock = clock
        self.interval = interval
        self._loop = Periodic(
            "b3sim-day-roll", interval, self.tick, first_at_once=True,
            on_error=lambda _exc: log.exception("day roll tick failed"),
        )

    async def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def tick(self) -> date | None:
        """One look at the calendar; answers the day it rolled the exchange to, if any."""
        current = self.current()
        if current is False:
            return None
        today = self.trading_day(self.clock())
        if current == today:
            return None
        log.info("trading day %s -> %s: DAY orders expire", current, today)
        await self.submit(end_of_session_envelope(today))
        return today

