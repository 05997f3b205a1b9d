"""b3-sim's messages on the wire (docs/internals.md): NewOrder, CancelOrder and
ReplaceOrder from `b3.orders`, Quote from market data, ExecutionReport out on
`broker.executions`; OrderStatusRequest from `b3.orders` (answered, never journaled);
and SessionPhase and RulesChanged, which the app makes itself (from its session clock, and
at start when the configured rules differ from the journal's) so the journal holds them
like any other command."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from b3sim.book import OrderType, SelfTrade, Side, TimeInForce
from b3sim.exchange import (
    FILL,
    REPLACED,
    CancelOrder,
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
from mybroker.events import (
    CANCEL_ORDER,
    EXECUTION_REPORT,
    NEW_ORDER,
    ORDER_STATUS_REQUEST,
    QUOTE,
    REPLACE_ORDER,
    Envelope,
    iso,
)
from mybroker.money import format_money

# The session moved to a new phase: {"phase": "OPEN"}; made by b3-sim itself, journaled.
SESSION_PHASE = "SessionPhase"
# The rules in force from here on: {"priceBandPercent": "5", "selfTrade": "NONE"}; made by
# b3-sim at start when the configured rules differ from the journal's, journaled.
RULES_CHANGED = "RulesChanged"


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _quantity(value: Any) -> int | None:
    return None if value is None else int(value)


def exchange_command(
    message: Envelope,
) -> NewOrder | CancelOrder | ReplaceOrder | SessionPhase | OrderStatusRequest | RulesChanged | None:
    """The command in a `b3.orders` message; None for a type this exchange does not know.
    A malformed message raises, so the bus retries and then dead-letters it."""
    data = message.data
    if message.type == NEW_ORDER:
        return NewOrder(
            order_id=str(data["orderId"]),
            ticker=str(data["ticker"]),
            side=Side(data["side"]),
            type=OrderType(data["type"]),
            time_in_force=TimeInForce(data.get("timeInForce") or "DAY"),
            quantity=int(data["quantity"]),
            limit_price=_decimal(data.get("limitPrice")),
            protection_price=_decimal(data.get("protectionPrice")),
            account=None if data.get("account") is None else str(data["account"]),
        )
    if message.type == CANCEL_ORDER:
        return CancelOrder(order_id=str(data["orderId"]), ticker=str(data.get("ticker", "")))
    if message.type == REPLACE_ORDER:
        return ReplaceOrder(
            order_id=str(data["orderId"]),
            ticker=str(data.get("ticker", "")),
            quantity=_quantity(data.get("quantity")),
            limit_price=_decimal(data.get("limitPrice")),
        )
    if message.type == SESSION_PHASE:
        return SessionPhase(Phase(data["phase"]))
    if message.type == ORDER_STATUS_REQUEST:
        return OrderStatusRequest(order_id=str(data["orderId"]), ticker=str(data.get("ticker", "")))
    if message.type == RULES_CHANGED:
        return RulesChanged(Decimal(str(data["priceBandPercent"])), SelfTrade(data["selfTrade"]))
    return None


def rules_changed_envelope(rules: Rules) -> Envelope:
    return Envelope(RULES_CHANGED, {"priceBandPercent": str(rules.price_band_percent), "selfTrade": rules.self_trade.value})


def session_phase_envelope(phase: Phase) -> Envelope:
    return Envelope(SESSION_PHASE, {"phase": phase.value})


def reference_price(message: Envelope) -> ReferencePrice | None:
    if message.type != QUOTE:
        return None
    return ReferencePrice(ticker=str(message.data["ticker"]), price=Decimal(str(message.data["price"])))


def report_envelope(report: ExecutionReport) -> Envelope:
    fill = report.exec_type == FILL
    # A FILL carries what traded; a REPLACED the order's new total quantity and limit price.
    sized = fill or report.exec_type == REPLACED
    return Envelope(
        EXECUTION_REPORT,
        {
            "orderId": report.order_id,
            "execType": report.exec_type,
            "executionId": report.execution_id if fill else None,
            "quantity": report.quantity if sized else None,
            "price": format_money(report.price) if sized and report.price is not None else None,
            "leavesQuantity": report.leaves_quantity,
            "cumulativeQuantity": report.cumulative_quantity,
            "reason": report.reason,
            "time": iso(report.time),
            # CANCEL_REJECTED / REPLACE_REJECTED: UNKNOWN_ORDER, TOO_LATE or null (a rule refused it).
            "rejectCode": report.reject_code,
            "orderStatus": report.order_status,  # ORDER_STATUS: RESTING, DONE or UNKNOWN
        },
    )
