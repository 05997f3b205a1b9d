"""B3's fractional market through the router: PETR4F trades 1 to 99 PETR4 shares, and
what it buys or sells is the trader's one PETR4 position."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tests.e2e.test_trader_story import DEPOSIT, ORDER, PLACE, QUOTE, WALLET, sign_up, until_status, wallet

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

BOOK = "query($t: ID!) { asset(ticker: $t) { book(depth: 1) { asks { price } } } }"


async def exchange_has_a_price(client) -> None:
    """The maker quotes PETR4 (and so PETR4F) once b3-sim has a reference price; on the
    real brokers its consumer may join the market data a moment after assets does."""
    await client.until(BOOK, {"t": "PETR4"}, lambda d: d["asset"]["book"]["asks"])


def market(ticker: str, side: str, quantity: int) -> dict:
    return {"input": {"ticker": ticker, "side": side, "type": "MARKET", "quantity": quantity}}


async def test_fractional_shares_land_in_the_standard_position(new_client):
    trader = new_client()
    await sign_up(trader, "fatima")
    await trader.execute(DEPOSIT, {"amount": "1000.00"})
    asset = (await trader.until(QUOTE, {"t": "PETR4F"}, lambda d: d["asset"]["quote"] is not None))["asset"]
    assert (asset["ticker"], asset["lotSize"]) == ("PETR4F", 1) and asset["name"].startswith("Petrobras PN")
    await exchange_has_a_price(trader)

    bought = (await trader.execute(PLACE, market("PETR4F", "BUY", 7)))["placeOrder"]
    assert (bought["asset"]["ticker"], bought["quantity"]) == ("PETR4F", 7)
    filled = await until_status(trader, bought["id"], "FILLED")
    paid = sum(Decimal(e["price"]) * e["quantity"] for e in filled["executions"])
    held = (await trader.until(WALLET, None, lambda d: d["me"]["wallet"]["positions"]))["me"]["wallet"]
    assert [(p["asset"]["ticker"], p["quantity"]) for p in held["positions"]] == [("PETR4", 7)]
    assert Decimal(held["available"]) == Decimal("1000.00") - paid and held["blocked"] == "0.00"

    # A fractional SELL uses the free PETR4 shares.
    sold = (await trader.execute(PLACE, market("PETR4F", "SELL", 3)))["placeOrder"]
    await until_status(trader, sold["id"], "FILLED")
    after = (await trader.until(WALLET, None, lambda d: d["me"]["wallet"]["positions"][0]["quantity"] == 4))["me"]["wallet"]
    assert [(p["asset"]["ticker"], p["quantity"], p["blockedQuantity"]) for p in after["positions"]] == [("PETR4", 4, 0)]
    assert await trader.error_code(PLACE, market("PETR4F", "SELL", 5)) == "INSUFFICIENT_POSITION"


async def test_quantities_outside_each_market_are_refused(new_client):
    trader = new_client()
    await sign_up(trader, "gael")
    await trader.execute(DEPOSIT, {"amount": "100000.00"})
    await trader.until(QUOTE, {"t": "PETR4"}, lambda d: d["asset"]["quote"] is not None)
    assert await trader.error_code(PLACE, market("PETR4", "BUY", 150)) == "BAD_USER_INPUT"  # not a round lot
    assert await trader.error_code(PLACE, market("PETR4F", "BUY", 100)) == "BAD_USER_INPUT"  # a round lot: PETR4's
    assert await trader.error_code(PLACE, market("PETR4F", "BUY", 150)) == "BAD_USER_INPUT"
    assert (await wallet(trader))["blocked"] == "0.00"
    assert (await trader.execute("{ orders { id } }"))["orders"] == []
    assert (await trader.execute(ORDER, {"id": "nothing"}))["order"] is None
