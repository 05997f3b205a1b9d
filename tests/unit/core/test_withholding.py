"""IRRF on JCP and dividends: the dated rules (mybroker/withholding.py), worked by hand."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from mybroker.withholding import IncomeKind, rule_for, withhold

D = Decimal


def test_jcp_withholds_15_percent_until_2025_and_17_5_percent_from_2026():
    # R$ 1,000.00 of JCP: 150.00 withheld paid on the last day of 2025, 175.00 from 2026.
    assert withhold(IncomeKind.JCP, D("1000.00"), date(2025, 12, 31)).withheld == D("150.00")
    paid_2026 = withhold(IncomeKind.JCP, D("1000.00"), date(2026, 1, 2))
    assert (paid_2026.withheld, paid_2026.net) == (D("175.00"), D("825.00"))
    assert paid_2026.rule.law == "Lei Complementar 224/2025"


def test_jcp_withholding_rounds_to_the_centavo_half_even():
    # 100 shares x R$ 0.0175 = R$ 1.75; 17.5% of it is 0.30625 -> 0.31.
    assert withhold(IncomeKind.JCP, D("1.75"), date(2026, 12, 29)).withheld == D("0.31")


def test_dividends_are_exempt_up_to_50000_a_month_from_one_company():
    assert withhold(IncomeKind.DIVIDEND, D("50000.00"), date(2026, 6, 1)).withheld == D("0.00")
    assert withhold(IncomeKind.DIVIDEND, D("30000.00"), date(2026, 6, 1), month_gross_before=D("20000.00")).withheld == D("0.00")


def test_past_50000_in_the_month_the_whole_month_withholds_10_percent():
    # One payment of 60,000.00: 10% of all of it, not of the 10,000.00 above the line.
    assert withhold(IncomeKind.DIVIDEND, D("60000.00"), date(2026, 6, 1)).withheld == D("6000.00")
    # 40,000 paid earlier in June withheld nothing; this 20,000 takes the month to 60,000:
    # it withholds 10% of the month, 6,000.00, all of it now.
    second = withhold(IncomeKind.DIVIDEND, D("20000.00"), date(2026, 6, 20), month_gross_before=D("40000.00"))
    assert (second.withheld, second.net) == (D("6000.00"), D("14000.00"))
    # A third payment that month withholds its own 10%: the month's 6,000 is withheld already.
    third = withhold(
        IncomeKind.DIVIDEND, D("1000.00"), date(2026, 6, 25), month_gross_before=D("60000.00"), month_withheld_before=D("6000.00")
    )
    assert third.withheld == D("100.00")


def test_dividends_paid_before_2026_or_approved_by_2025_withhold_nothing():
    assert withhold(IncomeKind.DIVIDEND, D("90000.00"), date(2025, 12, 30)).withheld == D("0.00")
    assert withhold(IncomeKind.DIVIDEND, D("90000.00"), date(2026, 3, 2), approved_on=date(2025, 12, 31)).withheld == D("0.00")
    assert withhold(IncomeKind.DIVIDEND, D("90000.00"), date(2026, 3, 2), approved_on=date(2026, 1, 5)).withheld == D("9000.00")


def test_the_rule_in_force_is_the_latest_begun_by_the_payment_date():
    assert rule_for(IncomeKind.JCP, date(2026, 1, 1)).rate == D("0.175")
    assert rule_for(IncomeKind.JCP, date(2025, 12, 31)).rate == D("0.15")
    with pytest.raises(ValueError):
        rule_for(IncomeKind.JCP, date(2026, 1, 1), rules=())
