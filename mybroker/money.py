"""Money is Decimal with two places (centavos); the exchange counts prices in integer ticks."""
from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal, InvalidOperation

CENT = Decimal("0.01")
TICK = CENT  # B3's tick for stocks: R$0.01


class MoneyFormatError(ValueError):
    pass


def parse_money(value: object) -> Decimal:
    """A client-supplied amount: a string or integer with at most two decimal places."""
    if isinstance(value, bool) or value is None:
        raise MoneyFormatError("expected a decimal number such as \"1234.50\"")
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise MoneyFormatError(f"{value!r} is not a decimal number") from None
    if not amount.is_finite():
        raise MoneyFormatError("amount must be a finite number")
    try:
        quantized = amount.quantize(CENT)
    except InvalidOperation:  # more digits than Decimal's context holds, e.g. "1e30"
        raise MoneyFormatError("amount is too large") from None
    if amount != quantized:
        raise MoneyFormatError("amount has more than two decimal places")
    return quantized


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
