"""DAY orders expire in the continuous mode too (issue 16): the `always` calendar never
closes, so b3-sim's day roll sends an EndOfSession when the trading day changes (18:00 in
Brasília), journaled like any command, so a rebuilt exchange holds the same day and books
and a restart after the roll still expires what the day before left."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from b3sim.exchange import EndOfSession, Exchange, Rules
from b3sim.journal import Journal
from b3sim.market_maker import MakerPolicy
from b3sim.session_clock import DayRoll
from b3sim.wire import end_of_session_envelope, exchange_command
from b3sim.worker import ExchangeWorker
from mybroker.calendar import ManualClock, b3_calendar
from mybroker.catalog import load_catalog
from mybroker.events import Envelope
from mybroker.trading import ExecType
from tests.unit.b3sim.conftest import limit

FRIDAY_AFTERNOON = datetime(2026, 12, 4, 20, 0, tzinfo=timezone.utc)  # 17:00 in Brasília


def new_core(session: str) -> Exchange:
    return Exchange(load_catalog(), MakerPolicy(depth=0), session=session, rules=Rules())


def test_the_end_of_session_names_its_day_on_the_wire():
    message = end_of_session_envelope(date(2026, 12, 7))
    assert message.data == {"tradingDay": "2026-12-07"}
    assert exchange_command(Envelope.from_bytes(message.to_bytes())) == EndOfSession(date(2026, 12, 7))


def test_an_end_of_session_for_a_day_expires_day_orders_and_keeps_the_day():
    core = new_core("s")
    core.handle(exchange_command(limit("day", "BUY", "20.00")), FRIDAY_AFTERNOON)
    core.handle(exchange_command(limit("gtc", "BUY", "20.01", tif="GTC")), FRIDAY_AFTERNOON)
    reports = core.handle(EndOfSession(date(2026, 12, 7)), FRIDAY_AFTERNOON + timedelta(hours=1))
    assert [(r.order_id, r.exec_type) for r in reports] == [("day", ExecType.EXPIRED)]
    assert core.trading_day == date(2026, 12, 7) and "gtc" in core.book("PETR4")


async def test_the_day_roll_sends_one_end_of_session_per_new_trading_day():
    core, clock, sent = new_core("s"), ManualClock(FRIDAY_AFTERNOON), []

    async def submit(message: Envelope) -> None:  # what ExchangeWorker.on_exchange_order does, minus the journal
        sent.append(message)
        core.handle(exchange_command(message), clock.now())

    roll = DayRoll(b3_calendar().trading_day, lambda: core.trading_day, submit, clock=clock.now)
    assert await roll.tick() == date(2026, 12, 4), "a fresh exchange learns its day"
    assert await roll.tick() is None
    core.handle(exchange_command(limit("friday", "BUY", "20.00")), clock.now())
    clock.set(datetime(2026, 12, 4, 20, 59, tzinfo=timezone.utc))
    assert await roll.tick() is None and "friday" in core.book("PETR4")
    clock.set(datetime(2026, 12, 4, 21, 0, tzinfo=timezone.utc))  # 18:00: Monday's trading day begins
    assert await roll.tick() == date(2026, 12, 7)
    assert "friday" not in core.book("PETR4")
    clock.advance(timedelta(days=1))  # Saturday 18:00 is still Monday's trading day
    assert await roll.tick() is None
    assert [m.data["tradingDay"] for m in sent] == ["2026-12-04", "2026-12-07"]
    rebuilding = DayRoll(b3_calendar().trading_day, lambda: False, submit, clock=clock.now)
    assert await rebuilding.tick() is None  # the core is being rebuilt: wait


async def test_a_restart_after_the_roll_expires_what_the_day_before_left(journal_db):
    journal, clock = Journal(journal_db), ManualClock(FRIDAY_AFTERNOON)
    live = ExchangeWorker(None, journal, clock=clock.now)
    await live.recover(new_core)
    roll = DayRoll(b3_calendar().trading_day, lambda: live.exchange.trading_day, live.on_exchange_order, clock=clock.now)
    await roll.tick()
    await live.on_exchange_order(limit("friday", "BUY", "20.00"))
    await live.stop()

    clock.set(datetime(2026, 12, 7, 13, 0, tzinfo=timezone.utc))  # down over the weekend, back on Monday
    rebuilt = ExchangeWorker(None, journal, clock=clock.now)
    await rebuilt.recover(new_core)
    assert rebuilt.exchange.trading_day == date(2026, 12, 4) and "friday" in rebuilt.exchange.book("PETR4")
    roll = DayRoll(b3_calendar().trading_day, lambda: rebuilt.exchange.trading_day, rebuilt.on_exchange_order, clock=clock.now)
    assert await roll.tick() == date(2026, 12, 7)
    assert "friday" not in rebuilt.exchange.book("PETR4")
    await rebuilt.stop()

    again = ExchangeWorker(None, journal, clock=clock.now)
    await again.recover(new_core)  # the roll is journaled: a second rebuild is on Monday already
    assert again.exchange.trading_day == date(2026, 12, 7) and "friday" not in again.exchange.book("PETR4")
    await again.stop()
