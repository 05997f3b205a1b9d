"""replaceOrder through the router: B3 confirms the new terms, the order shows them, and
the reservation follows both ways (issue: a replace that kept R$ 12,500 blocked)."""
from __future__ import annotations

import pytest

from tests.e2e.test_trader_story import DEPOSIT, PLACE, sign_up, until_status, wallet

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

REPLACE = """
mutation($id: ID!, $quantity: Int, $limitPrice: Decimal) {
  replaceOrder(id: $id, quantity: $quantity, limitPrice: $limitPrice) { id quantity limitPrice status }
}"""
TERMS = "query($id: ID!) { order(id: $id) { quantity limitPrice status statusReason } }"


def limit(side: str, quantity: int, price: str) -> dict:
    return {"input": {"ticker": "PETR4", "side": side, "type": "LIMIT", "quantity": quantity, "limitPrice": price, "timeInForce": "GTC"}}


async def test_a_smaller_replace_frees_the_excess_and_a_larger_one_reserves_more(new_client):
    trader = new_client()
    await sign_up(trader, "helena")
    await trader.execute(DEPOSIT, {"amount": "20000.00"})
    # Far below the market: it rests.
    resting = (await trader.execute(PLACE, limit("BUY", 500, "2.50")))["placeOrder"]
    await until_status(trader, resting["id"], "OPEN")
    assert (await wallet(trader))["blocked"] == "1250.00"

    asked = (await trader.execute(REPLACE, {"id": resting["id"], "quantity": 300, "limitPrice": "2.40"}))["replaceOrder"]
    # Under way: the old terms until B3 confirms, and it says so.
    assert (asked["quantity"], asked["limitPrice"], asked["status"]) == (500, "2.50", "PENDING_REPLACE")
    replaced = (await trader.until(TERMS, {"id": resting["id"]}, lambda d: d["order"]["status"] == "OPEN"))["order"]
    assert (replaced["quantity"], replaced["limitPrice"]) == (300, "2.40")
    assert (await wallet(trader))["blocked"] == "720.00"  # 300 x 2.40, the rest free at once

    await trader.execute(REPLACE, {"id": resting["id"], "quantity": 1000, "limitPrice": "2.60"})
    await trader.until(TERMS, {"id": resting["id"]}, lambda d: d["order"]["quantity"] == 1000 and d["order"]["status"] == "OPEN")
    assert (await wallet(trader))["blocked"] == "2600.00"

    # More than the cash: refused, and the order and its reservation stay as they were.
    assert await trader.error_code(REPLACE, {"id": resting["id"], "quantity": 100000}) == "INSUFFICIENT_FUNDS"
    after = (await trader.execute(TERMS, {"id": resting["id"]}))["order"]
    assert (after["quantity"], after["status"]) == (1000, "OPEN")
    assert (await wallet(trader))["blocked"] == "2600.00"


async def test_a_smaller_sell_replace_frees_shares_that_can_be_sold_at_once(new_client):
    trader = new_client()
    await sign_up(trader, "heitor")
    await trader.execute(DEPOSIT, {"amount": "20000.00"})
    bought = (await trader.execute(PLACE, {"input": {"ticker": "PETR4", "side": "BUY", "type": "MARKET", "quantity": 200}}))["placeOrder"]
    await until_status(trader, bought["id"], "FILLED")
    # Far above the market: it rests, blocking all 200 shares.
    selling = (await trader.execute(PLACE, limit("SELL", 200, "900.00")))["placeOrder"]
    await until_status(trader, selling["id"], "OPEN")
    await trader.execute(REPLACE, {"id": selling["id"], "quantity": 100})
    await trader.until(TERMS, {"id": selling["id"]}, lambda d: d["order"]["quantity"] == 100 and d["order"]["status"] == "OPEN")
    again = (await trader.execute(PLACE, limit("SELL", 100, "900.00")))["placeOrder"]  # the freed 100
    assert again["status"] == "PENDING"
    assert await trader.error_code(PLACE, limit("SELL", 100, "900.00")) == "INSUFFICIENT_POSITION"
