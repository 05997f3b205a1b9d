"""The wallet's schema end to end (without HTTP): mutations, `User.wallet` through
`_entities`, and the contract's error codes."""
from __future__ import annotations

from decimal import Decimal

import pytest
from graphql import build_schema, find_breaking_changes

from mybroker.auth import ANONYMOUS, Caller
from mybroker.graphql import GraphQLContext, format_error
from subgraphs.wallet.schema import schema

from .conftest import order_event

ANA, BOB = "user-ana", "user-bob"
DEPOSIT = "mutation($amount: Decimal!) { deposit(amount: $amount) { id currency available blocked } }"
WITHDRAW = "mutation($amount: Decimal!) { withdraw(amount: $amount) { available blocked } }"
WALLET = """
query($reps: [_Any!]!) {
  _entities(representations: $reps) {
    ... on User { id wallet { id currency available blocked
      positions { asset { ticker } quantity blockedQuantity averagePrice }
      transactions { id type amount orderId createdAt } } }
  }
}"""


async def run(wallet, query: str, variables: dict | None = None, caller=ANONYMOUS):
    result = await schema.execute(query, variable_values=variables, context_value=GraphQLContext(caller, wallet.service))
    return result.data, [format_error(error) for error in result.errors or []]


def codes(errors) -> list[str]:
    return [error["extensions"]["code"] for error in errors]


def user(user_id: str) -> dict:
    return {"reps": [{"__typename": "User", "id": user_id}]}


async def test_deposit_and_withdraw(wallet):
    data, errors = await run(wallet, DEPOSIT, {"amount": "1500.50"}, Caller(ANA))
    assert not errors
    assert {k: v for k, v in data["deposit"].items() if k != "id"} == {"currency": "BRL", "available": "1500.50", "blocked": "0.00"}
    data, errors = await run(wallet, WITHDRAW, {"amount": "500.25"}, Caller(ANA))
    assert not errors and data["withdraw"] == {"available": "1000.25", "blocked": "0.00"}


@pytest.mark.parametrize("amount", ["0", "-10.00", "1.234", "ten", "10000000.01", "NaN", "1e30"])
async def test_bad_amounts_are_bad_user_input(wallet, amount):
    for mutation in (DEPOSIT, WITHDRAW):
        data, errors = await run(wallet, mutation, {"amount": amount}, Caller(ANA))
        assert data is None and codes(errors) == ["BAD_USER_INPUT"], (amount, errors)


async def test_inline_literals_are_checked_too(wallet):
    _data, errors = await run(wallet, 'mutation { deposit(amount: "1.234") { available } }', caller=Caller(ANA))
    assert codes(errors) == ["BAD_USER_INPUT"]


async def test_overdrawing_is_insufficient_funds_and_changes_nothing(wallet):
    await run(wallet, DEPOSIT, {"amount": "100.00"}, Caller(ANA))
    _data, errors = await run(wallet, WITHDRAW, {"amount": "100.01"}, Caller(ANA))
    assert codes(errors) == ["INSUFFICIENT_FUNDS"]
    data, _ = await run(wallet, WALLET, user(ANA), Caller(ANA))
    assert data["_entities"][0]["wallet"]["available"] == "100.00"


async def test_anonymous_callers_cannot_move_money(wallet):
    for mutation in (DEPOSIT, WITHDRAW):
        data, errors = await run(wallet, mutation, {"amount": "10.00"})
        assert data is None and codes(errors) == ["UNAUTHENTICATED"]


async def test_user_wallet_through_entities(wallet):
    await wallet.own_shares(ANA, 300, "31.47")
    await wallet.deposit(ANA, "100.00")
    await wallet.service.reserve("o2", ANA, "BUY", "VALE3", 1, Decimal("60.00"))
    data, errors = await run(wallet, WALLET, user(ANA), Caller(ANA))
    assert not errors, errors
    (entity,) = data["_entities"]
    state = entity["wallet"]
    assert entity["id"] == ANA and state["currency"] == "BRL"
    assert (state["available"], state["blocked"]) == ("40.00", "60.00")
    assert state["positions"] == [{"asset": {"ticker": "PETR4"}, "quantity": 300, "blockedQuantity": 0, "averagePrice": "31.47"}]
    kinds = [(t["type"], t["amount"], t["orderId"]) for t in state["transactions"]]
    assert kinds[:2] == [("RESERVE", "-60.00", "o2"), ("DEPOSIT", "100.00", None)]
    assert all(t["createdAt"].endswith("Z") for t in state["transactions"])
    assert len({t["id"] for t in state["transactions"]}) == len(state["transactions"])


async def test_transactions_first_limits_newest_first(wallet):
    for amount in ("1.00", "2.00", "3.00"):
        await wallet.deposit(ANA, amount)
    query = "query($reps: [_Any!]!, $n: Int) { _entities(representations: $reps) { ... on User { wallet { transactions(first: $n) { amount } } } } }"
    data, errors = await run(wallet, query, {**user(ANA), "n": 2}, Caller(ANA))
    assert not errors and data["_entities"][0]["wallet"]["transactions"] == [{"amount": "3.00"}, {"amount": "2.00"}]
    data, errors = await run(wallet, query, {**user(ANA), "n": None}, Caller(ANA))
    assert not errors and len(data["_entities"][0]["wallet"]["transactions"]) == 3
    _data, errors = await run(wallet, query, {**user(ANA), "n": -1}, Caller(ANA))
    assert codes(errors) == ["BAD_USER_INPUT"]


async def test_someone_elses_wallet_is_forbidden(wallet):
    await wallet.deposit(ANA, "100.00")
    data, errors = await run(wallet, WALLET, user(ANA), Caller(BOB))
    assert codes(errors) == ["FORBIDDEN"] and data["_entities"] == [None]
    _data, errors = await run(wallet, WALLET, user(ANA))
    assert codes(errors) == ["UNAUTHENTICATED"]


async def test_a_filled_sell_leaves_no_position_listed(wallet):
    await wallet.own_shares(ANA, 100, "30.00")
    await wallet.service.reserve("s1", ANA, "SELL", "PETR4", 100, None)
    await wallet.publish(order_event("s1", ANA, "FILLED", side="SELL", filled=100, fill=("y1", 100, "31.00")))
    data, _ = await run(wallet, WALLET, user(ANA), Caller(ANA))
    assert data["_entities"][0]["wallet"]["positions"] == []
    assert data["_entities"][0]["wallet"]["available"] == "3100.00"


def test_the_wallet_part_of_the_contract_is_intact():
    """Every wallet type, field and argument of the contract, as the subgraph serves it."""
    contract = build_schema(
        """
        scalar Decimal
        scalar DateTime
        type Query { me: User }
        type User { id: ID! wallet: Wallet! }
        type Wallet { id: ID! currency: String! available: Decimal! blocked: Decimal!
          positions: [Position!]! transactions(first: Int = 50): [WalletTransaction!]! }
        type Asset { ticker: ID! }
        type Position { asset: Asset! quantity: Int! blockedQuantity: Int! averagePrice: Decimal! }
        enum WalletTransactionType { DEPOSIT WITHDRAWAL RESERVE RELEASE BUY SELL FEE }
        type WalletTransaction { id: ID! type: WalletTransactionType! amount: Decimal! orderId: ID createdAt: DateTime! }
        type Mutation { deposit(amount: Decimal!): Wallet! withdraw(amount: Decimal!): Wallet! }
        """
    )
    served = build_schema(schema.as_str().replace("type Query {", "type Query {\n  me: User"), assume_valid=True)
    assert find_breaking_changes(contract, served) == []


async def test_the_settlement_view_is_read_with_the_balances_when_asked_through_fragments(wallet):
    """`settled` and `available` from one snapshot: User.wallet reads the settlement view
    with the balances when the query selects any of its fields, fragments included."""
    await wallet.own_shares(ANA, 100, "30.00")
    reads = []
    cash = wallet.service.cash

    async def counted(*args, **kwargs):
        reads.append(args)
        return await cash(*args, **kwargs)

    wallet.service.cash = counted
    query = """query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { wallet {
        available ...Cash ... on Wallet { withdrawable } } } } }
      fragment Cash on Wallet { settled buyingPower toSettle { date amount balance } }"""
    data, errors = await run(wallet, query, user(ANA), Caller(ANA))
    assert not errors, errors
    got = data["_entities"][0]["wallet"]
    assert reads == [], "no second read: the view came with the balances"
    assert got["available"] == got["buyingPower"] == got["withdrawable"] == "0.00"
    assert got["settled"] == "3000.00" and got["toSettle"][0]["amount"] == "-3000.00"
