"""The order vocabulary every party shares: it travels in NewOrder, ExecutionReport and
OrderUpdated, so the broker, the wallet and the exchange must spell it one way. The class
names are the public contract's enum names (the orders subgraph exposes these classes)."""
from __future__ import annotations

from enum import Enum


class OrderSide(str, Enum):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(str, Enum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    # Stop orders wait at B3, outside the book, until a trade at or through their stopPrice
    # (a SELL's at or below it, a BUY's at or above it); then a STOP enters as a MARKET
    # order (protected) and a STOP_LIMIT as a LIMIT at its limitPrice.
    STOP = "STOP"
    STOP_LIMIT = "STOP_LIMIT"


STOPS = frozenset({OrderType.STOP, OrderType.STOP_LIMIT})


class TimeInForce(str, Enum):
    DAY = "DAY"  # expires at the session's end
    GTC = "GTC"  # good till cancelled (B3's VAC)
    IOC = "IOC"  # fill what can be filled now, cancel the rest
    FOK = "FOK"  # all now or nothing


class ExecType(str, Enum):
    """What B3 says happened to an order (ExecutionReport.execType)."""

    ACCEPTED = "ACCEPTED"
    FILL = "FILL"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    REPLACED = "REPLACED"  # quantity: the new total; price: the new limit
    REPLACE_REJECTED = "REPLACE_REJECTED"  # the order stays as it was
    CANCEL_REJECTED = "CANCEL_REJECTED"  # B3 does not hold the order (reject_code says why)
    ORDER_STATUS = "ORDER_STATUS"  # B3's answer to a status request (order_status)
    # A stop order's trigger: a trade at or through its stop price; `price` is that trade's.
    # The order now works as a MARKET (STOP) or LIMIT (STOP_LIMIT) order; fills follow.
    TRIGGERED = "TRIGGERED"


class RejectCode(str, Enum):
    """Why B3 refused a cancel or replace (FIX CxlRejReason)."""

    UNKNOWN_ORDER = "UNKNOWN_ORDER"  # B3 never saw the order, or lost it
    TOO_LATE = "TOO_LATE"  # B3 knew it, and it is done already: a cancel can cross a fill
