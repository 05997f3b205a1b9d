"""Order history and the ledger a page at a time (Relay connections) through the router:
every item once, newest first, filters by side, status, ticker and type, and a page size
over the limit refused by name, without nulling the rest of `me`."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tests.e2e.test_trader_story import DEPOSIT, PLACE, QUOTE, sign_up, until_status

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

ORDERS = """query($first: Int, $after: String, $filter: OrderHistoryFilter) { me { id
  orderHistory(first: $first, after: $after, filter: $filter) {
    edges { cursor node { id side status } } pageInfo { hasNextPage endCursor } } } }"""
LEDGER = """query($first: Int, $after: String, $filter: TransactionHistoryFilter) { me { wallet {
  transactionHistory(first: $first, after: $after, filter: $filter) {
    edges { node { id type ticker } } pageInfo { hasNextPage endCursor } } } } }"""


async def pages(client, query: str, path, first: int, filter: dict | None = None) -> list[list[dict]]:
    found, after = [], None
    while True:
        data = await client.execute(query, {"first": first, "after": after, "filter": filter})
        connection = path(data)
        found.append([edge["node"] for edge in connection["edges"]])
        if not connection["pageInfo"]["hasNextPage"]:
            return found
        after = connection["pageInfo"]["endCursor"]


async def test_history_pages_hold_every_order_and_entry_once_newest_first(new_client):
    trader = new_client()
    await sign_up(trader, "pager")
    await trader.execute(DEPOSIT, {"amount": "50000.00"})
    quote = (await trader.until(QUOTE, {"t": "PETR4"}, lambda d: d["asset"]["quote"] is not None))["asset"]["quote"]
    resting = (Decimal(quote["price"]) * Decimal("0.9")).quantize(Decimal("0.01"))
    placed = []
    for _ in range(4):  # far below the market: they rest OPEN
        order = {"ticker": "PETR4", "side": "BUY", "type": "LIMIT", "quantity": 100, "limitPrice": str(resting)}
        placed.append((await trader.execute(PLACE, {"input": order}))["placeOrder"]["id"])
    bought = (await trader.execute(PLACE, {"input": {"ticker": "PETR4", "side": "BUY", "type": "MARKET", "quantity": 100}}))["placeOrder"]
    await until_status(trader, bought["id"], "FILLED")
    sold = (await trader.execute(PLACE, {"input": {"ticker": "PETR4", "side": "SELL", "type": "MARKET", "quantity": 100}}))["placeOrder"]
    await until_status(trader, sold["id"], "FILLED")
    placed += [bought["id"], sold["id"]]

    by_two = await pages(trader, ORDERS, lambda d: d["me"]["orderHistory"], 2)
    assert [len(page) for page in by_two] == [2, 2, 2]
    assert [order["id"] for page in by_two for order in page] == placed[::-1], "every order once, newest first"

    [sells] = await pages(trader, ORDERS, lambda d: d["me"]["orderHistory"], 10, {"sides": ["SELL"]})
    assert [order["id"] for order in sells] == [sold["id"]]
    [filled] = await pages(trader, ORDERS, lambda d: d["me"]["orderHistory"], 10, {"statuses": ["FILLED"], "tickers": ["petr4"]})
    assert [order["id"] for order in filled] == [sold["id"], bought["id"]]

    ledger = await pages(trader, LEDGER, lambda d: d["me"]["wallet"]["transactionHistory"], 3)
    entries = [entry for page in ledger for entry in page]
    assert len({entry["id"] for entry in entries}) == len(entries) and entries[-1]["type"] == "DEPOSIT"
    [trades] = await pages(trader, LEDGER, lambda d: d["me"]["wallet"]["transactionHistory"], 50, {"types": ["BUY", "SELL"]})
    assert sorted(entry["type"] for entry in trades) == ["BUY", "SELL"] and {entry["ticker"] for entry in trades} == {"PETR4"}

    _status, too_big = await trader.post(ORDERS, {"first": 501})
    assert too_big["data"]["me"]["id"], "the refusal nulls only the history, not `me`"
    assert too_big["data"]["me"]["orderHistory"] is None
    [error] = too_big["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "500" in error["message"]


async def test_bad_history_requests_get_a_typed_refusal(new_client):
    trader = new_client()
    await sign_up(trader, "careless")
    cases = [
        (ORDERS, {"first": 5, "after": "not-a-cursor"}, "cursor"),
        (ORDERS, {"first": 5, "filter": {"from": "2026-12-08T00:00:00Z", "to": "2026-12-01T00:00:00Z"}}, "before"),
        (ORDERS, {"first": 5, "filter": {"tickers": [f"T{n}" for n in range(101)]}}, "100 tickers"),
        (LEDGER, {"first": -1}, "500"),
        (LEDGER, {"first": 5, "after": "c2VxOi0x"}, "cursor"),
    ]
    for query, variables, says in cases:
        _status, body = await trader.post(query, variables)
        [error] = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (variables, body)
        assert says in error["message"], (variables, error)
    many_sides = {"first": 5, "filter": {"sides": ["BUY"] * 5000, "statuses": ["OPEN"] * 5000}}
    _status, body = await trader.post(ORDERS, many_sides)
    assert not body.get("errors") or body["errors"][0]["extensions"]["code"] != "INTERNAL_SERVER_ERROR", body
