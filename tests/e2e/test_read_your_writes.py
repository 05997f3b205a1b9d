"""What a trader reads is true, with many traders at once: once an order reads FILLED (or
CANCELLED), the very next request shows the wallet and the portfolio with it, and a SELL
of the shares just bought is accepted (the issue: FILLED seconds before the wallet)."""
from __future__ import annotations

import asyncio
import re

import pytest

from tests.e2e.test_trader_story import DEPOSIT, PLACE, sign_up, until_status

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

TRADERS = 12
HOLDINGS = """
{ me { wallet { available blocked positions { asset { ticker } quantity blockedQuantity } }
       portfolio { positions { asset { ticker } quantity } } } }"""


def shares(me: dict) -> tuple[int, int]:
    """PETR4 shares in the wallet and in the portfolio."""
    held = [p["quantity"] for p in me["wallet"]["positions"] if p["asset"]["ticker"] == "PETR4"]
    projected = [p["quantity"] for p in me["portfolio"]["positions"] if p["asset"]["ticker"] == "PETR4"]
    return sum(held), sum(projected)


async def signed_up(new_client, n: int):
    trader = new_client()
    await sign_up(trader, f"ryw{n}")
    await trader.execute(DEPOSIT, {"amount": "50000.00"})
    return trader


async def one_trader(trader) -> None:
    market = lambda side: {"input": {"ticker": "PETR4", "side": side, "type": "MARKET", "quantity": 100}}  # noqa: E731
    bought = (await trader.execute(PLACE, market("BUY")))["placeOrder"]
    await until_status(trader, bought["id"], "FILLED", "REJECTED", "CANCELLED")
    me = (await trader.execute(HOLDINGS))["me"]
    assert shares(me) == (100, 100), me
    # Sent the moment the BUY reads FILLED: the shares are free to sell.
    sold = (await trader.execute(PLACE, market("SELL")))["placeOrder"]
    await until_status(trader, sold["id"], "FILLED")
    me = (await trader.execute(HOLDINGS))["me"]
    assert shares(me) == (0, 0), me
    assert me["wallet"]["blocked"] == "0.00"

    resting = (
        await trader.execute(
            PLACE, {"input": {"ticker": "PETR4", "side": "BUY", "type": "LIMIT", "quantity": 100, "limitPrice": "1.00"}}
        )
    )["placeOrder"]
    await until_status(trader, resting["id"], "OPEN")
    await trader.execute("mutation($id: ID!) { cancelOrder(id: $id) { status } }", {"id": resting["id"]})
    await until_status(trader, resting["id"], "CANCELLED")
    assert (await trader.execute(HOLDINGS))["me"]["wallet"]["blocked"] == "0.00"  # released as it reads CANCELLED


async def test_fills_and_cancels_are_in_the_wallet_and_portfolio_when_the_order_says_so(new_client):
    traders = [await signed_up(new_client, n) for n in range(TRADERS)]
    await asyncio.gather(*(one_trader(trader) for trader in traders))


async def test_one_answer_reads_the_orders_before_the_wallet(platform, http):
    """Within one answer too: `me { orders wallet }` starts in orders (its shared `me`, no
    hop through identity) and reads the wallet after it, so an order that reads FILLED
    there is already in the wallet beside it. `me { portfolio }` is one fetch."""

    async def fetches(query: str) -> list[str]:
        headers = {"Apollo-Query-Plan-Experimental": "1"}
        async with http.post(platform.router_url, json={"query": query}, headers=headers) as response:
            plan = (await response.json())["extensions"]["queryPlan"]
        return re.findall(r'Fetch\(service: "(\w+)"\)', plan)

    assert await fetches("{ me { orders(first: 10) { id status } wallet { available blocked } } }") == ["orders", "wallet"]
    assert await fetches("{ me { portfolio { marketValue } } }") == ["reports"]
    assert await fetches("{ me { name wallet { available } } }") == ["identity", "wallet"]
