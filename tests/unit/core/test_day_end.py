"""The trading day's end (mybroker/day_end.py), worked out by hand at B3's 2025 rates
(emolumentos 0.003660% both ways; liquidação 0.0275% swing, 0.0200% day trade): which
trades were day trades, the fees' difference, and the IRRF withheld at source."""
from __future__ import annotations

from decimal import Decimal

import pytest

from mybroker.day_end import IRRF_DAY_TRADE_RATE, IRRF_NOT_WITHHELD_UP_TO, IRRF_SWING_RATE, DayTrade, close_day
from mybroker.fees import NO_FEES, Costs, FeeSchedule
from mybroker.trading import OrderSide
from subgraphs.reports.tax import RULES_2004

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL
FEES = FeeSchedule()


def costs(value: str) -> Decimal:
    """What a fill of `value` was charged at swing rates (one fill per order)."""
    return FEES.order_costs(D(value)).total


def test_the_provisional_costs_used_below():
    # 3000.00: 0.1098 -> 0.11 and 0.825 -> 0.82 (half-even); 3100.00: 0.11346 -> 0.11 and 0.8525 -> 0.85;
    # 6000.00: 0.2196 -> 0.22 and 1.65; 9300.00: 0.34038 -> 0.34 and 2.5575 -> 2.56.
    assert [costs(v) for v in ("3000.00", "3100.00", "6000.00", "9300.00")] == [D("0.93"), D("0.96"), D("1.87"), D("2.90")]


def test_a_day_of_swing_trades_only_has_no_adjustment():
    # A purchase of PETR4 and a sale of VALE3 held from before: no asset both bought and sold.
    end = close_day([
        DayTrade("PETR4", BUY, 100, D("3145.00"), costs("3145.00")),
        DayTrade("VALE3", SELL, 300, D("21000.00"), costs("21000.00")),
    ], FEES)
    assert end.day_trades == () and end.adjustment == Costs() and end.adjustment.items() == ()
    # 21,000.00 x 0.005% = 1.05, above R$ 1.00: withheld.
    assert (end.swing_sales, end.swing_irrf) == (D("21000.00"), D("1.05"))
    assert (end.day_trade_result, end.day_trade_irrf, end.irrf) == (D("0"), D("0"), D("1.05"))


def test_a_full_day_trade():
    # Buy 100 PETR4 at 30.00 and sell them at 31.00 the same day: 6,100.00 day-traded.
    end = close_day([
        DayTrade("PETR4", BUY, 100, D("3000.00"), costs("3000.00")),
        DayTrade("PETR4", SELL, 100, D("3100.00"), costs("3100.00")),
    ], FEES)
    [petr4] = end.day_trades
    assert (petr4.ticker, petr4.quantity, petr4.value) == ("PETR4", 100, D("6100.00"))
    # Emolumentos: 0.22326 -> 0.22 at both rates. Liquidação: 1.22 at 0.0200% less 1.6775 -> 1.68
    # at 0.0275%: 0.46 given back.
    assert end.adjustment == Costs(emolumentos=D("0.00"), liquidacao=D("-0.46"))
    # (3100.00 - 0.96) - (3000.00 + 0.93) + 0.46 = 98.57; 1% = 0.9857 -> 0.99.
    assert (end.day_trade_result, end.day_trade_irrf) == (D("98.57"), D("0.99"))
    # A day trade is not a swing sale: no dedo-duro on it.
    assert (end.swing_sales, end.swing_irrf, end.irrf) == (D("0.00"), D("0.00"), D("0.99"))


def test_a_partial_day_trade_the_rest_of_the_sale_is_swing():
    # 300 PETR4 held from before; buy 100 at 30.00, sell 300 at 31.00: 100 day-traded.
    end = close_day([
        DayTrade("PETR4", BUY, 100, D("3000.00"), costs("3000.00")),
        DayTrade("PETR4", SELL, 300, D("9300.00"), costs("9300.00")),
    ], FEES)
    [petr4] = end.day_trades
    # The sale's swing part: 200 of 300 shares, 6,200.00; its day part 3,100.00.
    assert (petr4.quantity, petr4.value) == (100, D("6100.00"))
    assert end.adjustment.liquidacao == D("-0.46")
    # The sale's day part costs 2.90 - 1.93 (2.90 x 200/300 = 1.9333) = 0.97:
    # (3100.00 - 0.97) - (3000.00 + 0.93) + 0.46 = 98.56; 1% = 0.9856 -> 0.99.
    assert (end.day_trade_result, end.day_trade_irrf) == (D("98.56"), D("0.99"))
    # 6,200.00 x 0.005% = 0.31: R$ 1.00 or less is not withheld.
    assert (end.swing_sales, end.swing_irrf) == (D("6200.00"), D("0.00"))


def test_a_partial_day_trade_the_rest_of_the_purchase_is_held():
    # Buy 200 at 30.00, sell 100 at 31.00: 100 day-traded, 100 bought stay in the position.
    end = close_day([
        DayTrade("PETR4", BUY, 200, D("6000.00"), costs("6000.00")),
        DayTrade("PETR4", SELL, 100, D("3100.00"), costs("3100.00")),
    ], FEES)
    # The purchase's day part costs 1.87 - 0.94 (0.935 -> 0.94 half-even) = 0.93: 98.57 as a full one.
    assert (end.day_trades[0].value, end.adjustment.liquidacao) == (D("6100.00"), D("-0.46"))
    assert (end.day_trade_result, end.day_trade_irrf, end.swing_sales) == (D("98.57"), D("0.99"), D("0.00"))


def test_the_days_day_trades_net_whatever_the_asset():
    # A gain of 98.57 on PETR4 and a loss on VALE3 (buy 100 at 70.00, sell at 68.00): the net is a loss.
    end = close_day([
        DayTrade("PETR4", BUY, 100, D("3000.00"), costs("3000.00")),
        DayTrade("PETR4", SELL, 100, D("3100.00"), costs("3100.00")),
        DayTrade("VALE3", BUY, 100, D("7000.00"), costs("7000.00")),
        DayTrade("VALE3", SELL, 100, D("6800.00"), costs("6800.00")),
    ], FEES)
    assert [a.ticker for a in end.day_trades] == ["PETR4", "VALE3"]
    assert end.day_trade_result < 0 and end.day_trade_irrf == D("0.00") and end.day_trade_irrf_base == D("0.00")
    assert end.adjustment == Costs(
        emolumentos=sum((a.adjustment.emolumentos for a in end.day_trades), D("0")),
        liquidacao=sum((a.adjustment.liquidacao for a in end.day_trades), D("0")),
    )


def test_without_fees_there_is_nothing_to_adjust():
    end = close_day([DayTrade("PETR4", BUY, 100, D("3000.00"), D("0")), DayTrade("PETR4", SELL, 100, D("3100.00"), D("0"))], NO_FEES)
    assert end.adjustment.items() == () and end.day_trade_result == D("100.00") and end.day_trade_irrf == D("1.00")


def test_a_trade_has_a_positive_quantity():
    with pytest.raises(ValueError):
        close_day([DayTrade("PETR4", BUY, 0, D("0.00"), D("0"))], FEES)


def test_the_rates_are_the_income_taxs():
    """The tax deducts what the day's end withholds: the same rates in both tables."""
    assert IRRF_SWING_RATE == RULES_2004.irrf_swing_rate
    assert IRRF_DAY_TRADE_RATE == RULES_2004.irrf_day_trade_rate
    assert IRRF_NOT_WITHHELD_UP_TO == RULES_2004.irrf_not_withheld_up_to
