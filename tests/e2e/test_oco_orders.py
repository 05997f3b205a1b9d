"""OCO pairs through the router, on a thin market of their own (the maker quotes one lot a
side, so a second trader's order moves the price): a holder's SELL OCO blocks its shares
once; the market trades up through the take-profit, which fills, and B3 cancels the
stop-loss with the reason; the shares and cash are right and nothing stays blocked. A
trader's cancel of one leg cancels both and releases everything."""
from __future__ import annotations

from decimal import Decimal

import aiohttp
import pytest
import pytest_asyncio

from tests.conftest import own_platform, platform_settings
from tests.e2e.test_stop_orders import STOP_ORDER, buy_shares, cents, last_price, order, trader
from tests.e2e.test_trader_story import PLACE, until_status, wallet

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

PLACE_OCO = """
mutation($input: PlaceOcoOrderInput!) {
  placeOcoOrder(input: $input) {
    takeProfit { id type status limitPrice ocoSiblingId }
    stopLoss { id type status stopPrice ocoSiblingId }
  }
}"""
CANCEL = "mutation($id: ID!) { cancelOrder(id: $id) { id status } }"


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def thin_market(tmp_path_factory):
    settings = platform_settings(tmp_path_factory.mktemp("oco")).with_overrides(mm_depth=1, mm_lots_per_level=1)
    async with own_platform(settings) as running:
        yield running


def oco(quantity: int, take: Decimal, stop: Decimal, key: str | None = None) -> dict:
    data = {"ticker": "PETR4", "side": "SELL", "quantity": quantity, "takeProfitPrice": str(take), "stopPrice": str(stop), "timeInForce": "GTC"}
    if key is not None:
        data["clientOrderId"] = key
    return {"input": data}


async def until(client, order_id: str, status: str) -> dict:
    return (await client.until(STOP_ORDER, {"id": order_id}, lambda d: d["order"]["status"] == status))["order"]


async def test_the_take_profit_fills_the_stop_loss_is_cancelled_and_nothing_stays_blocked(thin_market):
    async with aiohttp.ClientSession() as http:
        holder = await trader(http, thin_market, "ocoholder")
        buyer = await trader(http, thin_market, "ocobuyer")
        await buy_shares(holder, 100)

        last = await last_price(holder)
        take, stop = cents(last * Decimal("1.02")), cents(last * Decimal("0.97"))
        pair = (await holder.execute(PLACE_OCO, oco(100, take, stop, key="exit-petr4")))["placeOcoOrder"]
        tp, sl = pair["takeProfit"], pair["stopLoss"]
        assert (tp["type"], sl["type"], tp["ocoSiblingId"], sl["ocoSiblingId"]) == ("LIMIT", "STOP", sl["id"], tp["id"])
        again = (await holder.execute(PLACE_OCO, oco(100, take, stop, key="exit-petr4")))["placeOcoOrder"]
        assert (again["takeProfit"]["id"], again["stopLoss"]["id"]) == (tp["id"], sl["id"])  # idempotent
        await until(holder, tp["id"], "OPEN")
        await until(holder, sl["id"], "OPEN")
        [position] = (await wallet(holder))["positions"]
        assert position["blockedQuantity"] == 100  # once for the pair, not 200

        # A buyer sweeps the maker's offer and reaches the take-profit.
        bid = (await buyer.execute(PLACE, order("BUY", "LIMIT", 300, limit=take)))["placeOrder"]
        await until_status(buyer, bid["id"], "PARTIALLY_FILLED", "FILLED")

        filled = await until(holder, tp["id"], "FILLED")
        assert filled["executions"] == [{"quantity": 100, "price": str(take)}]
        cancelled = await until(holder, sl["id"], "CANCELLED")
        assert cancelled["statusReason"].startswith("OCO") and cancelled["triggeredAt"] is None

        after = (await holder.until(
            "{ me { wallet { available blocked positions { quantity } transactions(first: 100) { type amount orderId } } } }",
            None,
            lambda d: d["me"]["wallet"]["positions"] == [] and d["me"]["wallet"]["blocked"] == "0.00",
        ))["me"]["wallet"]
        entries = after["transactions"]
        assert [e["amount"] for e in entries if e["type"] == "SELL"] == [str(take * 100)]
        # The invariant: available cash is exactly the ledger's sum, and nothing is blocked.
        assert Decimal(after["available"]) == sum(Decimal(e["amount"]) for e in entries)


async def test_a_cancel_of_one_leg_cancels_both_and_releases_everything(thin_market):
    async with aiohttp.ClientSession() as http:
        holder = await trader(http, thin_market, "ococancel")
        await buy_shares(holder, 100)
        last = await last_price(holder)
        pair = (await holder.execute(PLACE_OCO, oco(100, cents(last * Decimal("1.10")), cents(last * Decimal("0.90")))))["placeOcoOrder"]
        tp, sl = pair["takeProfit"], pair["stopLoss"]
        await until(holder, tp["id"], "OPEN")
        await until(holder, sl["id"], "OPEN")
        before = await wallet(holder)

        await holder.execute(CANCEL, {"id": sl["id"]})
        await until(holder, sl["id"], "CANCELLED")
        sibling = await until(holder, tp["id"], "CANCELLED")
        assert sibling["statusReason"].startswith("OCO") and sibling["filledQuantity"] == 0
        after = await holder.until(WALLET_FREE, None, lambda d: d["me"]["wallet"]["positions"][0]["blockedQuantity"] == 0)
        cash = after["me"]["wallet"]
        assert cash["blocked"] == "0.00" and cash["positions"][0]["quantity"] == 100
        # the brokerage the pair blocked (once) is back
        assert Decimal(cash["available"]) == Decimal(before["available"]) + Decimal(before["blocked"])


async def test_a_pair_on_the_wrong_side_is_refused(thin_market):
    async with aiohttp.ClientSession() as http:
        holder = await trader(http, thin_market, "ocowrong")
        await buy_shares(holder, 100)
        last = await last_price(holder)
        assert await holder.error_code(PLACE_OCO, oco(100, cents(last * Decimal("1.10")), cents(last * Decimal("1.05")))) == "STOP_PRICE_WRONG_SIDE"
        assert await holder.error_code(PLACE_OCO, oco(100, cents(last * Decimal("0.95")), cents(last * Decimal("0.90")))) == "BAD_USER_INPUT"
        assert (await wallet(holder))["positions"][0]["blockedQuantity"] == 0


WALLET_FREE = "{ me { wallet { available blocked positions { quantity blockedQuantity } } } }"
