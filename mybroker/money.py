"""Money is Decimal with two places (centavos); the exchange counts prices in integer ticks."""
from __future__ import annotations

import re
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal

CENT = Decimal("0.01")
TICK = CENT  # B3's tick for stocks: R$0.01


class MoneyFormatError(ValueError):
    pass


# The one shape money and prices take on input (the contract's Decimal scalar): ASCII digits,
# optionally a point and one or two more. `re.ASCII` because `\d` would otherwise accept
# fullwidth and Arabic-Indic digits, which Decimal() happily reads. No sign: no client amount
# or price is negative. No exponent, separators, spaces or JSON numbers: each has been read
# differently by some client or spreadsheet, and money must mean one thing.
_MONEY = re.compile(r"(?P<int>[0-9]+)(?:\.(?P<frac>[0-9]{1,2}))?", re.ASCII)
# Digits before the point: far above any transfer or price cap, far below what Decimal's
# context or a NUMERIC(18, 2) column could mis-hold.
MAX_INTEGER_DIGITS = 13
MONEY_FORMAT_HINT = 'Use um texto com algarismos e no máximo duas casas decimais, como "1234.50" (a string with ASCII digits and at most two decimals, e.g. "1234.50").'


def parse_money(value: object) -> Decimal:
    """A client-supplied amount or price, strictly: a string of ASCII digits with at most two
    decimal places ("100", "100.5", "100.50"); everything else is a MoneyFormatError whose
    message (pt-BR first) tells the caller the accepted shape."""
    if not isinstance(value, str):
        # JSON numbers (100, 1.5), booleans and null: the contract says string, never a number.
        raise MoneyFormatError(f"Valor monetário deve ser um texto, não um número. {MONEY_FORMAT_HINT}")
    match = _MONEY.fullmatch(value)
    if match is None:
        shown = value if len(value) <= 40 else value[:40] + "…"
        raise MoneyFormatError(f"Valor monetário inválido: {shown!r}. {MONEY_FORMAT_HINT}")
    if len(match.group("int").lstrip("0")) > MAX_INTEGER_DIGITS:
        raise MoneyFormatError(f"Valor monetário grande demais (amount too large). {MONEY_FORMAT_HINT}")
    return Decimal(value).quantize(CENT)


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


def cents_up(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_CEILING)


def format_money(amount: Decimal) -> str:
    return f"{amount.quantize(CENT, rounding=ROUND_HALF_EVEN)}"


def to_ticks(price: Decimal) -> int:
    ticks = price / TICK
    if ticks != ticks.to_integral_value():
        raise MoneyFormatError(f"price {price} is not a multiple of the tick {TICK}")
    return int(ticks)


def from_ticks(ticks: int) -> Decimal:
    return (Decimal(ticks) * TICK).quantize(CENT)
