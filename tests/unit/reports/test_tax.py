"""The monthly income tax, on months worked out by hand here (rules IR-2004: 15% swing trade,
20% day trade and FIIs, R$ 20,000 exemption on stock swing sales, IRRF 0.005% / 1%, DARF
6015 due on the last B3 business day of the next month, under R$ 10.00 carried)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mybroker.calendar import B3Calendar
from mybroker.fees import FeeSchedule
from mybroker.trading import OrderSide
from subgraphs.reports.domain import Fill
from subgraphs.reports.notes import brokerage_note, day_end, fill_costs
from subgraphs.reports.tax import (
    TaxDayTradeAdjustment,
    RULES_2004,
    AssetCategory,
    Carry,
    Realised,
    TaxSheet,
    TaxTrade,
    TradeKind,
    allocate,
    assess_month,
    darf_due_date,
    monthly_report,
    monthly_reports,
    realise,
    year_end_positions,
)

D = Decimal
STOCK, ETF, BDR, FII = AssetCategory.STOCK, AssetCategory.ETF, AssetCategory.BDR, AssetCategory.FII
SWING, DAY = TradeKind.SWING_TRADE, TradeKind.DAY_TRADE
CALENDAR = B3Calendar(first=date(2024, 1, 1), last=date(2027, 12, 31))
OPEN = CALENDAR.is_business_day


def buy(day: str, ticker: str, quantity: int, price: str, costs: str = "0.00", category: AssetCategory = STOCK) -> TaxTrade:
    return TaxTrade(date.fromisoformat(day), ticker, category, OrderSide.BUY, quantity, D(price) * quantity, D(costs))


def sell(day: str, ticker: str, quantity: int, price: str, costs: str = "0.00", category: AssetCategory = STOCK) -> TaxTrade:
    return TaxTrade(date.fromisoformat(day), ticker, category, OrderSide.SELL, quantity, D(price) * quantity, D(costs))


def report(trades, month: str):
    return monthly_report(trades, date.fromisoformat(month + "-01"), OPEN)


def test_an_exempt_month_stock_sales_within_20000():
    trades = [buy("2025-03-10", "PETR4", 100, "30.00", "0.93"), sell("2025-03-20", "PETR4", 100, "35.00", "1.09")]
    march = report(trades, "2025-03")
    stocks = march.category(STOCK, SWING)
    # Sales 3,500.00 <= 20,000.00: exempt. Gain (3500.00 - 1.09) - (3000.00 + 0.93) = 497.98.
    assert (stocks.sales, stocks.result, stocks.exempt, stocks.exempt_gain) == (D("3500.00"), D("497.98"), True, D("497.98"))
    # The exempt gain uses no loss and owes nothing; IRRF 3500 x 0.005% = 0.18 is not withheld (<= R$ 1.00).
    assert march.pool(TaxSheet.COMMON, SWING).taxable == 0
    assert (stocks.irrf, march.tax_due, march.darf.amount, march.darf.carried_to_next) == (0, 0, 0, 0)


def test_a_taxable_month_over_20000_with_costs_in_the_average():
    trades = [buy("2025-04-01", "VALE3", 1000, "60.00", "18.70"), sell("2025-04-15", "VALE3", 1000, "65.00", "20.25")]
    april = report(trades, "2025-04")
    stocks = april.category(STOCK, SWING)
    # Average 60,018.70 / 1000 = 60.0187; gain 64,979.75 - 60,018.70 = 4,961.05, not exempt.
    assert (stocks.sales, stocks.result, stocks.exempt) == (D("65000.00"), D("4961.05"), False)
    # 15% of 4,961.05 = 744.1575 -> 744.16; IRRF 65,000 x 0.005% = 3.25 deducted: 740.91.
    swing = april.pool(TaxSheet.COMMON, SWING)
    assert (swing.rate, swing.taxable, swing.tax_due) == (D("0.15"), D("4961.05"), D("744.16"))
    assert (stocks.irrf, april.irrf_deducted) == (D("3.25"), D("3.25"))
    # DARF 6015 by the last business day of May 2025: Friday 30 May.
    assert (april.darf.code, april.darf.amount, april.darf.due_date) == ("6015", D("740.91"), date(2025, 5, 30))


def test_a_day_trade_month_is_taxed_at_20_percent_without_exemption():
    trades = [buy("2025-06-02", "PETR4", 200, "30.00", "1.87"), sell("2025-06-02", "PETR4", 200, "30.50", "1.90")]
    june = report(trades, "2025-06")
    day_trades = june.category(STOCK, DAY)
    # (6,100.00 - 1.90) - (6,000.00 + 1.87) = 96.23; IRRF 1% = 0.9623 -> 0.96.
    assert (day_trades.sales, day_trades.result, day_trades.exempt, day_trades.irrf) == (D("6100.00"), D("96.23"), False, D("0.96"))
    assert june.category(STOCK, SWING).sales == 0
    # 20% of 96.23 = 19.246 -> 19.25, less the IRRF: 18.29, due Thursday 31 July 2025.
    assert june.pool(TaxSheet.COMMON, DAY).tax_due == D("19.25")
    assert (june.darf.amount, june.darf.due_date) == (D("18.29"), date(2025, 7, 31))


def test_a_days_day_trades_net_before_the_1_percent_whatever_the_asset():
    trades = [
        buy("2025-06-02", "PETR4", 100, "30.00"), sell("2025-06-02", "PETR4", 100, "31.00"),  # +100.00
        buy("2025-06-02", "HGLG11", 10, "160.00", category=FII), sell("2025-06-02", "HGLG11", 10, "156.00", category=FII),  # -40.00
    ]
    june = report(trades, "2025-06")
    # The day's day trades net to 60.00: IRRF 0.60, all on the category that gained.
    assert (june.category(STOCK, DAY).irrf, june.category(FII, DAY).irrf) == (D("0.60"), 0)
    # The pools stay apart: stocks' 100.00 taxed at 20% (20.00), the FII's 40.00 loss carried.
    assert (june.pool(TaxSheet.COMMON, DAY).tax_due, june.pool(TaxSheet.FII, DAY).loss_carried_out) == (D("20.00"), D("40.00"))
    assert june.darf.amount == D("19.40")


def test_a_day_trade_leaves_the_average_of_the_shares_held_before():
    # 100 ITUB4 held at 30.00; next day 100 bought at 32.00 and 200 sold at 33.00: 100 are a
    # day trade (3,300.00 - 3,200.00 = 100.00), 100 a swing sale against 30.00 (300.00).
    trades = [buy("2025-06-02", "ITUB4", 100, "30.00"), buy("2025-06-03", "ITUB4", 100, "32.00"), sell("2025-06-03", "ITUB4", 200, "33.00")]
    realised, positions = realise(trades)
    assert [(r.kind, r.sales, r.result) for r in realised] == [(DAY, D("3300.00"), D("100.00")), (SWING, D("3300.00"), D("300.00"))]
    assert positions["ITUB4"].quantity == 0


def test_a_loss_carried_forward_and_used_the_next_month():
    trades = [
        buy("2025-01-06", "BBAS3", 1000, "25.00"), sell("2025-01-20", "BBAS3", 1000, "22.00"),  # loss 3,000.00, sales 22,000
        buy("2025-02-03", "ITUB4", 1000, "30.00"), sell("2025-02-17", "ITUB4", 1000, "35.00"),  # gain 5,000.00, sales 35,000
    ]
    january, february = monthly_reports(trades, date(2025, 2, 1), OPEN)
    swing_jan = january.pool(TaxSheet.COMMON, SWING)
    assert (swing_jan.result, swing_jan.loss_carried_out, swing_jan.tax_due) == (D("-3000.00"), D("3000.00"), 0)
    # January's IRRF (22,000 x 0.005% = 1.10) has no tax to go against: carried within the year.
    assert january.irrf[0].carried_out == D("1.10") and january.darf.amount == 0
    swing_feb = february.pool(TaxSheet.COMMON, SWING)
    # 5,000.00 - 3,000.00 = 2,000.00 taxable at 15% = 300.00; IRRF 1.10 + 1.75 = 2.85: 297.15.
    assert (swing_feb.loss_carried_in, swing_feb.loss_used, swing_feb.loss_carried_out) == (D("3000.00"), D("3000.00"), 0)
    assert (swing_feb.taxable, swing_feb.tax_due, february.irrf_deducted) == (D("2000.00"), D("300.00"), D("2.85"))
    assert (february.darf.amount, february.darf.due_date) == (D("297.15"), date(2025, 3, 31))


def test_a_darf_under_10_is_carried_to_the_next_months_darf():
    trades = [
        buy("2025-08-04", "PETR4", 100, "10.00"), sell("2025-08-04", "PETR4", 100, "10.40"),  # day trade +40.00
        buy("2025-09-01", "PETR4", 100, "10.00"), sell("2025-09-01", "PETR4", 100, "10.20"),  # day trade +20.00
    ]
    august, september = monthly_reports(trades, date(2025, 9, 1), OPEN)
    # August: 20% of 40.00 = 8.00, less IRRF 0.40 = 7.60 < 10.00: nothing to pay, carried.
    assert (august.darf.tax, august.darf.amount, august.darf.carried_to_next) == (D("7.60"), 0, D("7.60"))
    # September: 4.00 - 0.20 = 3.80, with August's 7.60: 11.40, due Friday 31 October 2025.
    assert (september.darf.tax, september.darf.carried_in, september.darf.amount) == (D("3.80"), D("7.60"), D("11.40"))
    assert (september.darf.carried_to_next, september.darf.due_date) == (0, date(2025, 10, 31))


def test_a_small_darf_waits_through_a_month_without_trades():
    trades = [buy("2025-08-04", "PETR4", 100, "10.00"), sell("2025-08-04", "PETR4", 100, "10.40")]
    october = report(trades, "2025-10")
    assert (october.darf.carried_in, october.darf.amount, october.darf.carried_to_next) == (D("7.60"), 0, D("7.60"))


def test_etf_and_bdr_swing_trades_are_never_exempt_and_share_the_stocks_pool():
    trades = [
        buy("2025-05-05", "BOVA11", 100, "130.00", category=ETF), sell("2025-05-12", "BOVA11", 100, "120.00", category=ETF),  # -1,000.00
        buy("2025-05-05", "AAPL34", 100, "50.00", category=BDR), sell("2025-05-12", "AAPL34", 100, "60.00", category=BDR),  # +1,000.00
        buy("2025-05-05", "WEGE3", 100, "40.00"), sell("2025-05-12", "WEGE3", 100, "45.00"),  # +500.00, exempt (4,500 of sales)
    ]
    may = report(trades, "2025-05")
    assert (may.category(ETF, SWING).exempt, may.category(BDR, SWING).exempt, may.category(STOCK, SWING).exempt) == (False, False, True)
    # The ETF's loss offsets the BDR's gain in the month; the exempt stock gain stays out.
    swing = may.pool(TaxSheet.COMMON, SWING)
    assert (swing.result, swing.taxable, swing.tax_due, swing.loss_carried_out) == (0, 0, 0, 0)


def test_fii_losses_offset_only_fii_gains_and_day_trade_losses_only_day_trades():
    trades = [
        buy("2025-07-01", "HGLG11", 100, "160.00", category=FII), sell("2025-07-15", "HGLG11", 100, "150.00", category=FII),  # -1,000
        buy("2025-07-02", "PETR4", 1000, "30.00"), sell("2025-07-02", "PETR4", 1000, "29.50"),  # day trade -500
        buy("2025-07-03", "VALE3", 1000, "60.00"), sell("2025-07-21", "VALE3", 1000, "62.00"),  # swing +2,000, 62,000 of sales
    ]
    july = report(trades, "2025-07")
    assert july.pool(TaxSheet.FII, SWING).loss_carried_out == D("1000.00")
    assert july.pool(TaxSheet.COMMON, DAY).loss_carried_out == D("500.00")
    # The stock gain is taxed in full: 15% of 2,000.00 = 300.00. IRRF per day: the FII sale's
    # 15,000 x 0.005% = 0.75 is not withheld (<= R$ 1.00); VALE3's 62,000 x 0.005% = 3.10 is.
    assert july.pool(TaxSheet.COMMON, SWING).tax_due == D("300.00")
    assert (july.category(FII, SWING).irrf, july.category(STOCK, SWING).irrf) == (0, D("3.10"))
    assert july.darf.amount == D("296.90")


def test_fii_gains_are_taxed_at_20_percent_without_exemption():
    trades = [buy("2025-07-01", "MXRF11", 1000, "10.00", category=FII), sell("2025-07-15", "MXRF11", 1000, "11.00", category=FII)]
    july = report(trades, "2025-07")
    assert (july.category(FII, SWING).exempt, july.pool(TaxSheet.FII, SWING).tax_due) == (False, D("200.00"))


def test_irrf_left_in_december_is_not_carried_into_january():
    trades = [buy("2025-12-01", "BBAS3", 1000, "25.00"), sell("2025-12-15", "BBAS3", 1000, "22.00")]  # loss, IRRF 1.10
    december, january = monthly_reports(trades, date(2026, 1, 1), OPEN)
    assert december.irrf[0].carried_out == D("1.10")
    assert january.irrf[0].carried_in == 0
    assert january.pool(TaxSheet.COMMON, SWING).loss_carried_in == D("3000.00")  # losses have no time limit


def test_the_darf_falls_due_on_b3s_last_business_day_of_the_next_month():
    assert darf_due_date(date(2025, 10, 1), OPEN) == date(2025, 11, 28)  # 29-30 November 2025: a weekend
    assert darf_due_date(date(2025, 11, 1), OPEN) == date(2025, 12, 30)  # B3 is closed on 31 December
    assert darf_due_date(date(2026, 1, 1), OPEN) == date(2026, 2, 27)


def test_year_end_positions_at_cost_for_bens_e_direitos():
    trades = [
        buy("2024-11-04", "PETR4", 100, "30.00", "0.93"),
        buy("2025-03-10", "PETR4", 100, "34.00", "1.05"),
        sell("2025-06-02", "PETR4", 50, "36.00", "0.56"),
        buy("2025-12-30", "KNCR11", 10, "100.00", category=FII),
    ]
    lines = year_end_positions(trades, 2025)
    petr4, kncr11 = sorted(lines, key=lambda line: line.ticker != "PETR4")
    # (3,000.93 + 3,401.05) / 200 = 32.0099; 150 held at cost 4,801.485 -> 4,801.48 (half-even).
    assert (petr4.quantity, petr4.average_price, petr4.cost, petr4.cost_previous_year) == (150, D("32.009900"), D("4801.48"), D("3000.93"))
    assert (kncr11.category, kncr11.quantity, kncr11.cost, kncr11.cost_previous_year) == (FII, 10, D("1000.00"), 0)


def test_a_month_before_any_trade_owes_nothing():
    empty = report([], "2025-03")
    assert (empty.tax_due, empty.darf.amount, empty.darf.due_date) == (0, 0, date(2025, 4, 30))


def test_every_pool_of_the_table_has_one_rate():
    assert {(sheet, kind): RULES_2004.rate(sheet, kind) for sheet in TaxSheet for kind in TradeKind} == {
        (TaxSheet.COMMON, SWING): D("0.15"), (TaxSheet.COMMON, DAY): D("0.20"),
        (TaxSheet.FII, SWING): D("0.20"), (TaxSheet.FII, DAY): D("0.20"),
    }


def test_a_realised_item_of_another_month_is_refused():
    stray = Realised(date(2025, 4, 1), "PETR4", STOCK, SWING, D("1.00"), D("1.00"))
    with pytest.raises(ValueError, match="not in 2025-03"):
        assess_month(date(2025, 3, 1), [stray], {}, Carry(), date(2025, 4, 30))


# ------------------------------------------------------------------ properties

cents_amounts = st.integers(min_value=-2_000_000, max_value=2_000_000).map(lambda n: D(n) / 100)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(cents_amounts, cents_amounts, st.integers(0, 60_000_00).map(lambda n: D(n) / 100)), min_size=1, max_size=14))
def test_losses_are_neither_lost_nor_used_twice_and_small_darfs_are_all_paid_or_carried(months):
    """Per pool, the months' results add up to what was taxed less the loss still carried;
    and the DARFs paid plus what is still carried are the months' taxes after IRRF."""
    carry, month = Carry(), date(2025, 1, 1)
    results, taxed, taxes, paid = D(0), D(0), D(0), D(0)
    for swing, day, sales in months:
        realised = [
            Realised(month, "VALE3", STOCK, SWING, sales, swing),
            Realised(month, "PETR4", STOCK, DAY, D("1.00"), day),
        ]
        report, carry = assess_month(month, realised, {}, carry, month)
        pool = report.pool(TaxSheet.COMMON, SWING)
        results += pool.result
        taxed += pool.taxable
        assert pool.loss_used <= pool.loss_carried_in and pool.taxable >= 0
        taxes += report.darf.tax
        paid += report.darf.amount
        assert report.darf.amount == 0 or report.darf.amount >= D("10.00")
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    assert results == taxed - carry.losses[(TaxSheet.COMMON, SWING)]
    assert paid + carry.darf == taxes


@given(
    st.integers(0, 10_000_00).map(lambda n: D(n) / 100),
    st.dictionaries(st.sampled_from(list(AssetCategory)), st.integers(-1000_00, 1000_00).map(lambda n: D(n) / 100), min_size=1),
)
def test_allocated_irrf_adds_up_to_what_was_withheld(total, weights):
    parts = allocate(total, weights)
    if total and any(w > 0 for w in weights.values()):
        assert sum(parts.values(), D(0)) == total
        assert all(weights[key] > 0 and part > 0 for key, part in parts.items())
    else:
        assert parts == {}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["BUY", "SELL"]), st.integers(1, 500), st.integers(100, 5000)), min_size=1, max_size=12))
def test_a_days_trades_split_into_day_and_swing_lose_no_centavo(fills):
    """On one day, the realised day and swing sales add up to the day's sales, and the
    position keeps what was bought less what was sold."""
    held = buy("2025-03-03", "PETR4", 1000, "20.00")
    trades = [held] + [
        TaxTrade(date(2025, 3, 4), "PETR4", STOCK, OrderSide(side), quantity, D(price) / 100 * quantity, D(quantity) / 100)
        for side, quantity, price in fills
    ]
    realised, positions = realise(trades)
    sold = [t for t in trades if t.side is OrderSide.SELL]
    assert sum((r.sales for r in realised), D(0)) == sum((t.value for t in sold), D(0))
    net = sum(t.quantity if t.side is OrderSide.BUY else -t.quantity for t in trades)
    assert positions["PETR4"].quantity == net


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["BUY", "SELL"]), st.sampled_from(["PETR4", "VALE3", "HGLG11"]), st.integers(1, 3000),
                          st.integers(500, 20000)), min_size=1, max_size=10))
def test_the_irrf_is_the_brokerage_notes(fills):
    """The tax's IRRF of a day, the dedo-duro and the day trades' 1%, is what the day's brokerage
    note withholds (and the wallet's day's end debits), to the centavo, the day trades' fees
    adjusted to the day-trade rates in both."""
    start = datetime(2025, 3, 10, 13, 0, tzinfo=timezone.utc)
    held = [Fill(f"h-{t}", f"h-{t}", "u-1", t, OrderSide.BUY, 100_000, D("10.00"), start - timedelta(days=3)) for t in ("PETR4", "VALE3", "HGLG11")]
    day = [Fill(f"x-{n}", f"o-{n}", "u-1", ticker, OrderSide(side), quantity, D(price) / 100, start + timedelta(minutes=n))
           for n, (side, ticker, quantity, price) in enumerate(fills)]
    costs = fill_costs(held + day, FeeSchedule())
    note = brokerage_note("u-1", date(2025, 3, 10), date(2025, 3, 12), day, costs, FeeSchedule())
    category = {"PETR4": STOCK, "VALE3": STOCK, "HGLG11": FII}
    trades = [TaxTrade(CALENDAR.trading_day(f.executed_at), f.ticker, category[f.ticker], f.side, f.quantity, f.value, costs[f.execution_id].total)
              for f in held + day]
    adjustments = [TaxDayTradeAdjustment(date(2025, 3, 10), a.ticker, category[a.ticker], a.adjustment.total)
                   for a in day_end(day, costs, FeeSchedule()).day_trades]
    march = report(trades + adjustments, "2025-03")
    assert sum((c.irrf for c in march.categories if c.kind is SWING), D(0)) == note.irrf
    assert sum((c.irrf for c in march.categories if c.kind is DAY), D(0)) == note.day_trade_irrf
