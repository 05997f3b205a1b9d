"""Trading session phases and the calendars that say which phase a moment is in. Pure:
the app asks `phase_at(now)` and sends the exchange a SessionPhase command when it
changes, so the journal holds every change and a replay goes through the same phases.

    CLOSED --> PRE_OPENING (auction) --> OPEN (continuous) --> CLOSING_CALL (auction) --> CLOSED

`always` (the default) is open at every moment, so the simulated platform trades at any
hour. `b3` is B3's equity session in Brasília time on weekdays: pre-opening 09:45-10:00,
continuous 10:00-17:55, closing call 17:55-18:00 (holidays are not modelled)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from enum import Enum
from typing import Protocol
from zoneinfo import ZoneInfo


class Phase(str, Enum):
    CLOSED = "CLOSED"  # new orders are rejected; cancels still work
    PRE_OPENING = "PRE_OPENING"  # opening auction: orders rest, nothing trades
    OPEN = "OPEN"  # continuous trading
    CLOSING_CALL = "CLOSING_CALL"  # closing auction


AUCTIONS = frozenset({Phase.PRE_OPENING, Phase.CLOSING_CALL})


class Calendar(Protocol):
    def phase_at(self, moment: datetime) -> Phase: ...


class AlwaysOpen:
    """The simulated market's default: continuous trading at any hour."""

    def phase_at(self, moment: datetime) -> Phase:
        return Phase.OPEN


@dataclass(frozen=True)
class DailySchedule:
    """A weekday session in one time zone; the phase starts at each boundary (inclusive)."""

    zone: str = "America/Sao_Paulo"
    pre_opening: time = time(9, 45)
    open: time = time(10, 0)
    closing_call: time = time(17, 55)
    close: time = time(18, 0)
    weekdays: frozenset[int] = frozenset(range(5))  # Monday..Friday

    def phase_at(self, moment: datetime) -> Phase:
        if moment.tzinfo is None:
            raise ValueError("a session phase needs an aware datetime")
        local = moment.astimezone(ZoneInfo(self.zone))
        if local.weekday() not in self.weekdays:
            return Phase.CLOSED
        now = local.time()
        if now < self.pre_opening or now >= self.close:
            return Phase.CLOSED
        if now < self.open:
            return Phase.PRE_OPENING
        if now < self.closing_call:
            return Phase.OPEN
        return Phase.CLOSING_CALL


B3 = DailySchedule()
CALENDARS: dict[str, Calendar] = {"always": AlwaysOpen(), "b3": B3}


def calendar(name: str) -> Calendar:
    """The calendar a setting names (MYBROKER_SESSION_CALENDAR)."""
    try:
        return CALENDARS[name]
    except KeyError:
        raise ValueError(f"unknown session calendar {name!r}; expected one of {', '.join(CALENDARS)}") from None
