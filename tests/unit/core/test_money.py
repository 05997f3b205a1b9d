"""The one strict money parser every subgraph's Decimal scalar uses, with property tests."""
from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from mybroker.money import MoneyFormatError, format_money, from_ticks, parse_money, to_ticks


@pytest.mark.parametrize(
    "raw, expected",
    [("10", "10.00"), ("1234.5", "1234.50"), ("0.01", "0.01"), ("100.50", "100.50"), ("007.10", "7.10")],
)
def test_parse_money_accepts_at_most_two_places(raw, expected):
    assert format_money(parse_money(raw)) == expected


REFUSED = [
    "1.234", "1.230", "abc", "", ".", "1.", ".5", "NaN", "Infinity", "1e-3", "1E+2", "1e2",
    "1_000.00", "1,000", "1,00", "1 000", " 5.00 ", "5.00\n", "-5.00", "+5.00", "0x10",
    "１００", "١٠٠", "१००", "10\u00a0", "12345678901234.00",
    None, True, False, 7, 100, 1.5, Decimal("1.00"), ["1.00"],
]


@pytest.mark.parametrize("raw", REFUSED, ids=repr)
def test_parse_money_rejects_what_is_not_money(raw):
    with pytest.raises(MoneyFormatError) as refused:
        parse_money(raw)
    # pt-BR first, and the accepted shape spelled out.
    assert refused.value.args[0].startswith("Valor monetário")
    assert '"1234.50"' in refused.value.args[0]


digits = st.text(alphabet="0123456789", min_size=1, max_size=13)
fraction = st.one_of(st.just(""), st.text(alphabet="0123456789", min_size=1, max_size=2).map(lambda f: "." + f))


@given(digits, fraction)
def test_every_well_formed_amount_is_accepted_and_exact(integer, frac):
    raw = integer + frac
    parsed = parse_money(raw)
    assert parsed == Decimal(raw)
    assert parsed.as_tuple().exponent == -2  # always two places out


@given(st.decimals(min_value=0, max_value=Decimal("9999999999999.99"), places=2, allow_nan=False))
def test_format_then_parse_round_trips(amount):
    assert parse_money(format_money(amount)) == amount
    assert format_money(parse_money(format_money(amount))) == format_money(amount)


@given(st.text(max_size=30))
def test_any_text_is_either_strict_money_or_refused(raw):
    """No third way: what is accepted matches the documented shape, nothing else slips in."""
    import re

    strict = re.fullmatch(r"[0-9]{1,13}(\.[0-9]{1,2})?", raw, re.ASCII) is not None
    try:
        parse_money(raw)
    except MoneyFormatError:
        assert not strict
    else:
        assert strict


@given(st.one_of(st.integers(), st.floats(), st.booleans(), st.none(), st.decimals()))
def test_non_strings_are_always_refused(raw):
    with pytest.raises(MoneyFormatError):
        parse_money(raw)


@given(st.integers(min_value=1, max_value=10**9))
def test_ticks_round_trip(ticks):
    assert to_ticks(from_ticks(ticks)) == ticks


def test_off_tick_price_is_refused():
    with pytest.raises(MoneyFormatError):
        to_ticks(Decimal("31.415"))
