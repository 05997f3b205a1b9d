"""B3's trading calendar and the platform's clock: the one source every part asks which
days are business days, when a session opens and closes, which trading day a moment
belongs to and when a trade settles (docs/design.md, "Time and the calendar").

Business days and session hours come from `exchange-calendars` (B3 is `BVMF`), a
maintained library that follows B3's holidays (Carnival, Corpus Christi, Consciência
Negra since 2024, the late opening on Ash Wednesday), not from a list of ours. It is
loaded once, on first use, into plain dates and datetimes, so asking is a dict lookup.

The clock is a seam: `SystemClock` in the product, `ManualClock` in tests, which moves
only when told to (tests never sleep to see a day change)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import cached_property
from typing import Protocol
from zoneinfo import ZoneInfo

BRASILIA = ZoneInfo("America/Sao_Paulo")
SETTLEMENT_CYCLE = 2  # B3's cash equities settle on D+2 business days
# In the continuous default mode (the `always` session calendar) the market never closes,
# so the trading day rolls over at a fixed hour: B3's usual close, in Brasília time.
DEFAULT_ROLLOVER = time(18, 0)
# How far the calendar reaches: far enough back for any history, ahead for D+2 and the
# DARF's due date of next month, with room (exchange-calendars computes the rules).
YEARS_BACK = 10
YEARS_AHEAD = 3


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware UTC datetime."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class ManualClock:
    """A clock for tests: stands still until `advance` or `set`."""

    def __init__(self, start: datetime):
        self._now = _aware(start)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = _aware(moment)


@dataclass(frozen=True)
class Session:
    """One B3 business day: when continuous trading opens and closes (aware, UTC)."""

    day: date
    open: datetime
    close: datetime


class B3Calendar:
    """B3's business days and session hours between `first` and `last` (defaults: YEARS_BACK
    before and YEARS_AHEAD after today). A day outside that range is refused with
    ValueError rather than guessed."""

    def __init__(self, first: date | None = None, last: date | None = None):
        today = date.today()
        self.first = first or today.replace(year=today.year - YEARS_BACK, day=1)
        self.last = last or today.replace(year=today.year + YEARS_AHEAD, day=1)

    @cached_property
    def _sessions(self) -> dict[date, Session]:
        import warnings

        import exchange_calendars  # lazy: pandas and numpy load only when a date is asked
        import pandas

        with warnings.catch_warnings():
            # exchange-calendars 4.13 reads Series.values, which pandas 3.1 deprecates (its
            # concern, not a change in the dates it gives).
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            bvmf = exchange_calendars.get_calendar("BVMF", start=pandas.Timestamp(self.first), end=pandas.Timestamp(self.last))
        return {
            label.date(): Session(label.date(), opens.to_pydatetime(), closes.to_pydatetime())
            for label, opens, closes in zip(bvmf.sessions, bvmf.opens, bvmf.closes)
        }

    @cached_property
    def _days(self) -> list[date]:
        return sorted(self._sessions)

    def load(self) -> None:
        """Reads the calendar now (about 0.4 s: pandas and numpy load), so that a service
        pays it at start, not on its first trade with every request waiting."""
        self._sessions  # noqa: B018 - the cached property is the loading

    def session(self, day: date) -> Session | None:
        """B3's session on `day`, None on weekends and holidays."""
        self._check(day)
        return self._sessions.get(day)

    def is_business_day(self, day: date) -> bool:
        return self.session(day) is not None

    def business_day_on_or_after(self, day: date) -> date:
        while not self.is_business_day(day):
            day += timedelta(days=1)
        return day

    def add_business_days(self, day: date, count: int) -> date:
        """The `count`-th business day after `day` (D+count); `day` itself need not be one."""
        if count < 0:
            raise ValueError("count business days forward only")
        for _ in range(count):
            day = self.business_day_on_or_after(day + timedelta(days=1))
        return day

    def settlement_date(self, trade_day: date, cycle: int = SETTLEMENT_CYCLE) -> date:
        """When a trade of `trade_day` settles: D+2 business days at B3."""
        return self.add_business_days(trade_day, cycle)

    def trading_day(self, moment: datetime, rollover: time = DEFAULT_ROLLOVER) -> date:
        """The business day a trade at `moment` belongs to: its date in Brasília if that is
        a business day and the moment is before `rollover` there; else the next business
        day (a trade on Saturday, or after the roll, counts for the next session)."""
        local = _aware(moment).astimezone(BRASILIA)
        day = local.date()
        if local.time() >= rollover:
            day += timedelta(days=1)
        return self.business_day_on_or_after(day)

    def _check(self, day: date) -> None:
        if not self.first <= day <= self.last:
            raise ValueError(f"{day} is outside the trading calendar ({self.first} to {self.last})")


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("the calendar needs an aware datetime")
    return moment.astimezone(timezone.utc)


_SHARED: B3Calendar | None = None


def b3_calendar() -> B3Calendar:
    """The process's one calendar (loading exchange-calendars once)."""
    global _SHARED
    if _SHARED is None:
        _SHARED = B3Calendar()
    return _SHARED
