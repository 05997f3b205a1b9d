"""The exchange's book and tape through the router: a resting LIMIT order shows in
`asset { book }`, and a fill shows in `asset { trades }` (exchange.graphql)."""
from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

TICKER = "WEGE3"  # a ticker no other end-to-end test trades
REGISTER = "mutation($input: RegisterInput!) { register(input: $input) { accessToken } }"
DEPOSIT = "mutation($amount: Decimal!) { deposit(amount: $amount) { available } }"
PLACE = "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }"
ORDER = "query($id: ID!) { order(id: $id) { status executions { quantity price } } }"
QUOTE = "query($t: ID!) { asset(ticker: $t) { quote { price } } }"
BOOK = "query($t: ID!) { asset(ticker: $t) { book(depth: 10) { bids { price quantity orders } asks { price quantity orders } time } } }"
TRADES = "query($t: ID!) { asset(ticker: $t) { trades(limit: 5) { price quantity time } } }"


async def trader(new_client):
    client = new_client()
    email = f"tape-{uuid.uuid4().hex[:8]}@example.com"
    client.token = (await client.execute(REGISTER, {"input": {"email": email, "password": "correct horse battery", "name": "Tape"}}))["register"]["accessToken"]
    await client.execute(DEPOSIT, {"amount": "100000.00"})
    return client


async def test_a_resting_order_shows_in_the_book_and_a_fill_on_the_tape(new_client):
    client = await trader(new_client)
    quote = (await client.until(QUOTE, {"t": TICKER}, lambda d: d["asset"]["quote"] is not None))["asset"]["quote"]
    # Far below the maker's ladder (five bid levels), so it rests as a level of its own.
    price = (Decimal(quote["price"]) * Decimal("0.9")).quantize(Decimal("0.01"))
    resting = (await client.execute(PLACE, {"input": {"ticker": TICKER, "side": "BUY", "type": "LIMIT", "quantity": 100, "limitPrice": str(price)}}))["placeOrder"]

    def shows_order(data) -> bool:
        return any(Decimal(level["price"]) == price for level in data["asset"]["book"]["bids"])

    book = (await client.until(BOOK, {"t": TICKER}, shows_order))["asset"]["book"]
    level = next(level for level in book["bids"] if Decimal(level["price"]) == price)
    assert level == {"price": level["price"], "quantity": 100, "orders": 1}
    assert book["asks"] and all(Decimal(a["price"]) > price for a in book["asks"]) and book["time"].endswith("Z")
    prices = [Decimal(b["price"]) for b in book["bids"]]
    assert prices == sorted(prices, reverse=True), "best bid first"

    bought = (await client.execute(PLACE, {"input": {"ticker": TICKER, "side": "BUY", "type": "MARKET", "quantity": 100}}))["placeOrder"]
    filled = (await client.until(ORDER, {"id": bought["id"]}, lambda d: d["order"]["status"] == "FILLED"))["order"]
    execution = filled["executions"][0]

    def on_tape(data) -> bool:
        return any((t["price"], t["quantity"]) == (execution["price"], execution["quantity"]) for t in data["asset"]["trades"])

    trades = (await client.until(TRADES, {"t": TICKER}, on_tape))["asset"]["trades"]
    assert len(trades) <= 5
    times = [t["time"] for t in trades]
    assert times == sorted(times, reverse=True), "newest first"
    assert resting["status"] in ("PENDING", "OPEN")


async def test_book_and_trades_refuse_non_positive_sizes(new_client):
    client = new_client()
    assert await client.error_code('{ asset(ticker: "WEGE3") { book(depth: 0) { time } } }') == "BAD_USER_INPUT"
    assert await client.error_code('{ asset(ticker: "WEGE3") { trades(limit: -1) { time } } }') == "BAD_USER_INPUT"


CANDLES = """query($t: ID!) { asset(ticker: $t) {
  quote { price time } candles(interval: ONE_MINUTE, limit: 3) { time open high low close } } }"""


async def test_the_feeds_ticks_build_the_candles_on_either_infra(new_client):
    """The assets consumer folds every tick into the candle table on the embedded default
    and on the real engines alike (docs/design.md, Candles): the newest minute candle holds
    the latest quote, and every candle's range contains its open and close."""
    client = await trader(new_client)

    def caught_up(data) -> bool:
        asset = data["asset"]
        if not asset["quote"] or not asset["candles"]:
            return False
        newest = asset["candles"][-1]
        return Decimal(newest["close"]) == Decimal(asset["quote"]["price"]) and newest["time"] <= asset["quote"]["time"]

    asset = (await client.until(CANDLES, {"t": "PETR4"}, caught_up))["asset"]
    starts = [c["time"] for c in asset["candles"]]
    assert starts == sorted(starts), "oldest first"
    for candle in asset["candles"]:
        low, high = Decimal(candle["low"]), Decimal(candle["high"])
        assert low <= Decimal(candle["open"]) <= high and low <= Decimal(candle["close"]) <= high
