"""The brokerage note's arithmetic, with figures worked by hand (B3-2025-08: emolumentos
0.00366%, liquidação 0.0275%, each rounded half-even to the centavo)."""
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from mybroker.fees import BrokeragePlan, FeeSchedule
from mybroker.trading import OrderSide
from subgraphs.reports.domain import Fill
from subgraphs.reports.notes import brokerage_note, fill_costs, note_number, side_of, swing_sales

D = Decimal
DAY = date(2025, 3, 10)
SETTLES = date(2025, 3, 12)
START = datetime(2025, 3, 10, 13, 0, tzinfo=timezone.utc)
FEES = FeeSchedule()  # B3-2025-08, brokerage 0
PLAN = FeeSchedule(plan=BrokeragePlan("flat", D("4.90")))  # ISS 5%: 0.245 -> 0.24


def fill(n: int, order: str, side: str, ticker: str, quantity: int, price: str, *, at: datetime | None = None,
         traded: str | None = None, user: str = "u-1") -> Fill:
    return Fill(f"x-{n}", order, user, ticker, OrderSide(side), quantity, D(price), at or START + timedelta(minutes=n), traded)


def note_of(fills, schedule=FEES):
    return brokerage_note("u-1", DAY, SETTLES, fills, fill_costs(fills, schedule), schedule)


def test_a_day_with_a_purchase_and_a_swing_sale():
    fills = [fill(1, "o-1", "BUY", "PETR4", 100, "31.45"), fill(2, "o-2", "SELL", "VALE3", 300, "70.00")]
    note = note_of(fills, PLAN)
    assert [(t.operation, t.market, t.kind, t.ticker, t.quantity, t.price, t.value, t.debit_credit) for t in note.trades] == [
        ("C", "1-BOVESPA", "VISTA", "PETR4", 100, D("31.45"), D("3145.00"), "D"),
        ("V", "1-BOVESPA", "VISTA", "VALE3", 300, D("70.00"), D("21000.00"), "C"),
    ]
    assert (note.sales, note.purchases, note.total_traded, note.operations_net) == (D("21000.00"), D("3145.00"), D("24145.00"), D("17855.00"))
    # liquidação: 3145 x 0.000275 = 0.864875 -> 0.86; 21000 x 0.000275 = 5.775 -> 5.78 (half-even)
    assert note.settlement_fee == D("6.64")
    # emolumentos: 3145 x 0.0000366 = 0.115107 -> 0.12; 21000 x 0.0000366 = 0.7686 -> 0.77
    assert note.trading_fee == D("0.89")
    assert (note.brokerage, note.iss) == (D("9.80"), D("0.48"))  # two orders at 4.90, ISS 0.24 each
    # dedo-duro: 0.005% of 21000.00 = 1.05, above R$ 1.00 so withheld
    assert (note.irrf_base, note.irrf) == (D("21000.00"), D("1.05"))
    assert note.costs == D("17.81")
    assert note.net == D("17836.14") and side_of(note.net) == "C"  # 17855.00 - 17.81 - 1.05
    assert (note.trade_date, note.settlement_date) == (DAY, SETTLES)


def test_irrf_of_a_real_or_less_is_not_withheld():
    note = note_of([fill(1, "o-1", "SELL", "PETR4", 100, "30.00")])  # 3000.00 x 0.005% = 0.15
    assert (note.irrf_base, note.irrf) == (D("3000.00"), D("0.00"))
    # liquidação 0.825 -> 0.82, emolumentos 0.1098 -> 0.11
    assert note.net == D("3000.00") - D("0.82") - D("0.11")


def test_a_purchase_day_is_a_debit():
    note = note_of([fill(1, "o-1", "BUY", "PETR4", 100, "10.00")])
    # liquidação 0.275 -> 0.28 (half-even), emolumentos 0.0366 -> 0.04
    assert (note.settlement_fee, note.trading_fee) == (D("0.28"), D("0.04"))
    assert note.net == D("-1000.32") and side_of(note.net) == "D"


def test_an_order_filled_over_two_days_pays_on_its_running_total():
    first = fill(1, "o-1", "BUY", "PETR4", 100, "10.00", at=START - timedelta(days=1))
    second = fill(2, "o-1", "BUY", "PETR4", 200, "10.00")
    costs = fill_costs([second, first], FEES)  # any order in: walked in execution order
    note = brokerage_note("u-1", DAY, SETTLES, [second], costs, FEES)
    # The order's 3000.00 pays liquidação 0.825 -> 0.82 and emolumentos 0.1098 -> 0.11; the
    # first day's 1000.00 paid 0.28 and 0.04; 2000.00 alone would pay 0.55, not 0.54.
    assert (note.settlement_fee, note.trading_fee) == (D("0.54"), D("0.07"))
    assert [(t.quantity, t.value) for t in note.trades] == [(200, D("2000.00"))]


def test_fills_of_one_side_ticker_and_price_make_one_line():
    fills = [
        fill(1, "o-1", "BUY", "PETR4", 100, "10.00"),
        fill(2, "o-1", "BUY", "PETR4", 100, "10.01"),
        fill(3, "o-1", "BUY", "PETR4", 200, "10.00"),
    ]
    note = note_of(fills)
    assert [(t.quantity, t.price, t.value) for t in note.trades] == [(300, D("10.00"), D("3000.00")), (100, D("10.01"), D("1001.00"))]
    # One order of 4001.00: liquidação 1.100275 -> 1.10, emolumentos 0.1464366 -> 0.15
    assert (note.settlement_fee, note.trading_fee) == (D("1.10"), D("0.15"))


def test_the_fractional_market_is_its_own_line_type():
    note = note_of([fill(1, "o-1", "BUY", "PETR4", 7, "31.45", traded="PETR4F"), fill(2, "o-2", "BUY", "PETR4", 100, "31.45", traded="PETR4")])
    assert [(t.kind, t.ticker, t.quantity) for t in note.trades] == [("FRACIONARIO", "PETR4F", 7), ("VISTA", "PETR4", 100)]


def test_day_trades_are_left_out_of_the_irrf_base():
    # 150 PETR4 sold, 100 bought the same day (PETR4F's shares are PETR4's): 50 swing, at the
    # day's average sale price: (100 x 11.00 + 50 x 12.00) / 150 x 50 = 566.666... -> 566.67
    fills = [
        fill(1, "o-1", "BUY", "PETR4", 100, "10.00"),
        fill(2, "o-2", "SELL", "PETR4", 100, "11.00"),
        fill(3, "o-3", "SELL", "PETR4", 50, "12.00", traded="PETR4F"),
        fill(4, "o-4", "SELL", "VALE3", 10, "70.00"),
    ]
    assert swing_sales(fills) == D("566.67") + D("700.00")
    assert swing_sales(fills[:2]) == D("0.00")


def test_the_number_is_stable_per_trader_and_day():
    assert note_number("u-1", DAY) == note_number("u-1", DAY)
    assert len(note_number("u-1", DAY)) == 9 and note_number("u-1", DAY).isdigit()
    assert note_number("u-1", DAY) != note_number("u-2", DAY) != note_number("u-2", DAY + timedelta(days=1))


def test_a_note_is_one_traders_and_has_trades():
    with pytest.raises(ValueError):
        note_of([])
    with pytest.raises(ValueError):
        note_of([fill(1, "o-1", "BUY", "PETR4", 100, "10.00", user="u-2")])


def test_a_day_trades_note_has_the_final_fees_and_its_irrf():
    """Buy 100 PETR4 at 30.00 and sell them at 31.00: the fills were charged liquidação 0.82 +
    0.85 at swing rates; the day's end gives 0.46 back (6,100.00 at 0.0200% = 1.22 for 1.68),
    and withholds 1% of the result 98.57 (mybroker.day_end's worked example)."""
    note = note_of([fill(1, "o-1", "BUY", "PETR4", 100, "30.00"), fill(2, "o-2", "SELL", "PETR4", 100, "31.00")])
    assert note.fee_adjustment.items() and note.fee_adjustment.liquidacao == D("-0.46")
    assert (note.settlement_fee, note.trading_fee) == (D("1.21"), D("0.22"))
    assert (note.irrf_base, note.irrf, note.day_trade_irrf_base, note.day_trade_irrf) == (D("0.00"), D("0.00"), D("98.57"), D("0.99"))
    assert note.net == D("100.00") - D("1.43") - D("0.99")  # 97.58: the wallet's cash change once the day ends
