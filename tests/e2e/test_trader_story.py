"""A trader's whole story, told through the router only, on the embedded platform.

Every number is asserted: cash available and blocked, positions and average prices,
order statuses, and every error code the story can meet."""
from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

REGISTER = """
mutation($input: RegisterInput!) {
  register(input: $input) { accessToken refreshToken expiresIn user { id email name } }
}"""
LOGIN = "mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken expiresIn user { id } } }"
REFRESH = "mutation($token: String!) { refreshToken(refreshToken: $token) { accessToken refreshToken user { id } } }"
WALLET = """
{ me { wallet { available blocked
    positions { asset { ticker } quantity blockedQuantity averagePrice }
    transactions(first: 100) { type amount orderId } } } }"""
DEPOSIT = "mutation($amount: Decimal!) { deposit(amount: $amount) { available blocked } }"
WITHDRAW = "mutation($amount: Decimal!) { withdraw(amount: $amount) { available blocked } }"
PLACE = """
mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) { id status side type timeInForce quantity limitPrice filledQuantity asset { ticker } }
}"""
ORDER = """
query($id: ID!) {
  order(id: $id) { id status filledQuantity averagePrice rejectReason executions { quantity price } }
}"""
CANCEL = "mutation($id: ID!) { cancelOrder(id: $id) { id status } }"
QUOTE = 'query($t: ID!) { asset(ticker: $t) { ticker name lotSize quote { price time } } }'


def unique_email(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}@example.com"


async def sign_up(client, name: str) -> dict:
    data = await client.execute(
        REGISTER, {"input": {"email": unique_email(name), "password": "correct horse battery", "name": name.title()}}
    )
    client.token = data["register"]["accessToken"]
    return data["register"]


async def wallet(client) -> dict:
    return (await client.execute(WALLET))["me"]["wallet"]


async def until_status(client, order_id: str, *statuses: str) -> dict:
    data = await client.until(ORDER, {"id": order_id}, lambda d: d["order"]["status"] in statuses)
    return data["order"]


async def test_identity_register_login_refresh_me(new_client):
    alice = new_client("198.51.100.43")  # fails two logins on purpose: its own address for the throttle
    email = unique_email("alice")
    registered = (await alice.execute(REGISTER, {"input": {"email": email, "password": "s3cret-pass", "name": "Alice"}}))["register"]
    assert registered["user"]["email"] == email and registered["user"]["name"] == "Alice"
    assert registered["expiresIn"] > 0

    assert await alice.error_code(REGISTER, {"input": {"email": email, "password": "s3cret-pass", "name": "A"}}) == "EMAIL_TAKEN"
    assert await alice.error_code(REGISTER, {"input": {"email": "not-an-email", "password": "s3cret-pass", "name": "A"}}) == "BAD_USER_INPUT"
    assert await alice.error_code(LOGIN, {"input": {"email": email, "password": "wrong-password"}}) == "INVALID_CREDENTIALS"
    assert await alice.error_code(LOGIN, {"input": {"email": unique_email("nobody"), "password": "s3cret-pass"}}) == "INVALID_CREDENTIALS"

    logged_in = (await alice.execute(LOGIN, {"input": {"email": email.upper(), "password": "s3cret-pass"}}))["login"]
    assert logged_in["user"]["id"] == registered["user"]["id"]

    refreshed = (await alice.execute(REFRESH, {"token": logged_in["refreshToken"]}))["refreshToken"]
    assert refreshed["user"]["id"] == registered["user"]["id"]
    assert refreshed["refreshToken"] != logged_in["refreshToken"]
    alice.token = refreshed["accessToken"]
    me = (await alice.execute("{ me { id email name createdAt } }"))["me"]
    assert me["id"] == registered["user"]["id"] and me["email"] == email

    # Refresh tokens rotate: the used one is dead, and presenting it again signs out its
    # whole session (someone copied it), the refreshed access token included (issue 13).
    assert await alice.error_code(REFRESH, {"token": logged_in["refreshToken"]}) == "UNAUTHENTICATED"
    from tests.security.test_sessions import until_refused

    assert (await until_refused(alice, refreshed["accessToken"]))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    anonymous = new_client()
    assert (await anonymous.execute("{ me { id } }"))["me"] is None
    status, body = await anonymous.post("{ me { id } }", token="forged.token.value")
    assert status == 401 and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    tampered = refreshed["accessToken"][:-4] + ("AAAA" if not refreshed["accessToken"].endswith("AAAA") else "BBBB")
    status, body = await anonymous.post("{ me { id } }", token=tampered)
    assert status == 401 and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await anonymous.error_code(DEPOSIT, {"amount": "10.00"}) == "UNAUTHENTICATED"
    assert await anonymous.error_code("{ orders { id } }") == "UNAUTHENTICATED"


async def test_assets_list_search_and_moving_quotes(new_client):
    client = new_client()
    stocks = (await client.execute('{ assets(search: "petr", type: STOCK) { ticker name type lotSize } }'))["assets"]
    assert {a["ticker"] for a in stocks} >= {"PETR4", "PETR3"}
    assert all(a["type"] == "STOCK" and a["lotSize"] == 100 for a in stocks)
    assert len((await client.execute("{ assets(first: 3) { ticker } }"))["assets"]) == 3
    assert (await client.execute('{ asset(ticker: "NOPE3") { ticker } }'))["asset"] is None

    first = await client.until(QUOTE, {"t": "PETR4"}, lambda d: d["asset"]["quote"] is not None)
    first_time = first["asset"]["quote"]["time"]
    moved = await client.until(QUOTE, {"t": "PETR4"}, lambda d: d["asset"]["quote"]["time"] != first_time)
    assert Decimal(moved["asset"]["quote"]["price"]) > 0


async def test_deposit_and_withdraw(new_client):
    trader = new_client()
    await sign_up(trader, "dora")
    assert (await trader.execute(DEPOSIT, {"amount": "1500.50"}))["deposit"] == {"available": "1500.50", "blocked": "0.00"}
    assert (await trader.execute(WITHDRAW, {"amount": "500.25"}))["withdraw"] == {"available": "1000.25", "blocked": "0.00"}
    for bad in ("0", "-10.00", "1.234", "ten"):
        assert await trader.error_code(DEPOSIT, {"amount": bad}) == "BAD_USER_INPUT", bad
    assert await trader.error_code(WITHDRAW, {"amount": "1000.26"}) == "INSUFFICIENT_FUNDS"
    state = await wallet(trader)
    assert state["available"] == "1000.25"
    assert [(t["type"], t["amount"]) for t in state["transactions"]] == [("WITHDRAWAL", "-500.25"), ("DEPOSIT", "1500.50")]


async def test_a_traders_whole_story(new_client):
    trader = new_client()
    await sign_up(trader, "bruno")
    await trader.execute(DEPOSIT, {"amount": "10000.00"})
    await trader.until(QUOTE, {"t": "PETR4"}, lambda d: d["asset"]["quote"] is not None)

    # Orders the broker refuses up front, changing nothing.
    base = {"ticker": "PETR4", "side": "BUY", "type": "MARKET", "quantity": 100}
    assert await trader.error_code(PLACE, {"input": {**base, "ticker": "XXXX3"}}) == "UNKNOWN_ASSET"
    assert await trader.error_code(PLACE, {"input": {**base, "quantity": 150}}) == "BAD_USER_INPUT"
    assert await trader.error_code(PLACE, {"input": {**base, "quantity": 0}}) == "BAD_USER_INPUT"
    assert await trader.error_code(PLACE, {"input": {**base, "type": "LIMIT"}}) == "BAD_USER_INPUT"
    assert await trader.error_code(PLACE, {"input": {**base, "limitPrice": "30.00"}}) == "BAD_USER_INPUT"
    assert await trader.error_code(PLACE, {"input": {**base, "side": "HOLD"}}) == "BAD_USER_INPUT"
    assert await trader.error_code(PLACE, {"input": {**base, "quantity": 100000}}) == "INSUFFICIENT_FUNDS"
    assert await trader.error_code(PLACE, {"input": {**base, "side": "SELL"}}) == "INSUFFICIENT_POSITION"
    untouched = await wallet(trader)
    assert (untouched["available"], untouched["blocked"], untouched["positions"]) == ("10000.00", "0.00", [])

    # A MARKET BUY of 100 PETR4 fills; cash goes down by the fill value.
    placed = (await trader.execute(PLACE, {"input": {**base, "clientOrderId": "buy-1"}}))["placeOrder"]
    assert placed["status"] == "PENDING" and placed["timeInForce"] == "DAY" and placed["asset"] == {"ticker": "PETR4"}
    again = (await trader.execute(PLACE, {"input": {**base, "clientOrderId": "buy-1"}}))["placeOrder"]
    assert again["id"] == placed["id"], "clientOrderId makes placeOrder idempotent"
    bought = await until_status(trader, placed["id"], "FILLED")
    assert bought["filledQuantity"] == 100
    fill_value = sum(Decimal(e["price"]) * e["quantity"] for e in bought["executions"])
    average = Decimal(bought["averagePrice"])
    assert (fill_value / 100).quantize(Decimal("0.01")) == average
    after_buy = await trader.until(WALLET, None, lambda d: d["me"]["wallet"]["positions"] and d["me"]["wallet"]["blocked"] == "0.00")
    after_buy = after_buy["me"]["wallet"]
    assert Decimal(after_buy["available"]) == Decimal("10000.00") - fill_value
    assert after_buy["positions"] == [
        {"asset": {"ticker": "PETR4"}, "quantity": 100, "blockedQuantity": 0, "averagePrice": f"{average:.2f}"}
    ]

    # The router joins identity, wallet, assets, orders and reports through _entities.
    joined = (
        await trader.execute(
            "{ me { email wallet { positions { asset { name quote { price } } } } "
            "orders { status asset { name } } portfolio { marketValue costBasis positions { quantity asset { ticker name } } } } }"
        )
    )["me"]
    assert joined["wallet"]["positions"][0]["asset"]["name"] == "Petrobras PN"
    assert Decimal(joined["wallet"]["positions"][0]["asset"]["quote"]["price"]) > 0
    assert joined["orders"] == [{"status": "FILLED", "asset": {"name": "Petrobras PN"}}]
    portfolio = await trader.until(
        "{ me { portfolio { marketValue costBasis positions { quantity asset { ticker name } } } } }",
        None,
        lambda d: d["me"]["portfolio"]["positions"],
    )
    portfolio = portfolio["me"]["portfolio"]
    assert portfolio["positions"] == [{"quantity": 100, "asset": {"ticker": "PETR4", "name": "Petrobras PN"}}]
    assert Decimal(portfolio["costBasis"]) == fill_value and Decimal(portfolio["marketValue"]) > 0

    # SELL the 100 back: the cash returns and the position closes.
    sold_order = (await trader.execute(PLACE, {"input": {**base, "side": "SELL"}}))["placeOrder"]
    sold = await until_status(trader, sold_order["id"], "FILLED")
    sale_value = sum(Decimal(e["price"]) * e["quantity"] for e in sold["executions"])
    after_sell = (await trader.until(WALLET, None, lambda d: not d["me"]["wallet"]["positions"]))["me"]["wallet"]
    assert Decimal(after_sell["available"]) == Decimal("10000.00") - fill_value + sale_value
    assert after_sell["blocked"] == "0.00"

    # A LIMIT BUY far below the market rests OPEN with its cash blocked; cancel releases it.
    cash = Decimal(after_sell["available"])
    resting = (
        await trader.execute(PLACE, {"input": {**base, "type": "LIMIT", "limitPrice": "1.50", "timeInForce": "GTC"}})
    )["placeOrder"]
    assert resting["limitPrice"] == "1.50" and resting["timeInForce"] == "GTC"
    await until_status(trader, resting["id"], "OPEN")
    blocked = await wallet(trader)
    assert (Decimal(blocked["available"]), blocked["blocked"]) == (cash - Decimal("150.00"), "150.00")
    assert (await trader.execute(CANCEL, {"id": resting["id"]}))["cancelOrder"]["id"] == resting["id"]
    cancelled = await until_status(trader, resting["id"], "CANCELLED")
    assert cancelled["filledQuantity"] == 0
    released = (await trader.until(WALLET, None, lambda d: d["me"]["wallet"]["blocked"] == "0.00"))["me"]["wallet"]
    assert Decimal(released["available"]) == cash
    assert await trader.error_code(CANCEL, {"id": resting["id"]}) == "ORDER_NOT_CANCELLABLE"

    # The ledger tells the same story, newest first.
    kinds = [t["type"] for t in released["transactions"]]
    assert kinds[-1] == "DEPOSIT" and "BUY" in kinds and "SELL" in kinds and kinds.count("RESERVE") == 2
    assert sum(Decimal(t["amount"]) for t in released["transactions"]) == Decimal(released["available"])
    statuses = (await trader.execute("{ orders { status } }"))["orders"]
    assert [o["status"] for o in statuses] == ["CANCELLED", "FILLED", "FILLED"]
    assert [o["status"] for o in (await trader.execute("{ orders(status: FILLED) { status } }"))["orders"]] == ["FILLED", "FILLED"]


async def test_one_trader_never_sees_anothers_wallet_or_orders(new_client):
    carla, davi = new_client(), new_client()
    carla_user = await sign_up(carla, "carla")
    await sign_up(davi, "davi")
    await carla.execute(DEPOSIT, {"amount": "5000.00"})
    order = (
        await carla.execute(
            PLACE, {"input": {"ticker": "VALE3", "side": "BUY", "type": "LIMIT", "quantity": 100, "limitPrice": "2.00"}}
        )
    )["placeOrder"]

    assert (await davi.execute(ORDER, {"id": order["id"]}))["order"] is None
    assert (await davi.execute("{ orders { id } }"))["orders"] == []
    assert await davi.error_code(CANCEL, {"id": order["id"]}) == "FORBIDDEN"
    davis_wallet = await wallet(davi)
    assert (davis_wallet["available"], davis_wallet["blocked"], davis_wallet["transactions"]) == ("0.00", "0.00", [])
    # Davi's refused cancel changed nothing: Carla's order still rests, her cash still blocked.
    await until_status(carla, order["id"], "OPEN")
    carlas_wallet = await wallet(carla)
    assert (carlas_wallet["available"], carlas_wallet["blocked"]) == ("4800.00", "200.00")
    assert (await carla.execute("{ me { id } }"))["me"]["id"] == carla_user["user"]["id"]
    await carla.execute(CANCEL, {"id": order["id"]})
    await until_status(carla, order["id"], "CANCELLED")
