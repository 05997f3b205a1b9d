"""Trading session phases and the calendars that say which phase a moment is in. Pure:
the app asks `phase_at(now)` and sends the exchange a SessionPhase command when it
changes, so the journal holds every change and a replay goes through the same phases.

    CLOSED --> PRE_OPENING (auction) --> OPEN (continuous) --> CLOSING_CALL (auction) --> CLOSED

`always` (the default) is open at every moment, so the simulated platform trades at any
hour. `b3` is B3's equity session on its business days, from the platform's one trading
calendar (mybroker.calendar, B3's holidays included): the opening auction in the 15
minutes before continuous trading opens (09:45-10:00 on a usual day, 12:45-13:00 on Ash
Wednesday), the closing call in the 5 minutes before it closes (17:55-18:00)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Protocol

from mybroker.calendar import BRASILIA, B3Calendar, b3_calendar


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
class B3Session:
    """B3's phases on the calendar's business days; CLOSED on weekends and holidays."""

    business_days: B3Calendar = field(default_factory=b3_calendar)
    pre_opening: timedelta = timedelta(minutes=15)  # the opening auction, before the open
    closing_call: timedelta = timedelta(minutes=5)  # the closing auction, before the close

    def phase_at(self, moment: datetime) -> Phase:
        if moment.tzinfo is None:
            raise ValueError("a session phase needs an aware datetime")
        session = self.business_days.session(moment.astimezone(BRASILIA).date())
        if session is None or moment < session.open - self.pre_opening or moment >= session.close:
            return Phase.CLOSED
        if moment < session.open:
            return Phase.PRE_OPENING
        if moment < session.close - self.closing_call:
            return Phase.OPEN
        return Phase.CLOSING_CALL


B3 = B3Session()
CALENDARS: dict[str, Calendar] = {"always": AlwaysOpen(), "b3": B3}


def calendar(name: str) -> Calendar:
    """The calendar a setting names (MYBROKER_SESSION_CALENDAR)."""
    try:
        return CALENDARS[name]
    except KeyError:
        raise ValueError(f"unknown session calendar {name!r}; expected one of {', '.join(CALENDARS)}") from None
