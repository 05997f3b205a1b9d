"""The tape: each trade once, as the market sees it (no order ids, no sides).

Only broker orders get execution reports, and every trade has at least one broker side
(the maker never trades with itself), so the FILL reports of a command hold all of its
trades; a trade between two broker orders shows in two fills sharing one trade id."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Iterable, Mapping

from b3sim.exchange import FILL, ExecutionReport
from mybroker.events import TRADE, Envelope, iso, parse_iso
from mybroker.money import format_money


@dataclass(frozen=True)
class Trade:
    trade_id: str
    ticker: str
    price: Decimal
    quantity: int
    time: datetime

    def payload(self) -> dict[str, Any]:
        return {
            "tradeId": self.trade_id,
            "ticker": self.ticker,
            "price": format_money(self.price),
            "quantity": self.quantity,
            "time": iso(self.time),
        }

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> "Trade":
        return cls(str(data["tradeId"]), str(data["ticker"]), Decimal(str(data["price"])), int(data["quantity"]), parse_iso(str(data["time"])))


def trades_of(reports: Iterable[ExecutionReport]) -> list[Trade]:
    """The trades behind a command's reports, in execution order, each once."""
    seen: set[str] = set()
    trades = []
    for report in reports:
        if report.exec_type != FILL or report.trade_id is None or report.trade_id in seen:
            continue
        seen.add(report.trade_id)
        assert report.ticker is not None and report.price is not None and report.quantity is not None
        trades.append(Trade(report.trade_id, report.ticker, report.price, report.quantity, report.time))
    return trades


def trade_envelope(trade: Trade) -> Envelope:
    return Envelope(TRADE, trade.payload())
