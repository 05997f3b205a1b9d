"""Every channel's producers and consumers agree: each producer's real output (built by
its own code path from sample domain objects) decodes with the channel's wire type and
encodes back to the very same payload, every type a channel carries is listed once, and
each consumer's own mapping reads a producer's output as the producer meant it."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from b3sim import wire as b3wire
from b3sim import exchange as b3exchange
from b3sim.book import Book, BookOrder
from b3sim.exchange import ExecutionReport as ExchangeReport
from b3sim.market_sync import book_snapshot
from b3sim.tape import Trade as TapeTrade
from b3sim.wire import trade_envelope
from ingest.simulator import quote_payload
from mybroker import events, wire
from mybroker.events import Envelope
from mybroker.trading import ExecType, OrderSide, OrderType, RejectCode, TimeInForce
from subgraphs.assets.market import add_trade, book_of
from subgraphs.assets.wire import tick_of
from subgraphs.identity.mail import FileMailbox, read_mailbox
from subgraphs.identity.wire import no_account_mail, password_reset_mail
from subgraphs.orders import wire as messages
from subgraphs.orders.domain import Fill, Order, OrderStatus
from subgraphs.orders.wire import order_status_request
from subgraphs.reports.domain import Fill as ReportsFill
from subgraphs.reports.wire import fill_of
from subgraphs.wallet.domain import PostedEntry, TransactionType
from subgraphs.wallet.corporate_events import parse_event
from subgraphs.wallet.wire import applied_message, transaction_message

AT = datetime(2026, 3, 2, 13, 30, 5, 123000, tzinfo=timezone.utc)


def _order(**changes) -> Order:
    fields = dict(
        id="o-1", user_id="u-1", ticker="PETR4", side=OrderSide.SELL, type=OrderType.LIMIT,
        time_in_force=TimeInForce.GTC, quantity=300, limit_price=Decimal("38.5"), created_at=AT, updated_at=AT,
    )
    fields.update(changes)
    return Order(**fields)


def _book() -> Book:
    book = Book("PETR4")
    book.submit(BookOrder("b1", OrderSide.BUY, OrderType.LIMIT, TimeInForce.DAY, 100, price=3840))
    book.submit(BookOrder("s1", OrderSide.SELL, OrderType.LIMIT, TimeInForce.DAY, 300, price=3860))
    return book


TRADE = TapeTrade("t-1", "PETR4", Decimal("38.5"), 100, AT)

# (channel, producer's envelope)
PRODUCED: list[tuple[str, Envelope]] = [
    (events.MARKET_DATA, Envelope(events.QUOTE, quote_payload("PETR4", 3850, 3800, 12_300, AT))),
    (events.EXCHANGE_ORDERS, messages.new_order(_order())),
    (events.EXCHANGE_ORDERS, messages.new_order(_order(type=OrderType.MARKET, limit_price=None, protection_price=Decimal("40")))),
    (events.EXCHANGE_ORDERS, messages.cancel_order(_order())),
    (events.EXCHANGE_ORDERS, messages.replace_order(_order(), 200, None)),
    (events.EXCHANGE_ORDERS, order_status_request("o-1", "PETR4")),
    (events.EXECUTIONS, b3wire.report_envelope(ExchangeReport("o-1", ExecType.FILL, AT, 200, 100, execution_id="t-1-A", quantity=100, price=Decimal("38.5")))),
    (events.EXECUTIONS, b3wire.report_envelope(ExchangeReport("o-1", ExecType.ACCEPTED, AT, 300, 0))),
    (events.EXECUTIONS, b3wire.report_envelope(ExchangeReport("o-1", ExecType.REPLACED, AT, 100, 100, quantity=200, price=Decimal("38.1")))),
    (events.EXECUTIONS, b3wire.report_envelope(ExchangeReport("o-1", ExecType.CANCEL_REJECTED, AT, 0, 0, reason="no", reject_code=RejectCode.UNKNOWN_ORDER))),
    (events.EXECUTIONS, b3wire.report_envelope(ExchangeReport("o-1", ExecType.ORDER_STATUS, AT, 0, 0, order_status="DONE"))),
    (events.ORDER_EVENTS, messages.order_updated(_order(status=OrderStatus.PARTIALLY_FILLED, filled_quantity=100, filled_value=Decimal("3850")), Fill("t-1-A", 100, Decimal("38.5"), AT))),
    (events.ORDER_EVENTS, messages.order_updated(_order(status=OrderStatus.REJECTED, reason="band"))),
    (events.WALLET_EVENTS, transaction_message("u-1", PostedEntry("tx-1", TransactionType.SELL, Decimal("3850.5"), "o-1", AT))),
    (events.WALLET_EVENTS, transaction_message("u-1", PostedEntry("tx-2", TransactionType.WITHDRAWAL, Decimal("-40"), None, AT))),
    (events.WALLET_EVENTS, applied_message(
        "u-1", parse_event({"id": "ev-1", "ticker": "PETR4", "kind": "JCP", "recordDate": "2026-03-02", "paymentDate": "2026-03-20",
                            "amountPerShare": "0.2"}),
        AT.date(), 100, Decimal("20"), Decimal("3.5"), Decimal("0"), AT,
    )),
    (events.WALLET_EVENTS, applied_message(
        "u-1", parse_event({"id": "ev-2", "ticker": "BBDC4", "kind": "REVERSE_SPLIT", "recordDate": "2026-03-02", "ratioNew": 1,
                            "ratioOld": 10, "fractionPrice": "158"}),
        AT.date(), 25, Decimal("0"), Decimal("0"), Decimal("79"), AT,
    )),
    (events.EXCHANGE_TRADES, trade_envelope(TRADE)),
    (events.EXCHANGE_BOOKS, book_snapshot(_book(), AT, TRADE).envelope()),
    (events.EXCHANGE_BOOKS, book_snapshot(Book("VALE3"), AT, None).envelope()),
    (events.IDENTITY_MAIL, password_reset_mail("ana@example.com", "123456", 15).envelope()),
    (events.IDENTITY_MAIL, no_account_mail("ninguem@example.com").envelope()),
]


def _type_of(channel: str, envelope: Envelope):
    (kind,) = [t for t in wire.CHANNELS[channel] if t.TYPE == envelope.type]
    return kind


@pytest.mark.parametrize("channel,envelope", PRODUCED, ids=lambda v: v if isinstance(v, str) else v.type)
def test_each_producer_output_round_trips_through_its_wire_type(channel, envelope):
    # Through bytes, as the bus carries it.
    received = Envelope.from_bytes(envelope.to_bytes())
    message = _type_of(channel, received).of(received)
    assert message.payload() == envelope.data
    assert message.envelope().to_bytes().split(b'"data":', 1)[1] == envelope.to_bytes().split(b'"data":', 1)[1]


def test_every_channel_is_covered_and_every_type_is_listed_once():
    listed = [t.TYPE for types in wire.CHANNELS.values() for t in types]
    assert len(listed) == len(set(listed))
    assert {channel for channel, _ in PRODUCED} >= set(wire.CHANNELS)
    assert {envelope.type for _, envelope in PRODUCED} >= set(listed)


def test_a_type_refuses_another_types_envelope():
    with pytest.raises(ValueError):
        wire.CancelOrder.of(order_status_request("o-1", "PETR4"))


def test_execution_report_encoder_holds_the_contracts_nulls():
    report = wire.ExecutionReport("o-1", ExecType.ACCEPTED, AT, 300, 0, execution_id="x", quantity=300, price=Decimal("1"))
    data = report.payload()
    assert (data["executionId"], data["quantity"], data["price"]) == (None, None, None)


def _carried(envelope: Envelope) -> Envelope:
    return Envelope.from_bytes(envelope.to_bytes())


def test_the_exchange_reads_the_orders_the_broker_sends():
    order = _order(type=OrderType.MARKET, limit_price=None, protection_price=Decimal("40.43"))
    assert b3wire.exchange_command(_carried(messages.new_order(order))) == b3exchange.NewOrder(
        "o-1", "PETR4", OrderSide.SELL, OrderType.MARKET, TimeInForce.GTC, 300, None, Decimal("40.43"), "u-1"
    )
    assert b3wire.exchange_command(_carried(messages.cancel_order(order))) == b3exchange.CancelOrder("o-1", "PETR4")
    assert b3wire.exchange_command(_carried(messages.replace_order(order, 200, Decimal("38.1")))) == b3exchange.ReplaceOrder(
        "o-1", "PETR4", 200, Decimal("38.10")
    )
    assert b3wire.exchange_command(_carried(order_status_request("o-1", "PETR4"))) == b3exchange.OrderStatusRequest("o-1", "PETR4")
    quote = _carried(Envelope(events.QUOTE, quote_payload("PETR4", 3850, 3800, 12_300, AT)))
    assert b3wire.reference_price(quote) == b3exchange.ReferencePrice("PETR4", Decimal("38.50"))


def test_the_broker_reads_the_reports_the_exchange_sends():
    sent = ExchangeReport("o-1", ExecType.FILL, AT, 200, 100, execution_id="t-1-A", quantity=100, price=Decimal("38.5"),
                          ticker="PETR4", side=OrderSide.SELL, trade_id="t-1")
    report = wire.ExecutionReport.of(_carried(b3wire.report_envelope(sent)))
    assert report == wire.ExecutionReport("o-1", ExecType.FILL, AT, 200, 100, execution_id="t-1-A", quantity=100, price=Decimal("38.50"))
    refused = ExchangeReport("o-1", ExecType.CANCEL_REJECTED, AT, 0, 0, reason="no", reject_code=RejectCode.TOO_LATE)
    assert wire.ExecutionReport.of(_carried(b3wire.report_envelope(refused))).reject_code is RejectCode.TOO_LATE


def test_the_projections_read_the_order_events_and_the_market_as_sent():
    order = _order(status=OrderStatus.PARTIALLY_FILLED, filled_quantity=100, filled_value=Decimal("3850"), ticker="PETR4F")
    update = wire.OrderUpdated.of(_carried(messages.order_updated(order, Fill("t-1-A", 100, Decimal("38.5"), AT))))
    assert fill_of(update) == ReportsFill("t-1-A", "o-1", "u-1", "PETR4", OrderSide.SELL, 100, Decimal("38.50"), AT, "PETR4F")
    shown = messages.order_from_snapshot(update)
    assert (shown.status, shown.filled_quantity, shown.average_price) == (OrderStatus.PARTIALLY_FILLED, 100, Decimal("38.50"))

    tick = tick_of(_carried(Envelope(events.QUOTE, quote_payload("PETR4", 3850, 3800, 12_300, AT))).data)
    assert (tick.ticker, tick.price, tick.change, tick.change_percent, tick.volume, tick.time) == (
        "PETR4", Decimal("38.50"), Decimal("0.50"), 1.32, 12_300, AT,
    )
    book = book_of(wire.BookSnapshot.of(_carried(book_snapshot(_book(), AT, TRADE).envelope())), 10)
    assert [(l.price, l.quantity, l.orders) for l in book.bids + book.asks] == [(Decimal("38.40"), 100, 1), (Decimal("38.60"), 300, 1)]
    [listed] = add_trade([], wire.Trade.of(_carried(trade_envelope(TRADE))))
    assert listed == {"tradeId": "t-1", "price": "38.50", "quantity": 100, "time": "2026-03-02T13:30:05.123Z"}


def test_a_wallet_transaction_reads_back_as_the_ledger_entry():
    sent = transaction_message("u-1", PostedEntry("tx-1", TransactionType.SELL, Decimal("3850.5"), "o-1", AT))
    assert wire.WalletTransaction.of(_carried(sent)) == wire.WalletTransaction("tx-1", "u-1", "SELL", Decimal("3850.50"), "o-1", AT)


async def test_the_mailbox_reads_the_mails_identity_sends(tmp_path):
    mailbox = FileMailbox(tmp_path / "mailbox.jsonl")
    sent = password_reset_mail("ana@example.com", "123456", 15).envelope()
    await mailbox.deliver(_carried(sent))
    (mail,) = read_mailbox(tmp_path / "mailbox.jsonl")
    assert (mail["id"], mail["to"], mail["kind"], mail["token"]) == (sent.id, "ana@example.com", "password-reset", "123456")
    assert "15 minutos" in mail["body"]
