"""b3-sim's messages, mapped between its core's commands, reports and trades and the
kernel's wire types (mybroker.wire holds every encoding and decoding): NewOrder,
CancelOrder, ReplaceOrder and OrderStatusRequest from `b3.orders` (an OrderStatusRequest
is answered, never journaled), Quote from market data, ExecutionReport out on
`broker.executions`, Trade on `b3-trades-v1`.

SessionPhase, EndOfSession and RulesChanged are b3-sim's own: the app makes them itself
(from its session clock or day roll, and at start when the configured rules differ from
the journal's) so the journal holds them like any other command. No channel carries them, so their shape lives
here, not in the kernel."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from b3sim.book import SelfTrade
from b3sim.exchange import (
    CancelOrder,
    EndOfSession,
    ExecutionReport,
    NewOrder,
    OrderStatusRequest,
    ReferencePrice,
    ReplaceOrder,
    Rules,
    RulesChanged,
    SessionPhase,
)
from b3sim.session import Phase
from b3sim.tape import Trade
from mybroker import wire
from mybroker.events import Envelope

# The session moved to a new phase: {"phase": "OPEN"}; made by b3-sim itself, journaled.
SESSION_PHASE = "SessionPhase"
# The rules in force from here on: {"priceBandPercent": "5", "selfTrade": "NONE"}; made by
# b3-sim at start when the configured rules differ from the journal's, journaled.
RULES_CHANGED = "RulesChanged"
# The trading day changed in the continuous mode: {"tradingDay": "2026-12-07"}; DAY orders
# of the day before expire. Made by b3-sim's day roll, journaled.
END_OF_SESSION = "EndOfSession"


def exchange_command(
    message: Envelope,
) -> NewOrder | CancelOrder | ReplaceOrder | SessionPhase | EndOfSession | OrderStatusRequest | RulesChanged | None:
    """The command in a `b3.orders` message; None for a type this exchange does not know.
    A malformed message raises, so the bus retries and then dead-letters it."""
    if message.type == wire.NewOrder.TYPE:
        order = wire.NewOrder.of(message)
        return NewOrder(
            order.order_id, order.ticker, order.side, order.type, order.time_in_force, order.quantity,
            order.limit_price, order.protection_price, order.account, order.stop_price, order.oco_group,
        )
    if message.type == wire.CancelOrder.TYPE:
        cancel = wire.CancelOrder.of(message)
        return CancelOrder(cancel.order_id, cancel.ticker)
    if message.type == wire.ReplaceOrder.TYPE:
        replace = wire.ReplaceOrder.of(message)
        return ReplaceOrder(replace.order_id, replace.ticker, replace.quantity, replace.limit_price)
    if message.type == wire.OrderStatusRequest.TYPE:
        request = wire.OrderStatusRequest.of(message)
        return OrderStatusRequest(request.order_id, request.ticker)
    if message.type == SESSION_PHASE:
        return SessionPhase(Phase(message.data["phase"]))
    if message.type == RULES_CHANGED:
        return RulesChanged(Decimal(str(message.data["priceBandPercent"])), SelfTrade(message.data["selfTrade"]))
    if message.type == END_OF_SESSION:
        return EndOfSession(date.fromisoformat(str(message.data["tradingDay"])))
    return None


def rules_changed_envelope(rules: Rules) -> Envelope:
    return Envelope(RULES_CHANGED, {"priceBandPercent": str(rules.price_band_percent), "selfTrade": rules.self_trade.value})


def session_phase_envelope(phase: Phase) -> Envelope:
    return Envelope(SESSION_PHASE, {"phase": phase.value})


def end_of_session_envelope(trading_day: date) -> Envelope:
    return Envelope(END_OF_SESSION, {"tradingDay": trading_day.isoformat()})


def reference_price(message: Envelope) -> ReferencePrice | None:
    if message.type != wire.Quote.TYPE:
        return None
    quote = wire.Quote.of(message)
    return ReferencePrice(ticker=quote.ticker, price=quote.price)


def report_envelope(report: ExecutionReport) -> Envelope:
    """The report as the broker reads it; the wire type drops what only the journal needs
    (ticker, side, trade id) and holds the contract's nulls (no size outside FILL/REPLACED)."""
    return wire.ExecutionReport(
        order_id=report.order_id,
        exec_type=report.exec_type,
        time=report.time,
        leaves_quantity=report.leaves_quantity,
        cumulative_quantity=report.cumulative_quantity,
        execution_id=report.execution_id,
        quantity=report.quantity,
        price=report.price,
        reason=report.reason,
        reject_code=report.reject_code,
        order_status=report.order_status,
    ).envelope()


def trade_message(trade: Trade) -> wire.Trade:
    return wire.Trade(trade.trade_id, trade.ticker, trade.price, trade.quantity, trade.time)


def trade_envelope(trade: Trade) -> Envelope:
    return trade_message(trade).envelope()
