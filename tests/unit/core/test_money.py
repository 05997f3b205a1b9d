from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from mybroker.money import MoneyFormatError, format_money, from_ticks, parse_money, to_ticks


@pytest.mark.parametrize(
    "raw, expected",
    [("10", "10.00"), ("1234.5", "1234.50"), ("0.01", "0.01"), (7, "7.00"), ("1.230", "1.23"), (" 3.10 ", "3.10")],
)
def test_parse_money_accepts_at_most_two_places(raw, expected):
    assert format_money(parse_money(raw)) == expected


@pytest.mark.parametrize("raw", ["1.234", "abc", "", "NaN", "Infinity", None, True, "1e-3"])
def test_parse_money_rejects_what_is_not_money(raw):
    with pytest.raises(MoneyFormatError):
        parse_money(raw)


@given(st.integers(min_value=1, max_value=10**9))
def test_ticks_round_trip(ticks):
    assert to_ticks(from_ticks(ticks)) == ticks


def test_off_tick_price_is_refused():
    with pytest.raises(MoneyFormatError):
        to_ticks(Decimal("31.415"))
