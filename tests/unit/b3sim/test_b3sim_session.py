"""Session calendars (b3sim.session) and the wire form of the new commands."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from b3sim.exchange import ExecutionReport, ReplaceOrder, SessionPhase
from b3sim.session import B3, AlwaysOpen, Phase, calendar
from b3sim.wire import exchange_command, report_envelope, session_phase_envelope
from mybroker.events import NEW_ORDER, REPLACE_ORDER, Envelope
from mybroker.trading import ExecType

# 2026-11-24 is a Tuesday; Brasília is UTC-3 (no daylight saving time since 2019).
TUESDAY = datetime(2026, 11, 24, tzinfo=timezone.utc)


def utc(hour: int, minute: int, day: datetime = TUESDAY) -> datetime:
    return day.replace(hour=hour, minute=minute)


@pytest.mark.parametrize(
    "moment, phase",
    [
        (utc(12, 44), Phase.CLOSED),  # 09:44 in São Paulo
        (utc(12, 45), Phase.PRE_OPENING),
        (utc(12, 59), Phase.PRE_OPENING),
        (utc(13, 0), Phase.OPEN),
        (utc(20, 54), Phase.OPEN),
        (utc(20, 55), Phase.CLOSING_CALL),
        (utc(21, 0), Phase.CLOSED),
        (utc(14, 0, TUESDAY.replace(day=28)), Phase.CLOSED),  # a Saturday
    ],
)
def test_the_b3_calendar_in_brasilia_time(moment, phase):
    assert B3.phase_at(moment) is phase


def test_the_default_calendar_is_always_open_and_names_are_checked():
    assert calendar("always").phase_at(utc(3, 0)) is Phase.OPEN and isinstance(calendar("always"), AlwaysOpen)
    assert calendar("b3") is B3
    with pytest.raises(ValueError, match="unknown session calendar"):
        calendar("nyse")
    with pytest.raises(ValueError):
        B3.phase_at(datetime(2026, 11, 24, 13, 0))  # a naive time is ambiguous


def test_new_commands_decode_from_their_envelopes():
    assert exchange_command(session_phase_envelope(Phase.CLOSING_CALL)) == SessionPhase(Phase.CLOSING_CALL)
    replace = Envelope(REPLACE_ORDER, {"orderId": "o1", "ticker": "PETR4", "quantity": 200, "limitPrice": "31.50"})
    assert exchange_command(replace) == ReplaceOrder("o1", "PETR4", 200, Decimal("31.50"))
    price_only = Envelope(REPLACE_ORDER, {"orderId": "o1", "ticker": "PETR4", "limitPrice": "31.50"})
    assert exchange_command(price_only).quantity is None
    new = {"orderId": "o2", "ticker": "PETR4F", "side": "BUY", "type": "MARKET", "quantity": 7, "protectionPrice": "33.00"}
    assert exchange_command(Envelope(NEW_ORDER, {**new, "account": "user-1"})).account == "user-1"
    assert exchange_command(Envelope(NEW_ORDER, new)).account is None  # older senders
    with pytest.raises(ValueError):
        exchange_command(Envelope("SessionPhase", {"phase": "LUNCH"}))


def test_a_replaced_report_carries_the_new_quantity_and_price():
    report = ExecutionReport("o1", ExecType.REPLACED, TUESDAY, 150, 50, quantity=200, price=Decimal("31.5"))
    data = report_envelope(report).data
    assert (data["execType"], data["quantity"], data["price"], data["leavesQuantity"], data["cumulativeQuantity"]) == (
        "REPLACED", 200, "31.50", 150, 50
    )
    assert data["executionId"] is None


async def test_the_session_clock_moves_the_exchange_through_the_calendar_and_only_on_change():
    from b3sim.exchange import Exchange, Rules
    from b3sim.market_maker import MakerPolicy
    from b3sim.session_clock import SessionClock
    from mybroker.catalog import load_catalog

    exchange = Exchange(load_catalog(), MakerPolicy(depth=0), rules=Rules(phase=Phase.OPEN))
    now = [utc(12, 50)]
    sent: list[Envelope] = []

    async def submit(message: Envelope) -> None:  # what ExchangeWorker.on_exchange_order does, minus the journal
        sent.append(message)
        exchange.handle(exchange_command(message), now[0])

    clock = SessionClock(B3, lambda: exchange.phase, submit, clock=lambda: now[0])
    assert await clock.tick() is Phase.PRE_OPENING and exchange.phase is Phase.PRE_OPENING
    assert await clock.tick() is None and len(sent) == 1  # no change, no command
    for hour, minute, phase in ((13, 0, Phase.OPEN), (20, 55, Phase.CLOSING_CALL), (21, 0, Phase.CLOSED)):
        now[0] = utc(hour, minute)
        assert await clock.tick() is phase and exchange.phase is phase
    assert [m.data["phase"] for m in sent] == ["PRE_OPENING", "OPEN", "CLOSING_CALL", "CLOSED"]
    rebuilding = SessionClock(B3, lambda: None, submit, clock=lambda: now[0])
    assert await rebuilding.tick() is None  # the core is being rebuilt: wait


@pytest.mark.parametrize(
    "moment, phase",
    [
        (datetime(2026, 2, 17, 14, 0, tzinfo=timezone.utc), Phase.CLOSED),  # Carnival Tuesday
        (datetime(2026, 2, 18, 13, 0, tzinfo=timezone.utc), Phase.CLOSED),  # Ash Wednesday opens late
        (datetime(2026, 2, 18, 15, 45, tzinfo=timezone.utc), Phase.PRE_OPENING),  # 12:45 in Brasília
        (datetime(2026, 2, 18, 16, 0, tzinfo=timezone.utc), Phase.OPEN),
        (datetime(2026, 11, 20, 14, 0, tzinfo=timezone.utc), Phase.CLOSED),  # Consciência Negra
        (datetime(2026, 12, 24, 14, 0, tzinfo=timezone.utc), Phase.CLOSED),  # B3 does not trade on the 24th
        (datetime(2026, 12, 23, 14, 0, tzinfo=timezone.utc), Phase.OPEN),
    ],
)
def test_the_b3_calendar_knows_b3s_holidays_and_late_openings(moment, phase):
    assert B3.phase_at(moment) is phase
