"""The orders subgraph through its GraphQL schema: the contract's shape, its error codes,
entity resolution, and the orderUpdates subscription."""
from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest
from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLObjectType, Undefined, ast_from_value, build_schema, print_ast

from mybroker.auth import ANONYMOUS, Caller
from mybroker.db import OutboxRelay
from mybroker.graphql import GraphQLContext, format_error
from subgraphs.orders.domain import ExecType, ExecutionReport
from subgraphs.orders.schema import build_schema as build_orders_schema

CONTRACT = Path(__file__).resolve().parents[3] / "tests" / "contract" / "schema.graphql"

PLACE = """
mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) {
    id status side type timeInForce quantity limitPrice filledQuantity averagePrice rejectReason
    user { id } asset { ticker } executions { id } createdAt updatedAt
  }
}"""
CANCEL = "mutation($id: ID!) { cancelOrder(id: $id) { id status } }"
ORDER = "query($id: ID!) { order(id: $id) { id status filledQuantity averagePrice executions { id quantity price executedAt } } }"
ORDERS = "query($status: OrderStatus, $first: Int) { orders(status: $status, first: $first) { id status } }"
ENTITIES = "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id orders { id } } ... on Order { id status } } }"

schema = build_orders_schema()


async def run(service, caller, query, variables=None):
    return await schema.execute(query, variable_values=variables, context_value=GraphQLContext(caller, service))


async def codes(service, caller, query, variables=None) -> list[str]:
    result = await run(service, caller, query, variables)
    assert result.errors, f"expected an error, got {result.data}"
    return [format_error(error)["extensions"]["code"] for error in result.errors]


async def data(service, caller, query, variables=None) -> dict:
    result = await run(service, caller, query, variables)
    assert not result.errors, [format_error(e) for e in result.errors]
    return result.data


def base(**changes) -> dict:
    return {"input": {"ticker": "PETR4", "side": "BUY", "type": "MARKET", "quantity": 100, **changes}}


ALICE, BOB = Caller("alice"), Caller("bob")


# ---------------------------------------------------------------- the contract's shape


def test_the_orders_part_of_the_contract_is_served_exactly():
    additions = CONTRACT.with_name("additions.graphql")
    contract = build_schema(CONTRACT.read_text(encoding="utf-8") + additions.read_text(encoding="utf-8"))
    served = schema._schema

    def default(value):
        """A default as GraphQL text: SDL-built schemas keep the literal, code-built ones the value."""
        if getattr(value, "default", None) is not None and value.default.literal is not None:
            return print_ast(value.default.literal)
        if value.default_value is Undefined:
            return None
        return print_ast(ast_from_value(value.default_value, value.type))

    def shape(graphql_type, only=None):
        if isinstance(graphql_type, GraphQLEnumType):
            return sorted(graphql_type.values)
        out = {}
        for name, field in graphql_type.fields.items():
            if only is not None and name not in only:
                continue
            if isinstance(graphql_type, GraphQLInputObjectType):
                out[name] = (str(field.type), default(field))
            else:
                out[name] = (str(field.type), {a: (str(arg.type), default(arg)) for a, arg in field.args.items()})
        return out

    for name in ("Order", "Execution", "PlaceOrderInput", "OrderSide", "OrderType", "TimeInForce", "OrderStatus"):
        assert shape(served.get_type(name)) == shape(contract.get_type(name)), name
    for type_name, fields in {
        "Query": {"order", "orders"},
        "Mutation": {"placeOrder", "cancelOrder", "replaceOrder"},
        "Subscription": {"orderUpdates"},
        "User": {"id", "orders"},
        "Asset": {"ticker"},
    }.items():
        contract_type, served_type = contract.get_type(type_name), served.get_type(type_name)
        assert isinstance(served_type, GraphQLObjectType)
        assert shape(served_type, fields) == shape(contract_type, fields), type_name


def test_the_subgraph_sdl_declares_the_federation_keys():
    sdl = schema.as_str()
    assert 'type Order @key(fields: "id")' in sdl
    assert 'type User @key(fields: "id")' in sdl
    assert 'type Asset @key(fields: "ticker", resolvable: false)' in sdl


# ---------------------------------------------------------------- errors


async def test_placing_needs_a_caller(service):
    assert await codes(service, ANONYMOUS, PLACE, base()) == ["UNAUTHENTICATED"]


@pytest.mark.parametrize(
    "variables,code",
    [
        (base(ticker="XXXX3"), "UNKNOWN_ASSET"),
        (base(quantity=150), "BAD_USER_INPUT"),
        (base(quantity=0), "BAD_USER_INPUT"),
        (base(type="LIMIT"), "BAD_USER_INPUT"),
        (base(limitPrice="30.00"), "BAD_USER_INPUT"),
        (base(type="LIMIT", limitPrice="30.001"), "BAD_USER_INPUT"),
        (base(type="LIMIT", limitPrice="1e30"), "BAD_USER_INPUT"),
        (base(type="LIMIT", limitPrice="-3.00"), "BAD_USER_INPUT"),
        (base(type="LIMIT", limitPrice="0.00"), "BAD_USER_INPUT"),
        (base(clientOrderId=""), "BAD_USER_INPUT"),
        (base(side="HOLD"), "BAD_USER_INPUT"),
        (base(timeInForce="FOREVER"), "BAD_USER_INPUT"),
        (base(ticker="NEWB3"), "BAD_USER_INPUT"),
        (base(quantity=100_000), "INSUFFICIENT_FUNDS"),
        (base(side="SELL", quantity=1000), "INSUFFICIENT_POSITION"),
    ],
)
async def test_place_order_errors_carry_the_contracts_codes(harness, variables, code):
    assert await codes(harness.service, ALICE, PLACE, variables) == [code]
    assert harness.wallet.reservations == {}


async def test_a_placed_order_reads_as_the_contract_says(service):
    placed = (await data(service, ALICE, PLACE, base(type="LIMIT", limitPrice="30.5", clientOrderId="k")))["placeOrder"]
    assert placed["status"] == "PENDING" and placed["timeInForce"] == "DAY" and placed["limitPrice"] == "30.50"
    assert placed["user"] == {"id": "alice"} and placed["asset"] == {"ticker": "PETR4"}
    assert (placed["filledQuantity"], placed["averagePrice"], placed["rejectReason"], placed["executions"]) == (0, None, None, [])
    assert placed["createdAt"].endswith("Z")
    again = (await data(service, ALICE, PLACE, base(type="LIMIT", limitPrice="30.5", clientOrderId="k")))["placeOrder"]
    assert again["id"] == placed["id"]


async def test_cancel_errors(service):
    order_id = (await data(service, ALICE, PLACE, base(type="LIMIT", limitPrice="30.00")))["placeOrder"]["id"]
    assert await codes(service, BOB, CANCEL, {"id": order_id}) == ["FORBIDDEN"]
    assert await codes(service, ALICE, CANCEL, {"id": "nope"}) == ["BAD_USER_INPUT"]
    assert await codes(service, ANONYMOUS, CANCEL, {"id": order_id}) == ["UNAUTHENTICATED"]
    assert (await data(service, ALICE, CANCEL, {"id": order_id}))["cancelOrder"] == {"id": order_id, "status": "PENDING_CANCEL"}
    await service.apply_execution("m1", ExecutionReport(order_id, ExecType.CANCELLED, _now()))
    assert await codes(service, ALICE, CANCEL, {"id": order_id}) == ["ORDER_NOT_CANCELLABLE"]


async def test_queries_show_only_the_callers_orders(service):
    order_id = (await data(service, ALICE, PLACE, base(type="LIMIT", limitPrice="30.00")))["placeOrder"]["id"]
    await service.apply_execution("m1", ExecutionReport(order_id, ExecType.ACCEPTED, _now()))
    await service.apply_execution(
        "m2", ExecutionReport(order_id, ExecType.FILL, _now(), execution_id="t1-P", quantity=100, price=Decimal("29.99"))
    )
    mine = (await data(service, ALICE, ORDER, {"id": order_id}))["order"]
    assert mine["status"] == "FILLED" and mine["averagePrice"] == "29.99"
    assert [(e["id"], e["quantity"], e["price"]) for e in mine["executions"]] == [("t1-P", 100, "29.99")]
    assert (await data(service, BOB, ORDER, {"id": order_id}))["order"] is None
    assert (await data(service, ALICE, ORDERS, {"status": "FILLED"}))["orders"] == [{"id": order_id, "status": "FILLED"}]
    assert (await data(service, ALICE, ORDERS, {"status": "OPEN"}))["orders"] == []
    assert (await data(service, ALICE, ORDERS, {"first": None}))["orders"] == [{"id": order_id, "status": "FILLED"}]
    assert (await data(service, BOB, ORDERS))["orders"] == []
    assert await codes(service, ANONYMOUS, ORDERS) == ["UNAUTHENTICATED"]
    assert await codes(service, ANONYMOUS, ORDER, {"id": order_id}) == ["UNAUTHENTICATED"]


async def test_entities_resolve_for_their_owner_only(service):
    order_id = (await data(service, ALICE, PLACE, base(type="LIMIT", limitPrice="30.00")))["placeOrder"]["id"]
    # Fresh representations per call: Strawberry consumes their __typename.
    user_rep = lambda: {"r": [{"__typename": "User", "id": "alice"}]}  # noqa: E731
    order_rep = lambda: {"r": [{"__typename": "Order", "id": order_id}]}  # noqa: E731
    assert (await data(service, ALICE, ENTITIES, user_rep()))["_entities"] == [{"id": "alice", "orders": [{"id": order_id}]}]
    assert await codes(service, BOB, ENTITIES, user_rep()) == ["FORBIDDEN"]
    assert (await data(service, ALICE, ENTITIES, order_rep()))["_entities"] == [{"id": order_id, "status": "PENDING"}]
    assert (await data(service, BOB, ENTITIES, order_rep()))["_entities"] == [None]


async def test_executions_of_many_orders_load_in_one_batch(service, monkeypatch):
    for price in ("30.00", "29.00", "28.00"):
        await data(service, ALICE, PLACE, base(type="LIMIT", limitPrice=price))
    batches = []
    original = service.fills

    async def counting(order_ids):
        batches.append(list(order_ids))
        return await original(order_ids)

    monkeypatch.setattr(service, "fills", counting)
    listed = (await data(service, ALICE, "{ orders { id executions { id } } }"))["orders"]
    assert len(listed) == 3 and len(batches) == 1 and sorted(batches[0]) == sorted(o["id"] for o in listed)


# ---------------------------------------------------------------- subscription


async def test_order_updates_deliver_only_the_callers_orders(harness):
    service = harness.service
    await harness.bus.start()
    relay = OutboxRelay(harness.db, harness.bus)
    stream = await schema.subscribe(
        "subscription { orderUpdates { id status filledQuantity user { id } executions { id } } }",
        context_value=GraphQLContext(ALICE, service),
    )
    first = asyncio.create_task(stream.__anext__())
    await _until(lambda: service.live.subscribers == 1)

    bobs = await service.place_order(BOB, _limit())
    alices = await service.place_order(ALICE, _limit())
    await service.apply_execution("m1", ExecutionReport(alices.id, ExecType.ACCEPTED, _now()))
    await relay.publish_pending()
    await harness.bus.drain()

    update = await asyncio.wait_for(first, 2)
    assert not update.errors and update.data["orderUpdates"]["id"] == alices.id != bobs.id
    assert update.data["orderUpdates"]["user"] == {"id": "alice"} and update.data["orderUpdates"]["status"] == "PENDING"
    second = await asyncio.wait_for(stream.__anext__(), 2)
    assert (second.data["orderUpdates"]["id"], second.data["orderUpdates"]["status"]) == (alices.id, "OPEN")
    await stream.aclose()
    await _until(lambda: service.live.subscribers == 0)


async def test_order_updates_need_a_caller(harness):
    stream = await schema.subscribe("subscription { orderUpdates { id } }", context_value=GraphQLContext(ANONYMOUS, harness.service))
    result = await asyncio.wait_for(stream.__anext__(), 2)
    assert [format_error(e)["extensions"]["code"] for e in result.errors] == ["UNAUTHENTICATED"]
    await stream.aclose()


# ---------------------------------------------------------------- helpers


def _now():
    from mybroker.events import utcnow

    return utcnow()


def _limit():
    from subgraphs.orders.domain import OrderRequest, OrderSide, OrderType

    return OrderRequest("PETR4", OrderSide.BUY, OrderType.LIMIT, 100, Decimal("30.00"))


async def _until(condition, timeout: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met"
        await asyncio.sleep(0.01)
