"""Costs through the router, with the product's default fees on: a BUY then a SELL leave
cash = deposit - fees -/+ the trades' values to the centavo, each fill's costs are FEE lines
item by item, orderPreview reserves what placing the ticket blocks and charges what the fill
charged, and the portfolio's average price and realised P&L are the wallet's."""
from __future__ import annotations

from decimal import Decimal

import aiohttp
import pytest
import pytest_asyncio

from mybroker.calendar import b3_calendar
from mybroker.events import utcnow
from mybroker.money import cents
from mybroker.settings import Settings
from tests.conftest import Client, own_platform, platform_settings
from tests.e2e.test_trader_story import DEPOSIT, PLACE, QUOTE, sign_up, until_status

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

D = Decimal
PREVIEW = """query($input: PlaceOrderInput!) { orderPreview(input: $input) {
  pricePerShare value emolumentos liquidacao brokerage iss fees total reserved settlementDate } }"""
BOOKS = """{ me { wallet { available blocked positions { asset { ticker } quantity averagePrice }
    transactions(first: 50) { type amount orderId feeKind } }
  portfolio { realizedPnl positions { asset { ticker } quantity averagePrice } } } }"""
ITEMS = {"EMOLUMENTOS": "emolumentos", "LIQUIDACAO": "liquidacao", "CORRETAGEM": "brokerage", "ISS": "iss"}


def lines(books: dict, order_id: str, kind: str) -> list[dict]:
    return [t for t in books["me"]["wallet"]["transactions"] if t["orderId"] == order_id and t["type"] == kind]


def traded(order: dict) -> Decimal:
    return sum((cents(D(e["price"]) * e["quantity"]) for e in order["executions"]), D("0.00"))


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def with_fees(tmp_path_factory):
    """A platform on the product's default settings: fees on (the shared one has them off)."""
    settings = platform_settings(tmp_path_factory.mktemp("costs"))
    assert settings.fees
    async with own_platform(settings) as running:
        yield running


async def test_a_buy_then_a_sell_cost_what_the_preview_said_and_the_books_agree(with_fees):
    async with aiohttp.ClientSession() as session:
        await _story(Client(session, with_fees.router_url))


async def _story(trader: Client) -> None:
    await sign_up(trader, "costs")
    await trader.execute(DEPOSIT, {"amount": "20000.00"})
    quote = await trader.until(QUOTE, {"t": "PETR4"}, lambda d: d["asset"]["quote"] is not None)
    fees = Settings.from_env(env={}).fee_schedule()  # the platform's: fees on by default
    assert fees.enabled

    # A marketable LIMIT BUY: the ticket's price is fixed, so the preview reserves exactly
    # what placing it blocks.
    limit = str(cents(D(quote["asset"]["quote"]["price"]) * D("1.03")))
    ticket = {"ticker": "PETR4", "side": "BUY", "type": "LIMIT", "quantity": 100, "limitPrice": limit}
    preview = (await trader.execute(PREVIEW, {"input": ticket}))["orderPreview"]
    calendar = b3_calendar()
    assert preview["settlementDate"] == calendar.settlement_date(calendar.trading_day(utcnow())).isoformat()
    assert D(preview["reserved"]) == D(preview["total"]) == D(preview["value"]) + D(preview["fees"]) > D(preview["value"])
    buy = (await trader.execute(PLACE, {"input": ticket}))["placeOrder"]
    buy = await until_status(trader, buy["id"], "FILLED")

    books = await trader.execute(BOOKS)
    [reserve] = lines(books, buy["id"], "RESERVE")
    assert -D(reserve["amount"]) == D(preview["reserved"]), "the preview reserves what the order blocked"
    bought = traded(buy)
    buy_fees = {t["feeKind"]: -D(t["amount"]) for t in lines(books, buy["id"], "FEE")}
    expected = fees.order_costs(bought)
    assert buy_fees == {kind.value: amount for kind, amount in expected.items()}, "one FEE line per item"
    assert set(buy_fees) >= {"EMOLUMENTOS", "LIQUIDACAO"}
    prices = {e["price"] for e in buy["executions"]}
    if len(prices) == 1:  # one price: the preview at it is what the fill charged, item by item
        [price] = prices
        at_fill = (await trader.execute(PREVIEW, {"input": {**ticket, "limitPrice": price}}))["orderPreview"]
        assert {k: D(at_fill[v]) for k, v in ITEMS.items() if D(at_fill[v])} == buy_fees
    # The average price includes the costs, the same in the wallet and the portfolio.
    [held] = books["me"]["wallet"]["positions"]
    [shown] = books["me"]["portfolio"]["positions"]
    assert held["averagePrice"] == shown["averagePrice"] == f"{cents((bought + sum(buy_fees.values())) / 100)}"

    sell = (await trader.execute(PLACE, {"input": {"ticker": "PETR4", "side": "SELL", "type": "MARKET", "quantity": 100}}))["placeOrder"]
    sell = await until_status(trader, sell["id"], "FILLED")
    books = await trader.execute(BOOKS)
    sold = traded(sell)
    sell_fees = sum((-D(t["amount"]) for t in lines(books, sell["id"], "FEE")), D("0.00"))
    assert sell_fees == fees.order_costs(sold).total > 0
    wallet = books["me"]["wallet"]
    cash = D(wallet["available"]) + D(wallet["blocked"])
    assert cash == D("20000.00") - bought - sum(buy_fees.values()) + sold - sell_fees, "to the centavo"
    assert D(wallet["blocked"]) == 0 and wallet["positions"] == []
    # Closed in full: what it realised is all the cash it moved, costs included, in both books.
    assert D(books["me"]["portfolio"]["realizedPnl"]) == cash - D("20000.00")
