"""Stop orders through the router, on a platform of their own whose market maker quotes
one lot a side (so a few traders' orders move the price through a stop): a stop-loss SELL
waits, the market trades through its trigger (a second trader's sale into a third
trader's bid), and it triggers and fills; a STOP BUY blocks its cash from the start, and
a cancel releases it; a trigger on the wrong side of the market is refused."""
from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

import aiohttp
import pytest
import pytest_asyncio

from launch.platform import Platform
from mybroker.money import cents_up
from tests.conftest import Client, own_platform, platform_settings
from tests.e2e.test_trader_story import DEPOSIT, PLACE, QUOTE, WALLET, sign_up, until_status, wallet

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

STOP_ORDER = """
query($id: ID!) {
  order(id: $id) { id status type stopPrice triggeredAt filledQuantity averagePrice statusReason executions { quantity price } }
}"""
CANCEL = "mutation($id: ID!) { cancelOrder(id: $id) { id status } }"
COLLAR = Decimal("0.05")  # the platform's default market-order collar


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def order(side: str, kind: str, quantity: int, *, limit: Decimal | None = None, stop: Decimal | None = None, tif: str = "GTC") -> dict:
    data = {"ticker": "PETR4", "side": side, "type": kind, "quantity": quantity, "timeInForce": tif}
    if limit is not None:
        data["limitPrice"] = str(limit)
    if stop is not None:
        data["stopPrice"] = str(stop)
    return {"input": data}


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def thin_market(tmp_path_factory):
    """One level of one lot a side: 100 shares bid and 100 offered around the quote."""
    settings = platform_settings(tmp_path_factory.mktemp("stops")).with_overrides(mm_depth=1, mm_lots_per_level=1)
    async with own_platform(settings) as running:
        yield running


PREVIEW = "query($input: PlaceOrderInput!) { orderPreview(input: $input) { pricePerShare value fees reserved } }"


async def last_price(client: Client) -> Decimal:
    data = await client.until(QUOTE, {"t": "PETR4"}, lambda d: d["asset"]["quote"] is not None)
    return Decimal(data["asset"]["quote"]["price"])


async def trader(http, platform: Platform, name: str, cash: str = "20000.00") -> Client:
    client = Client(http, platform.router_url)
    await sign_up(client, name)
    await client.execute(DEPOSIT, {"amount": cash})
    return client


async def buy_shares(client: Client, quantity: int) -> None:
    """A LIMIT BUY well above the market: the maker's next offers fill it, a lot a quote."""
    above = cents((await last_price(client)) * Decimal("1.03"))
    placed = (await client.execute(PLACE, order("BUY", "LIMIT", quantity, limit=above)))["placeOrder"]
    await until_status(client, placed["id"], "FILLED")


async def test_a_stop_loss_sell_triggers_and_fills_once_the_market_trades_through_it(thin_market):
    async with aiohttp.ClientSession() as http:
        holder = await trader(http, thin_market, "stopper")
        buyer = await trader(http, thin_market, "bidder")
        seller = await trader(http, thin_market, "seller")
        await buy_shares(holder, 100)
        await buy_shares(seller, 200)

        last = await last_price(holder)
        trigger = cents(last * Decimal("0.97"))
        placed = (await holder.execute(PLACE, order("SELL", "STOP", 100, stop=trigger)))["placeOrder"]
        assert placed["type"] == "STOP"
        waiting = (await holder.until(STOP_ORDER, {"id": placed["id"]}, lambda d: d["order"]["status"] == "OPEN"))["order"]
        assert (Decimal(waiting["stopPrice"]), waiting["triggeredAt"], waiting["filledQuantity"]) == (trigger, None, 0)
        [position] = (await wallet(holder))["positions"]
        assert position["blockedQuantity"] == 100  # the stop holds its shares from the start

        # A bid below the trigger, then a sale that trades through the maker's bid into it.
        below = cents(trigger * Decimal("0.99"))
        bid = (await buyer.execute(PLACE, order("BUY", "LIMIT", 300, limit=below)))["placeOrder"]
        await until_status(buyer, bid["id"], "OPEN")
        sale = (await seller.execute(PLACE, order("SELL", "LIMIT", 200, limit=below, tif="DAY")))["placeOrder"]
        await until_status(seller, sale["id"], "FILLED")

        done = (await holder.until(STOP_ORDER, {"id": placed["id"]}, lambda d: d["order"]["status"] == "FILLED"))["order"]
        assert done["triggeredAt"] is not None
        assert done["executions"] == [{"quantity": 100, "price": str(below)}]  # a MARKET sale into the bid left
        assert Decimal(done["averagePrice"]) == below
        after = await holder.until(WALLET, None, lambda d: d["me"]["wallet"]["positions"] == [])
        assert after["me"]["wallet"]["blocked"] == "0.00"


async def test_a_stop_buy_blocks_cash_at_its_trigger_and_a_cancel_releases_it(thin_market):
    async with aiohttp.ClientSession() as http:
        client = await trader(http, thin_market, "breakout")
        last = await last_price(client)
        trigger = cents(last * Decimal("1.10"))
        ticket = order("BUY", "STOP", 200, stop=trigger)
        preview = (await client.execute(PREVIEW, ticket))["orderPreview"]
        placed = (await client.execute(PLACE, ticket))["placeOrder"]
        await client.until(STOP_ORDER, {"id": placed["id"]}, lambda d: d["order"]["status"] == "OPEN")
        # As a MARKET BUY at its trigger price would: the collar above the trigger, and the
        # costs of that value on top (fees are on, the product's default).
        assert Decimal(preview["pricePerShare"]) == cents_up(trigger * (1 + COLLAR))
        assert Decimal(preview["reserved"]) == Decimal(preview["value"]) + Decimal(preview["fees"]) > Decimal(preview["value"])
        assert (await wallet(client))["blocked"] == preview["reserved"]

        await client.execute(CANCEL, {"id": placed["id"]})
        cancelled = (await client.until(STOP_ORDER, {"id": placed["id"]}, lambda d: d["order"]["status"] == "CANCELLED"))["order"]
        assert (cancelled["triggeredAt"], cancelled["filledQuantity"]) == (None, 0)
        cash = await wallet(client)
        assert (cash["available"], cash["blocked"]) == ("20000.00", "0.00")


async def test_a_trigger_on_the_wrong_side_of_the_market_is_refused(thin_market):
    async with aiohttp.ClientSession() as http:
        client = await trader(http, thin_market, "wrongside")
        last = await last_price(client)
        above = order("BUY", "STOP_LIMIT", 100, limit=cents(last * Decimal("0.5")), stop=cents(last * Decimal("0.5")))
        assert await client.error_code(PLACE, above) == "STOP_PRICE_WRONG_SIDE"
        status, body = await client.post(PLACE, order("SELL", "STOP", 100, stop=cents(last * Decimal("1.5"))))
        [error] = body["errors"]
        assert error["extensions"]["code"] == "STOP_PRICE_WRONG_SIDE" and "abaixo do último preço" in error["message"]
        assert await client.error_code(PLACE, order("BUY", "STOP", 100)) == "BAD_USER_INPUT"  # no stopPrice
        assert (await wallet(client))["blocked"] == "0.00"
