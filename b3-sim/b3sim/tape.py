"""The tape: each trade once, as the market sees it (no order ids, no sides).

Only broker orders get execution reports, and every trade has at least one broker side
(the maker never trades with itself), so the FILL reports of a command hold all of its
trades; a trade between two broker orders shows in two fills sharing one trade id."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Iterable

from b3sim.exchange import ExecutionReport
from mybroker.trading import ExecType


@dataclass(frozen=True)
class Trade:
    """One trade (b3sim.wire maps it to the kernel's Trade message)."""

    trade_id: str
    ticker: str
    price: Decimal
    quantity: int
    time: datetime


def trades_of(reports: Iterable[ExecutionReport]) -> list[Trade]:
    """The trades behind a command's reports, in execution order, each once."""
    seen: set[str] = set()
    trades = []
    for report in reports:
        if report.exec_type != ExecType.FILL or report.trade_id is None or report.trade_id in seen:
            continue
        seen.add(report.trade_id)
        assert report.ticker is not None and report.price is not None and report.quantity is not None
        trades.append(Trade(report.trade_id, report.ticker, report.price, report.quantity, report.time))
    return trades

