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


class RejectCode(str, Enum):
    """Why B3 refused a cancel or replace (FIX CxlRejReason)."""

    UNKNOWN_ORDER = "UNKNOWN_ORDER"  # B3 never saw the order, or lost it
    TOO_LATE = "TOO_LATE"  # B3 knew it, and it is done already: a cancel can cross a fill
