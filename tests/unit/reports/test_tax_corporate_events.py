"""The income tax replays the splits the wallet applied (TaxSplit), so a sale after a split
realises against the split average, a reverse split's fraction is a result but not a sale,
and 31 December shows the split quantity at the same cost. Worked by hand."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from mybroker.cost_basis import Basis
from mybroker.trading import OrderSide
from subgraphs.reports.tax import AssetCategory, TaxSplit, TaxTrade, TradeKind, realise, year_end_positions

D = Decimal
STOCK = AssetCategory.STOCK


def buy(day: date, ticker: str, quantity: int, value: str) -> TaxTrade:
    return TaxTrade(day, ticker, STOCK, OrderSide.BUY, quantity, D(value), D("0.00"))


def sell(day: date, ticker: str, quantity: int, value: str) -> TaxTrade:
    return TaxTrade(day, ticker, STOCK, OrderSide.SELL, quantity, D(value), D("0.00"))


def test_a_sale_after_a_split_realises_against_the_split_average():
    # 100 BBAS3 for 2,000.00; split 2 for 1 on the ex-date 10/03: 200 at 10.00. Selling the
    # 200 at 11.00 two days later realises 2,200.00 - 2,000.00 = 200.00, and leaves nothing.
    trades = [
        buy(date(2026, 3, 2), "BBAS3", 100, "2000.00"),
        TaxSplit(date(2026, 3, 10), "BBAS3", STOCK, 100, 2, 1),
        sell(date(2026, 3, 12), "BBAS3", 200, "2200.00"),
    ]
    realised, positions = realise(trades)
    [sale] = realised
    assert (sale.day, sale.kind, sale.sales, sale.result) == (date(2026, 3, 12), TradeKind.SWING_TRADE, D("2200.00"), D("200.00"))
    assert positions["BBAS3"].quantity == 0


def test_a_split_applies_before_its_days_trades():
    # Bought and sold on the ex-date, after the split: 50 of the 200 are sold (swing trade),
    # none bought that day, so nothing is a day trade.
    trades = [
        buy(date(2026, 3, 2), "BBAS3", 100, "2000.00"),
        sell(date(2026, 3, 10), "BBAS3", 50, "550.00"),
        TaxSplit(date(2026, 3, 10), "BBAS3", STOCK, 100, 2, 1),
    ]
    [sale], positions = realise(trades)
    assert (sale.result, positions["BBAS3"]) == (D("50.00"), Basis(150, D("10.000000"), D("50.00")))


def test_a_reverse_splits_fraction_is_a_result_but_not_a_sale():
    # 25 BBDC4 for 395.00 grouped 1 for 10: 2 at 158.00; the half share cost 79.00 and
    # brought 80.00: a 1.00 gain with no sale value (the company sold it at auction).
    trades = [
        buy(date(2026, 3, 2), "BBDC4", 25, "395.00"),
        TaxSplit(date(2026, 3, 16), "BBDC4", STOCK, 25, 1, 10, D("80.00")),
    ]
    [fraction], positions = realise(trades)
    assert (fraction.day, fraction.kind, fraction.sales, fraction.result) == (date(2026, 3, 16), TradeKind.SWING_TRADE, D("0.00"), D("1.00"))
    assert (positions["BBDC4"].quantity, positions["BBDC4"].average_price) == (2, D("158.000000"))


def test_the_year_end_position_shows_the_split_quantity_at_the_same_cost():
    trades = [buy(date(2025, 6, 2), "BBAS3", 100, "2000.00"), TaxSplit(date(2026, 3, 10), "BBAS3", STOCK, 100, 2, 1)]
    [line] = year_end_positions(trades, 2026)
    assert (line.quantity, line.average_price, line.cost, line.cost_previous_year) == (200, D("10.000000"), D("2000.00"), D("2000.00"))
