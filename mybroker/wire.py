"""The messages every channel carries, typed (docs/internals.md, "Channels and messages").

One frozen dataclass per Envelope type, each with one encoder (`envelope()`, and
`payload()` for the data dict) and one decoder (`of(envelope)` / `from_payload(data)`).
Money and prices are Decimal, sides and exec types the shared enums (mybroker.trading),
times aware datetimes. The encoded shape is fixed (tests/unit/core/test_wire_golden.py):
journals, outboxes and processes of other versions hold it. A malformed payload raises
(KeyError/ValueError/TypeError/InvalidOperation), so the bus retries, then dead-letters it.

Kernel: imports only mybroker's own modules below it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Mapping

from mybroker import events
from mybroker.events import Envelope, iso, parse_iso
from mybroker.money import format_money
from mybroker.trading import ExecType, OrderSide, OrderType, RejectCode, TimeInForce


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else format_money(amount)


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


class _Message:
    TYPE: str

    def payload(self) -> dict[str, Any]:  # pragma: no cover - each type has its own
        raise NotImplementedError

    def envelope(self) -> Envelope:
        return Envelope(self.TYPE, self.payload())

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]):  # pragma: no cover
        raise NotImplementedError

    @classmethod
    def of(cls, message: Envelope):
        if message.type != cls.TYPE:
            raise ValueError(f"a {message.type} message is not a {cls.TYPE}")
        return cls.from_payload(message.data)


@dataclass(frozen=True)
class Quote(_Message):
    """assets-market-data-v1. `change` against the previous close, `volume` cumulative."""

    TYPE = events.QUOTE
    ticker: str
    price: Decimal
    change: Decimal
    change_percent: float
    volume: int
    time: datetime
    source: str | None = None

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "ticker": self.ticker,
            "price": format_money(self.price),
            "change": format_money(self.change),
            "changePercent": self.change_percent,
            "volume": self.volume,
            "time": iso(self.time),
        }
        if self.source is not None:
            data["source"] = self.source
        return data

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> "Quote":
        return cls(
            ticker=str(data["ticker"]),
            price=Decimal(str(data["price"])),
            change=Decimal(str(data["change"])),
            change_percent=float(data["changePercent"]),
            volume=int(data["volume"]),
            time=parse_iso(str(data["time"])),
            source=_str(data.get("source")),
        )


def latest_quote_key(ticker: str) -> str:
    """The cache key of a ticker's latest Quote payload: the assets subgraph keeps it (and
    restores it from its database at start), the simulated source reads it to continue a
    restarted market from the last prices (docs/design.md, "Continuity")."""
    return f"quote:{ticker}"


@dataclass(frozen=True)
class NewOrder(_Message):
    TYPE = events.NEW_ORDER
    order_id: str
    ticker: str
    side: OrderSide
    type: OrderType
    time_in_force: TimeInForce
    quantity: int
    limit_price: Decimal | None = None
    protection_price: Decimal | None = None  # a MARKET order never trades beyond it
    account: str | None = None  # the owner: self-trade prevention compares it
    stop_price: Decimal | None = None  # STOP and STOP_LIMIT: the trigger
    oco_group: str | None = None  # orders of one group cancel each other when one executes

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "orderId": self.order_id,
            "ticker": self.ticker,
            "side": self.side.value,
            "type": self.type.value,
            "timeInForce": self.time_in_force.value,
            "quantity": self.quantity,
            "limitPrice": _money(self.limit_price),
            "protectionPrice": _money(self.protection_price),
            "account": self.account,
        }
        if self.stop_price is not None:  # only stops carry it: every other order keeps its shape
            data["stopPrice"] = _money(self.stop_price)
        if self.oco_group is not None:
            data["ocoGroup"] = self.oco_group
        return data

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> "NewOrder":
        return cls(
            order_id=str(data["orderId"]),
            ticker=str(data["ticker"]),
            side=OrderSide(data["side"]),
            type=OrderType(data["type"]),
            time_in_force=TimeInForce(data.get("timeInForce") or "DAY"),
            quantity=int(data["quantity"]),
            limit_price=_decimal(data.get("limitPrice")),
            protection_price=_decimal(data.get("protectionPrice")),
            account=_str(data.get("account")),
            stop_price=_decimal(data.get("stopPrice")),
            oco_group=_str(data.get("ocoGroup")),
        )


@dataclass(frozen=True)
class CancelOrder(_Message):
    TYPE = events.CANCEL_ORDER
    order_id: str
    ticker: str

    def payload(self) -> dict[str, Any]:
        return {"orderId": self.order_id, "ticker": self.ticker}

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> "CancelOrder":
        return cls(order_id=str(data["orderId"]), ticker=str(data.get("ticker", "")))


@dataclass(frozen=True)
class OrderStatusRequest(CancelOrder):
    """FIX 35=H: does B3 hold this order? Answered by one ORDER_STATUS report."""

    TYPE = events.ORDER_STATUS_REQUEST


@dataclass(frozen=True)
class ReplaceOrder(_Message):
    """New terms for a resting order; None: unchanged. `quantity` is the new total."""

    TYPE = events.REPLACE_ORDER
    order_id: str
    ticker: str
    quantity: int | None = None
    limit_price: Decimal | None = None

    def payload(self) -> dict[str, Any]:
        return {"orderId": self.order_id, "ticker": self.ticker, "quantity": self.quantity, "limitPrice": _money(self.limit_price)}

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> "ReplaceOrder":
        return cls(
            order_id=str(data["orderId"]),
            ticker=str(data.get("ticker", "")),
            quantity=_int(data.get("quantity")),
            limit_price=_decimal(data.get("limitPrice")),
        )


@dataclass(frozen=True)
class ExecutionReport(_Message):
    """broker.executions: B3's word about one order. The encoder holds the contract's
    rule: `executionId` only on FILL; `quantity` and `price` on FILL (what traded) and
    REPLACED (the new total and limit), null otherwise; TRIGGERED carries the `price` of the
    trade that triggered the stop."""

    TYPE = events.EXECUTION_REPORT
    order_id: str
    exec_type: ExecType
    time: datetime
    leaves_quantity: int | None = None
    cumulative_quantity: int | None = None
    execution_id: str | None = None
    quantity: int | None = None
    price: Decimal | None = None
    reason: str | None = None
    reject_code: RejectCode | None = None  # CANCEL_REJECTED / REPLACE_REJECTED
    order_status: str | None = None  # ORDER_STATUS: RESTING, DONE or UNKNOWN

    def payload(self) -> dict[str, Any]:
        fill = self.exec_type == ExecType.FILL
        sized = fill or self.exec_type == ExecType.REPLACED
        return {
            "orderId": self.order_id,
            "execType": ExecType(self.exec_type).value,
            "executionId": self.execution_id if fill else None,
            "quantity": self.quantity if sized else None,
            "price": _money(self.price) if sized or self.exec_type == ExecType.TRIGGERED else None,
            "leavesQuantity": self.leaves_quantity,
            "cumulativeQuantity": self.cumulative_quantity,
            "reason": self.reason,
            "time": iso(self.time),
            "rejectCode": None if self.reject_code is None else RejectCode(self.reject_code).value,
            "orderStatus": self.order_status,
        }

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> "ExecutionReport":
        return cls(
            order_id=str(data["orderId"]),
            exec_type=ExecType(data["execType"]),
            time=parse_iso(str(data["time"])),
            leaves_quantity=_int(data.get("leavesQuantity")),
            cumulative_quantity=_int(data.get("cumulativeQuantity")),
            execution_id=_str(data.get("executionId")),
            quantity=_int(data.get("quantity")),
            price=_decimal(data.get("price")),
            reason=_str(data.get("reason")),
            reject_code=None if data.get("rejectCode") is None else RejectCode(data["rejectCode"]),
            order_status=_str(data.get("orderStatus")),
        )


@dataclass(frozen=True)
class LastFill:
    execution_id: str
    quantity: int
    price: Decimal
    executed_at: datetime

    def payload(self) -> dict[str, Any]:
        return {"executionId": self.execution_id, "quantity": self.quantity, "price": format_money(self.price), "executedAt": iso(self.executed_at)}

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> "LastFill":
        return cls(str(data["executionId"]), int(data["quantity"]), Decimal(str(data["price"])), parse_iso(str(data["executedAt"])))


@dataclass(frozen=True)
class OrderUpdated(_Message):
    """order-events-v1: the order after each change; `last_fill` when the change is a fill.
    `status` is the display status (PENDING_CANCEL / PENDING_REPLACE while a request is
    under way), a string: the order's state machine is the orders service's own."""

    TYPE = events.ORDER_UPDATED
    order_id: str
    user_id: str
    ticker: str
    side: OrderSide
    type: OrderType
    time_in_force: TimeInForce
    quantity: int
    limit_price: Decimal | None
    filled_quantity: int
    average_price: Decimal | None
    status: str
    reject_reason: str | None
    status_reason: str | None
    last_fill: LastFill | None
    created_at: datetime
    updated_at: datetime
    stop_price: Decimal | None = None  # STOP and STOP_LIMIT only
    triggered_at: datetime | None = None  # when B3 triggered the stop

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "orderId": self.order_id,
            "userId": self.user_id,
            "ticker": self.ticker,
            "side": self.side.value,
            "type": self.type.value,
            "timeInForce": self.time_in_force.value,
            "quantity": self.quantity,
            "limitPrice": _money(self.limit_price),
            "filledQuantity": self.filled_quantity,
            "averagePrice": _money(self.average_price),
            "status": self.status,
            "rejectReason": self.reject_reason,
            "statusReason": self.status_reason,
            "lastFill": None if self.last_fill is None else self.last_fill.payload(),
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
        }
        # Only stops carry these: every other order's snapshot keeps its shape.
        if self.stop_price is not None:
            data["stopPrice"] = format_money(self.stop_price)
        if self.triggered_at is not None:
            data["triggeredAt"] = iso(self.triggered_at)
        return data

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> "OrderUpdated":
        last = data.get("lastFill")
        return cls(
            order_id=str(data["orderId"]),
            user_id=str(data["userId"]),
            ticker=str(data["ticker"]),
            side=OrderSide(data["side"]),
            type=OrderType(data["type"]),
            time_in_force=TimeInForce(data["timeInForce"]),
            quantity=int(data["quantity"]),
            limit_price=_decimal(data.get("limitPrice")),
            filled_quantity=int(data["filledQuantity"]),
            average_price=_decimal(data.get("averagePrice")),
            status=str(data["status"]),
            reject_reason=_str(data.get("rejectReason")),
            status_reason=_str(data.get("statusReason", data.get("rejectReason"))),
            last_fill=LastFill.from_payload(last) if last else None,
            created_at=parse_iso(str(data["createdAt"])),
            updated_at=parse_iso(str(data["updatedAt"])),
            stop_price=_decimal(data.get("stopPrice")),
            triggered_at=None if data.get("triggeredAt") is None else parse_iso(str(data["triggeredAt"])),
        )


@dataclass(frozen=True)
class WalletTransaction(_Message):
    """wallet-events-v1: one ledger entry; `amount` signed (into available cash: +)."""

    TYPE = events.WALLET_TRANSACTION
    transaction_id: str
    user_id: str
    type: str
    amount: Decimal
    order_id: str | None
    created_at: datetime

    def payload(self) -> dict[str, Any]:
        return {
            "transactionId": self.transaction_id,
            "userId": self.user_id,
            "type": self.type,
            "amount": format_money(self.amount),
            "orderId": self.order_id,
            "createdAt": iso(self.created_at),
        }

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> "WalletTransaction":
        return cls(
            str(data["transactionId"]), str(data["userId"]), str(data["type"]), Decimal(str(data["amount"])),
            _str(data.get("orderId")), parse_iso(str(data["createdAt"])),
        )


@dataclass(frozen=True)
class CorporateEventApplied(_Message):
    """wallet-events-v1: a corporate event applied to one holder's wallet, once (the
    portfolio follows it: subgraphs/reports). `entitled`: the shares held at the close of the
    record date. DIVIDEND and JCP: `gross` credited and `withheld` (IRRF); SPLIT and
    REVERSE_SPLIT: `ratio_new` shares for every `ratio_old`, and `fraction_cash` paid for a
    reverse split's fraction of a share. `applied_on`: the payment date, or a split's ex-date."""

    TYPE = events.CORPORATE_EVENT_APPLIED
    event_id: str
    user_id: str
    ticker: str
    kind: str
    record_date: date
    applied_on: date
    entitled: int
    gross: Decimal
    withheld: Decimal
    fraction_cash: Decimal
    applied_at: datetime
    ratio_new: int | None = None
    ratio_old: int | None = None

    def payload(self) -> dict[str, Any]:
        return {
            "eventId": self.event_id,
            "userId": self.user_id,
            "ticker": self.ticker,
            "kind": self.kind,
            "recordDate": self.record_date.isoformat(),
            "appliedOn": self.applied_on.isoformat(),
            "entitled": self.entitled,
            "gross": format_money(self.gross),
            "withheld": format_money(self.withheld),
            "fractionCash": format_money(self.fraction_cash),
            "ratioNew": self.ratio_new,
            "ratioOld": self.ratio_old,
            "appliedAt": iso(self.applied_at),
        }

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> "CorporateEventApplied":
        return cls(
            event_id=str(data["eventId"]),
            user_id=str(data["userId"]),
            ticker=str(data["ticker"]),
            kind=str(data["kind"]),
            record_date=date.fromisoformat(str(data["recordDate"])),
            applied_on=date.fromisoformat(str(data["appliedOn"])),
            entitled=int(data["entitled"]),
            gross=Decimal(str(data["gross"])),
            withheld=Decimal(str(data["withheld"])),
            fraction_cash=Decimal(str(data["fractionCash"])),
            applied_at=parse_iso(str(data["appliedAt"])),
            ratio_new=_int(data.get("ratioNew")),
            ratio_old=_int(data.get("ratioOld")),
        )


@dataclass(frozen=True)
class Trade(_Message):
    """b3-trades-v1: one trade on the exchange, as the market sees it."""

    TYPE = events.TRADE
    trade_id: str
    ticker: str
    price: Decimal
    quantity: int
    time: datetime

    def payload(self) -> dict[str, Any]:
        return {"tradeId": self.trade_id, "ticker": self.ticker, "price": format_money(self.price), "quantity": self.quantity, "time": iso(self.time)}

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> "Trade":
        return cls(str(data["tradeId"]), str(data["ticker"]), Decimal(str(data["price"])), int(data["quantity"]), parse_iso(str(data["time"])))


@dataclass(frozen=True)
class BookLevel:
    price: Decimal
    quantity: int
    orders: int

    def payload(self) -> dict[str, Any]:
        return {"price": format_money(self.price), "quantity": self.quantity, "orders": self.orders}

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> "BookLevel":
        return cls(Decimal(str(data["price"])), int(data["quantity"]), int(data["orders"]))


@dataclass(frozen=True)
class BookSnapshot(_Message):
    """b3-book-v1: the best levels a side (best first) and the last trade."""

    TYPE = events.BOOK_SNAPSHOT
    ticker: str
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    last_trade: Trade | None
    time: datetime

    def payload(self) -> dict[str, Any]:
        bids = [level.payload() for level in self.bids]
        asks = [level.payload() for level in self.asks]
        return {
            "ticker": self.ticker,
            "bids": bids,
            "asks": asks,
            "bestBid": bids[0]["price"] if bids else None,
            "bestAsk": asks[0]["price"] if asks else None,
            "lastTrade": None if self.last_trade is None else self.last_trade.payload(),
            "time": iso(self.time),
        }

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> "BookSnapshot":
        last = data.get("lastTrade")
        return cls(
            ticker=str(data["ticker"]),
            bids=tuple(BookLevel.from_payload(level) for level in data["bids"]),
            asks=tuple(BookLevel.from_payload(level) for level in data["asks"]),
            last_trade=Trade.from_payload(last) if last else None,
            time=parse_iso(str(data["time"])),
        )


@dataclass(frozen=True)
class Mail(_Message):
    """identity-mail-v1: an e-mail identity sends (a password reset, or word that no
    account has the address), published through its outbox; `token` only on a reset."""

    TYPE = events.MAIL
    to: str
    kind: str
    subject: str
    body: str
    token: str | None = None

    def payload(self) -> dict[str, Any]:
        data = {"to": self.to, "kind": self.kind, "subject": self.subject, "body": self.body}
        if self.token is not None:
            data["token"] = self.token
        return data

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> "Mail":
        return cls(str(data["to"]), str(data["kind"]), str(data["subject"]), str(data["body"]), _str(data.get("token")))


# Which types each channel carries (b3-sim's journal-only SessionPhase/RulesChanged are its own).
CHANNELS: dict[str, tuple[type[_Message], ...]] = {
    events.MARKET_DATA: (Quote,),
    events.EXCHANGE_ORDERS: (NewOrder, CancelOrder, ReplaceOrder, OrderStatusRequest),
    events.EXECUTIONS: (ExecutionReport,),
    events.ORDER_EVENTS: (OrderUpdated,),
    events.WALLET_EVENTS: (WalletTransaction, CorporateEventApplied),
    events.EXCHANGE_TRADES: (Trade,),
    events.EXCHANGE_BOOKS: (BookSnapshot,),
    events.IDENTITY_MAIL: (Mail,),
}
