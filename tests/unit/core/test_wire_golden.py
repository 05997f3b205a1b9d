"""The bytes on the wire, pinned: every message type's payload as its producer builds it
today (docs/internals.md, "Channels and messages"). Journals, outboxes and processes of
other versions hold these exact shapes, so a refactor of how messages are built must
leave every dict here (field names, decimal and time formats, type strings) unchanged."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from b3sim import wire as b3wire
from b3sim.book import Book, BookOrder, SelfTrade
from b3sim.exchange import ExecutionReport as ExchangeReport, Rules
from b3sim.market_sync import book_snapshot
from b3sim.session import Phase
from b3sim.tape import Trade
from b3sim.wire import trade_envelope
from ingest.simulator import quote_payload
from mybroker.trading import ExecType, OrderSide, OrderType, RejectCode, TimeInForce
from subgraphs.orders import wire as messages
from subgraphs.orders.domain import Fill, Order, OrderStatus, PendingRequest
from subgraphs.orders.wire import order_status_request
from subgraphs.wallet.domain import PostedEntry, TransactionType
from subgraphs.wallet.corporate_events import parse_event
from subgraphs.wallet.wire import applied_message, transaction_message
from subgraphs.identity.wire import no_account_mail, password_reset_mail

AT = datetime(2026, 3, 2, 13, 30, 5, 123456, tzinfo=timezone.utc)
LATER = datetime(2026, 3, 2, 13, 31, 0, tzinfo=timezone.utc)


def _order(**changes) -> Order:
    fields = dict(
        id="o-1", user_id="u-1", ticker="PETR4", side=OrderSide.BUY, type=OrderType.LIMIT,
        time_in_force=TimeInForce.DAY, quantity=300, limit_price=Decimal("38.5"),
        created_at=AT, updated_at=LATER,
    )
    fields.update(changes)
    return Order(**fields)


def test_new_order():
    envelope = messages.new_order(_order(type=OrderType.MARKET, limit_price=None, protection_price=Decimal("40.431")))
    assert envelope.type == "NewOrder"
    assert envelope.data == {
        "orderId": "o-1", "ticker": "PETR4", "side": "BUY", "type": "MARKET", "timeInForce": "DAY",
        "quantity": 300, "limitPrice": None, "protectionPrice": "40.43", "account": "u-1",
    }


def test_cancel_replace_status_request():
    assert (messages.cancel_order(_order()).type, messages.cancel_order(_order()).data) == (
        "CancelOrder", {"orderId": "o-1", "ticker": "PETR4"},
    )
    replace = messages.replace_order(_order(), 200, Decimal("38.1"))
    assert (replace.type, replace.data) == (
        "ReplaceOrder", {"orderId": "o-1", "ticker": "PETR4", "quantity": 200, "limitPrice": "38.10"},
    )
    unchanged = messages.replace_order(_order(), None, None)
    assert unchanged.data == {"orderId": "o-1", "ticker": "PETR4", "quantity": None, "limitPrice": None}
    status = order_status_request("o-1", "PETR4")
    assert (status.type, status.data) == ("OrderStatusRequest", {"orderId": "o-1", "ticker": "PETR4"})


def test_order_updated_with_and_without_last_fill():
    order = _order(status=OrderStatus.PARTIALLY_FILLED, filled_quantity=100, filled_value=Decimal("3850.00"))
    fill = Fill("t-1-A", 100, Decimal("38.5"), AT)
    envelope = messages.order_updated(order, fill)
    assert envelope.type == "OrderUpdated"
    assert envelope.data == {
        "orderId": "o-1", "userId": "u-1", "ticker": "PETR4", "side": "BUY", "type": "LIMIT", "timeInForce": "DAY",
        "quantity": 300, "limitPrice": "38.50", "filledQuantity": 100, "averagePrice": "38.50",
        "status": "PARTIALLY_FILLED", "rejectReason": None, "statusReason": None,
        "lastFill": {"executionId": "t-1-A", "quantity": 100, "price": "38.50", "executedAt": "2026-03-02T13:30:05.123Z"},
        "createdAt": "2026-03-02T13:30:05.123Z", "updatedAt": "2026-03-02T13:31:00.000Z",
    }
    pending = messages.order_updated(_order(status=OrderStatus.OPEN, pending=PendingRequest.CANCEL, reason="x"))
    assert pending.data["status"] == "PENDING_CANCEL"
    assert pending.data["lastFill"] is None and pending.data["averagePrice"] is None
    assert (pending.data["rejectReason"], pending.data["statusReason"]) == (None, "x")
    rejected = messages.order_updated(_order(status=OrderStatus.REJECTED, reason="band"))
    assert (rejected.data["status"], rejected.data["rejectReason"], rejected.data["statusReason"]) == ("REJECTED", "band", "band")


def test_execution_reports():
    fill = b3wire.report_envelope(
        ExchangeReport("o-1", ExecType.FILL, AT, 200, 100, execution_id="t-1-A", quantity=100, price=Decimal("38.5"),
                       ticker="PETR4", side=OrderSide.BUY, trade_id="t-1")
    )
    assert fill.type == "ExecutionReport"
    assert fill.data == {
        "orderId": "o-1", "execType": "FILL", "executionId": "t-1-A", "quantity": 100, "price": "38.50",
        "leavesQuantity": 200, "cumulativeQuantity": 100, "reason": None, "time": "2026-03-02T13:30:05.123Z",
        "rejectCode": None, "orderStatus": None,
    }
    # Outside FILL / REPLACED, quantity and price stay null even when the core set them.
    accepted = b3wire.report_envelope(ExchangeReport("o-1", ExecType.ACCEPTED, AT, 300, 0, execution_id="x", quantity=300, price=Decimal("1")))
    assert accepted.data == {
        "orderId": "o-1", "execType": "ACCEPTED", "executionId": None, "quantity": None, "price": None,
        "leavesQuantity": 300, "cumulativeQuantity": 0, "reason": None, "time": "2026-03-02T13:30:05.123Z",
        "rejectCode": None, "orderStatus": None,
    }
    replaced = b3wire.report_envelope(ExchangeReport("o-1", ExecType.REPLACED, AT, 100, 100, quantity=200, price=Decimal("38.1")))
    assert (replaced.data["executionId"], replaced.data["quantity"], replaced.data["price"]) == (None, 200, "38.10")
    rejected = b3wire.report_envelope(ExchangeReport("o-1", ExecType.CANCEL_REJECTED, AT, 0, 0, reason="no", reject_code=RejectCode.TOO_LATE))
    assert (rejected.data["reason"], rejected.data["rejectCode"]) == ("no", "TOO_LATE")
    status = b3wire.report_envelope(ExchangeReport("o-1", ExecType.ORDER_STATUS, AT, 0, 0, order_status="UNKNOWN"))
    assert status.data["orderStatus"] == "UNKNOWN"


def test_journal_only_commands():
    phase = b3wire.session_phase_envelope(Phase.OPEN)
    assert (phase.type, phase.data) == ("SessionPhase", {"phase": "OPEN"})
    rules = b3wire.rules_changed_envelope(Rules(price_band_percent=Decimal("5"), self_trade=SelfTrade.CANCEL_BOTH))
    assert (rules.type, rules.data) == ("RulesChanged", {"priceBandPercent": "5", "selfTrade": "CANCEL_BOTH"})


def test_trade_and_book_snapshot():
    trade = Trade("t-1", "PETR4", Decimal("38.5"), 100, AT)
    envelope = trade_envelope(trade)
    assert (envelope.type, envelope.data) == (
        "Trade", {"tradeId": "t-1", "ticker": "PETR4", "price": "38.50", "quantity": 100, "time": "2026-03-02T13:30:05.123Z"},
    )
    book = Book("PETR4")
    book.submit(BookOrder("b1", OrderSide.BUY, OrderType.LIMIT, TimeInForce.DAY, 100, price=3840))
    book.submit(BookOrder("b2", OrderSide.BUY, OrderType.LIMIT, TimeInForce.DAY, 200, price=3840))
    book.submit(BookOrder("s1", OrderSide.SELL, OrderType.LIMIT, TimeInForce.DAY, 300, price=3860))
    assert book_snapshot(book, LATER, trade).payload() == {
        "ticker": "PETR4",
        "bids": [{"price": "38.40", "quantity": 300, "orders": 2}],
        "asks": [{"price": "38.60", "quantity": 300, "orders": 1}],
        "bestBid": "38.40", "bestAsk": "38.60",
        "lastTrade": {"tradeId": "t-1", "ticker": "PETR4", "price": "38.50", "quantity": 100, "time": "2026-03-02T13:30:05.123Z"},
        "time": "2026-03-02T13:31:00.000Z",
    }
    assert book_snapshot(Book("VALE3"), LATER, None).payload() == {
        "ticker": "VALE3", "bids": [], "asks": [], "bestBid": None, "bestAsk": None, "lastTrade": None,
        "time": "2026-03-02T13:31:00.000Z",
    }


def test_quote():
    assert quote_payload("PETR4", 3850, 3800, 12_300, AT) == {
        "ticker": "PETR4", "price": "38.50", "change": "0.50", "changePercent": 1.32, "volume": 12_300,
        "time": "2026-03-02T13:30:05.123Z", "source": "simulator",
    }


def test_wallet_transaction():
    envelope = transaction_message("u-1", PostedEntry("tx-1", TransactionType.BUY, Decimal("-3850"), "o-1", AT))
    assert (envelope.type, envelope.data) == (
        "WalletTransaction",
        {"transactionId": "tx-1", "userId": "u-1", "type": "BUY", "amount": "-3850.00", "orderId": "o-1", "createdAt": "2026-03-02T13:30:05.123Z"},
    )
    deposit = transaction_message("u-1", PostedEntry("tx-2", TransactionType.DEPOSIT, Decimal("100.5"), None, LATER))
    assert (deposit.data["amount"], deposit.data["orderId"], deposit.data["createdAt"]) == ("100.50", None, "2026-03-02T13:31:00.000Z")


def test_corporate_event_applied():
    split = parse_event({"id": "ev-2", "ticker": "BBDC4", "kind": "REVERSE_SPLIT", "recordDate": "2026-03-02", "ratioNew": 1,
                         "ratioOld": 10, "fractionPrice": "158"})
    envelope = applied_message("u-1", split, AT.date(), 25, Decimal("0"), Decimal("0"), Decimal("79"), AT)
    assert (envelope.type, envelope.data) == ("CorporateEventApplied", {
        "eventId": "ev-2", "userId": "u-1", "ticker": "BBDC4", "kind": "REVERSE_SPLIT", "recordDate": "2026-03-02",
        "appliedOn": "2026-03-02", "entitled": 25, "gross": "0.00", "withheld": "0.00", "fractionCash": "79.00",
        "ratioNew": 1, "ratioOld": 10, "appliedAt": "2026-03-02T13:30:05.123Z",
    })


def test_mail():
    reset = password_reset_mail("ana@example.com", "123456", 15).envelope()
    assert (reset.type, reset.data) == ("Mail", {
        "to": "ana@example.com", "kind": "password-reset", "subject": "Redefinição de senha",
        "body": "Use este código em até 15 minutos para criar uma senha nova: 123456", "token": "123456",
    })
    assert "token" not in no_account_mail("ana@example.com").envelope().data
