"""replaceOrder through the router: B3 confirms the new terms and the order shows them."""
from __future__ import annotations

import pytest

from tests.e2e.test_trader_story import DEPOSIT, PLACE, sign_up, until_status, wallet

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

REPLACE = """
mutation($id: ID!, $quantity: Int, $limitPrice: Decimal) {
  replaceOrder(id: $id, quantity: $quantity, limitPrice: $limitPrice) { id quantity limitPrice status }
}"""
TERMS = "query($id: ID!) { order(id: $id) { quantity limitPrice status } }"


async def test_a_resting_order_is_replaced_down_and_a_raise_is_refused(new_client):
    trader = new_client()
    await sign_up(trader, "helena")
    await trader.execute(DEPOSIT, {"amount": "1000.00"})
    resting = (
        await trader.execute(
            PLACE, {"input": {"ticker": "PETR4", "side": "BUY", "type": "LIMIT", "quantity": 200, "limitPrice": "2.00", "timeInForce": "GTC"}}
        )
    )["placeOrder"]
    await until_status(trader, resting["id"], "OPEN")

    asked = (await trader.execute(REPLACE, {"id": resting["id"], "quantity": 100, "limitPrice": "1.90"}))["replaceOrder"]
    assert (asked["quantity"], asked["limitPrice"]) == (200, "2.00")  # B3 has not confirmed yet
    replaced = (await trader.until(TERMS, {"id": resting["id"]}, lambda d: d["order"]["quantity"] == 100))["order"]
    assert (replaced["limitPrice"], replaced["status"]) == ("1.90", "OPEN")

    assert await trader.error_code(REPLACE, {"id": resting["id"], "quantity": 300}) == "BAD_USER_INPUT"
    assert await trader.error_code(REPLACE, {"id": resting["id"], "limitPrice": "2.50"}) == "BAD_USER_INPUT"
    assert (await wallet(trader))["blocked"] == "400.00"  # still the first reservation; released at the end
