"""The orders subgraph's GraphQL schema (contract: Order, Execution, PlaceOrderInput, the
order enums, Query.order/orders, Mutation.placeOrder/cancelOrder, Subscription.orderUpdates,
and User.orders). Resolvers are one-liners into OrderService."""
from __future__ import annotations

import datetime as dt
from contextlib import aclosing
from datetime import datetime
from decimal import Decimal
from typing import AsyncGenerator

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet

from mybroker.graphql import GraphQLContext, federation_schema
from mybroker.pagination import encode_cursor
from subgraphs.orders import domain
from subgraphs.orders.preview import OrderPreview as OrderPreviewValue
from subgraphs.orders.service import OrderService

# The context SubgraphGraphQL builds, with this subgraph's service: what resolvers get as `info`.
Info = strawberry.Info[GraphQLContext[OrderService], None]

OrderSide = strawberry.enum(domain.OrderSide)
OrderType = strawberry.enum(domain.OrderType)
TimeInForce = strawberry.enum(domain.TimeInForce)
OrderStatus = strawberry.enum(domain.OrderStatus)


def _fills(info: Info) -> DataLoader[str, list[domain.Fill]]:
    """One query for the executions of every order in a response. Uncached: a subscription's
    context lives as long as the subscription, and fills keep arriving."""
    loaders = info.context.loaders
    if "orders.fills" not in loaders:
        loaders["orders.fills"] = DataLoader(load_fn=info.context.service.fills, cache=False)
    return loaders["orders.fills"]


@strawberry.federation.type(keys=[Key(fields=FieldSet("ticker"), resolvable=False)])
class Asset:
    ticker: strawberry.ID


@strawberry.type
class Execution:
    id: strawberry.ID
    quantity: int
    price: Decimal
    executed_at: datetime

    @classmethod
    def of(cls, fill: domain.Fill) -> "Execution":
        return cls(id=strawberry.ID(fill.execution_id), quantity=fill.quantity, price=fill.price, executed_at=fill.executed_at)


@strawberry.federation.type(keys=["id"])
class Order:
    id: strawberry.ID
    side: OrderSide
    type: OrderType
    time_in_force: TimeInForce
    quantity: int
    limit_price: Decimal | None
    filled_quantity: int
    average_price: Decimal | None = strawberry.field(description="volume-weighted price of the fills so far")
    status: OrderStatus = strawberry.field(
        description="PENDING_CANCEL / PENDING_REPLACE while the trader's request is under way at B3"
    )
    reject_reason: str | None
    status_reason: str | None = strawberry.field(
        description="why the order is CANCELLED, REJECTED or EXPIRED (self-trade prevention, IOC remainder, "
        "end of day, reconciliation, ...), or why B3 refused the last cancel or replace"
    )
    created_at: datetime
    updated_at: datetime
    stop_price: Decimal | None = strawberry.field(
        description="STOP and STOP_LIMIT: the trigger; a SELL triggers at a trade at or below it, a BUY at or above it"
    )
    triggered_at: datetime | None = strawberry.field(
        description="when B3 triggered the stop (a trade at or through stopPrice); null while it waits, and for other types"
    )
    oco_sibling_id: strawberry.ID | None = strawberry.field(
        description="an OCO leg (placeOcoOrder): the other leg, cancelled by B3 on this one's first fill or trigger"
    )
    user_id: strawberry.Private[str]
    ticker: strawberry.Private[str]

    @classmethod
    def of(cls, order: domain.Order) -> "Order":
        return cls(
            id=strawberry.ID(order.id),
            side=order.side,
            type=order.type,
            time_in_force=order.time_in_force,
            quantity=order.quantity,
            limit_price=order.limit_price,
            filled_quantity=order.filled_quantity,
            average_price=order.average_price,
            status=order.display_status,
            reject_reason=order.reject_reason,
            status_reason=order.reason,
            created_at=order.created_at,
            updated_at=order.updated_at,
            stop_price=order.stop_price,
            triggered_at=order.triggered_at,
            oco_sibling_id=None if order.oco_sibling_id is None else strawberry.ID(order.oco_sibling_id),
            user_id=order.user_id,
            ticker=order.ticker,
        )

    @strawberry.field
    def user(self) -> "User":
        return User(id=strawberry.ID(self.user_id))

    @strawberry.field
    def asset(self) -> Asset:
        return Asset(ticker=strawberry.ID(self.ticker))

    @strawberry.field
    async def executions(self, info: Info) -> list[Execution]:
        return [Execution.of(fill) for fill in await _fills(info).load(self.id)]

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> "Order | None":
        return _maybe(await info.context.service.order(info.context.caller, id))


@strawberry.federation.type(shareable=True, description="where a page of a connection stands (Relay)")
class PageInfo:
    has_next_page: bool
    end_cursor: str | None = strawberry.field(description="pass as `after` for the next page; null on an empty page")


@strawberry.type
class OrderEdge:
    cursor: str
    node: Order


@strawberry.type
class OrderConnection:
    edges: list[OrderEdge]
    page_info: PageInfo


@strawberry.input(description="which orders a history page holds: any of each list (empty or null: all), placed in [from, to)")
class OrderHistoryFilter:
    tickers: list[strawberry.ID] | None = None
    sides: list[OrderSide] | None = None
    statuses: list[OrderStatus] | None = None
    from_: datetime | None = strawberry.field(default=None, name="from", description="placed at or after")
    to: datetime | None = strawberry.field(default=None, description="placed before")

    def to_domain(self) -> domain.OrderFilter:
        return domain.OrderFilter(
            tickers=tuple(str(t) for t in self.tickers or ()),
            sides=tuple(self.sides or ()),
            statuses=tuple(self.statuses or ()),
            since=self.from_,
            until=self.to,
        )


@strawberry.federation.type(keys=["id"])
class User:
    id: strawberry.ID

    @strawberry.field(description="the user's orders, newest first")
    async def orders(self, info: Info, status: OrderStatus | None = strawberry.UNSET, first: int | None = 50) -> list[Order]:
        return _all(await info.context.service.orders_of(info.context.caller, self.id, status or None, _page(first)))

    @strawberry.field(
        description="the user's orders, newest first, a page at a time (at most 500 a page; more is refused), filtered"
    )
    async def order_history(
        self, info: Info, first: int | None = 50, after: str | None = None, filter: OrderHistoryFilter | None = None
    ) -> OrderConnection | None:
        wanted = filter.to_domain() if filter is not None else domain.OrderFilter()
        page = await info.context.service.order_history(info.context.caller, str(self.id), wanted, first, after)
        edges = [OrderEdge(cursor=encode_cursor(seq), node=Order.of(order)) for seq, order in page.items]
        return OrderConnection(edges=edges, page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor))

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> "User":
        return cls(id=id)


@strawberry.input
class PlaceOrderInput:
    ticker: strawberry.ID
    side: OrderSide
    type: OrderType
    quantity: int
    limit_price: Decimal | None = strawberry.field(
        default=strawberry.UNSET, description="required for LIMIT and STOP_LIMIT, forbidden for MARKET and STOP"
    )
    time_in_force: TimeInForce | None = TimeInForce.DAY
    client_order_id: str | None = strawberry.field(
        default=strawberry.UNSET, description="idempotency key: placing again with the same key returns the first order"
    )
    stop_price: Decimal | None = strawberry.field(
        default=strawberry.UNSET,
        description="required for STOP and STOP_LIMIT, forbidden otherwise: the trigger, a SELL's below the last price "
        "(stop-loss), a BUY's above it; refused with STOP_PRICE_WRONG_SIDE otherwise",
    )

    def to_request(self) -> domain.OrderRequest:
        return domain.OrderRequest(
            ticker=str(self.ticker),
            side=self.side,
            type=self.type,
            quantity=self.quantity,
            limit_price=_given(self.limit_price),
            time_in_force=_given(self.time_in_force) or domain.TimeInForce.DAY,
            client_order_id=_given(self.client_order_id),
            stop_price=_given(self.stop_price),
        )


@strawberry.input(description="an OCO pair on one position: a take-profit LIMIT and a stop-loss, one cancelling the other")
class PlaceOcoOrderInput:
    ticker: strawberry.ID
    side: OrderSide
    quantity: int
    take_profit_price: Decimal = strawberry.field(
        description="the take-profit's limit: a SELL's above the last price, a BUY's below it"
    )
    stop_price: Decimal = strawberry.field(
        description="the stop-loss's trigger: a SELL's below the last price, a BUY's above it (STOP_PRICE_WRONG_SIDE otherwise)"
    )
    stop_limit_price: Decimal | None = strawberry.field(
        default=strawberry.UNSET, description="the stop-loss works as a STOP_LIMIT at this limit once triggered; null: a STOP"
    )
    time_in_force: TimeInForce | None = TimeInForce.DAY
    client_order_id: str | None = strawberry.field(
        default=strawberry.UNSET, description="idempotency key: placing again with the same key returns the first pair"
    )

    def to_request(self) -> domain.OcoRequest:
        return domain.OcoRequest(
            ticker=str(self.ticker),
            side=self.side,
            quantity=self.quantity,
            take_profit_price=self.take_profit_price,
            stop_price=self.stop_price,
            stop_limit_price=_given(self.stop_limit_price),
            time_in_force=_given(self.time_in_force) or domain.TimeInForce.DAY,
            client_order_id=_given(self.client_order_id),
        )


@strawberry.type(description="the two legs of an OCO pair; they hold one reservation")
class OcoOrder:
    take_profit: Order
    stop_loss: Order


@strawberry.type(description="what an order will cost before it is sent (the ticket), as the wallet will charge and reserve it")
class OrderPreview:
    price_per_share: Decimal = strawberry.field(description="the limit price, or a MARKET order's protection price (last price and collar)")
    value: Decimal = strawberry.field(description="price per share x quantity")
    emolumentos: Decimal = strawberry.field(description="B3's trading fee")
    liquidacao: Decimal = strawberry.field(description="B3's settlement fee")
    brokerage: Decimal = strawberry.field(description="the broker's brokerage (corretagem) of the order")
    iss: Decimal = strawberry.field(description="ISS on the brokerage")
    fees: Decimal = strawberry.field(description="every cost together, at swing-trade rates (a day trade is settled at the day's end)")
    total: Decimal = strawberry.field(description="BUY: what it pays, value + fees; SELL: what it brings, value - fees")
    reserved: Decimal = strawberry.field(description="cash the wallet blocks while the order is open (a BUY: value + fees; a SELL: its brokerage)")
    settlement_date: dt.date = strawberry.field(description="the B3 business day its cash settles (D+2 of today's trading day)")

    @classmethod
    def of(cls, preview: OrderPreviewValue) -> "OrderPreview":
        costs = preview.costs
        return cls(
            price_per_share=preview.price_per_share,
            value=preview.value,
            emolumentos=costs.emolumentos,
            liquidacao=costs.liquidacao,
            brokerage=costs.brokerage,
            iss=costs.iss,
            fees=costs.total,
            total=preview.total,
            reserved=preview.reserved,
            settlement_date=preview.settlement_date,
        )


def _given(value):
    """An omitted optional input field (UNSET) reads as null."""
    return None if value is strawberry.UNSET else value


def _maybe(order: domain.Order | None) -> Order | None:
    return None if order is None else Order.of(order)


def _page(first: int | None) -> int:
    return 50 if first is None else first  # the contract's default also when null is passed


def _all(orders: list[domain.Order]) -> list[Order]:
    return [Order.of(order) for order in orders]


@strawberry.type
class Query:
    @strawberry.federation.field(shareable=True, description="the caller; null without a valid token")
    def me(self, info: Info) -> User | None:
        # identity's `me`, its key only (docs/design.md, "`me` in one hop").
        user_id = info.context.caller.user_id
        return None if user_id is None else User(id=strawberry.ID(user_id))

    @strawberry.field(description="one of the caller's orders; null if it does not exist or belongs to someone else")
    async def order(self, info: Info, id: strawberry.ID) -> Order | None:
        return _maybe(await info.context.service.order(info.context.caller, id))

    @strawberry.field(description="what this order would cost and reserve, and when it settles, without placing it")
    async def order_preview(self, info: Info, input: PlaceOrderInput) -> OrderPreview:
        return OrderPreview.of(await info.context.service.preview(info.context.caller, input.to_request()))

    @strawberry.field(description="the caller's orders, newest first")
    async def orders(self, info: Info, status: OrderStatus | None = strawberry.UNSET, first: int | None = 50) -> list[Order]:
        return _all(await info.context.service.orders(info.context.caller, status or None, _page(first)))


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def place_order(self, info: Info, input: PlaceOrderInput) -> Order:
        return Order.of(await info.context.service.place_order(info.context.caller, input.to_request()))

    @strawberry.mutation(
        description="a take-profit LIMIT and a stop-loss STOP / STOP_LIMIT on one position, one reservation for both; "
        "B3 cancels either leg on the other's first fill or trigger, and a cancel of either cancels both"
    )
    async def place_oco_order(self, info: Info, input: PlaceOcoOrderInput) -> OcoOrder:
        take_profit, stop_loss = await info.context.service.place_oco_order(info.context.caller, input.to_request())
        return OcoOrder(take_profit=Order.of(take_profit), stop_loss=Order.of(stop_loss))

    @strawberry.mutation
    async def cancel_order(self, info: Info, id: strawberry.ID) -> Order:
        return Order.of(await info.context.service.cancel_order(info.context.caller, id))

    @strawberry.mutation(
        description="new terms for a resting LIMIT order: a lower quantity (keeps its place in the queue) and/or a new "
        "limitPrice (a BUY's only lower); the order changes when B3 confirms"
    )
    async def replace_order(
        self, info: Info, id: strawberry.ID, quantity: int | None = None, limit_price: Decimal | None = None
    ) -> Order:
        return Order.of(await info.context.service.replace_order(info.context.caller, id, quantity, limit_price))


@strawberry.type
class Subscription:
    @strawberry.subscription(description="the caller's order after each change of status or fill")
    async def order_updates(self, info: Info) -> AsyncGenerator[Order, None]:
        async with aclosing(info.context.service.order_updates(info.context.caller)) as orders:
            async for order in orders:
                yield Order.of(order)


def build_schema():
    return federation_schema(query=Query, mutation=Mutation, subscription=Subscription, types=[User, Order, Asset])
