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
