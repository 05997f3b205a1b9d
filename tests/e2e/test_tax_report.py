"""The income tax through the router, with the product's default fees on: a trader day-trades
PETR4 and buys VALE3 and an FII to keep, on one trading day. The month's report counts the
day trade at 20% (no exemption) with the wallet's own cash as its result, costs included
(the fills' and the day's end adjustment to the day-trade rates, once the day is over);
the DARF is the tax less the 1% IRRF, due on B3's last business day of the next month (or
carried under R$ 10.00); the year's "bens e direitos" hold what was kept, at what the wallet
paid for it. The months before and the carries across months are tests/unit/reports/test_tax.py's
(the platform's clock cannot be moved from outside)."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import aiohttp
import pytest
import pytest_asyncio

from mybroker.calendar import b3_calendar
from mybroker.money import cents
from tests.conftest import Client, own_platform, platform_settings
from tests.e2e.test_brokerage_notes import close_the_day
from tests.e2e.test_trader_story import DEPOSIT, PLACE, QUOTE, sign_up, until_status

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

D = Decimal
BOOKS = "{ me { wallet { transactions(first: 100) { type amount orderId } } } }"
NOTES = "{ me { brokerageNotes { tradeDate } } }"
REPORT = """query($m: String!) { me { taxReport(month: $m) {
  month rules categories { category tradeKind sales result exempt exemptGain rate irrf }
  pools { sheet tradeKind result lossCarriedIn lossUsed lossCarriedOut taxableBase taxDue }
  withholding { sheet withheld deducted carriedOut } taxDue irrfDeducted
  darf { code period dueDate tax carriedIn amount carriedToNext } } } }"""
YEAR = "query($y: Int!) { me { taxYearSummary(year: $y) { year positions { asset { ticker } category quantity cost costPreviousYear } months { month } } } }"


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def with_fees(tmp_path_factory):
    settings = platform_settings(tmp_path_factory.mktemp("tax"))
    assert settings.fees
    async with own_platform(settings) as running:
        yield running


async def filled(trader: Client, ticker: str, side: str, quantity: int) -> str:
    if side == "BUY":  # a marketable limit: a market BUY would block the collar on top
        quote = await trader.until(QUOTE, {"t": ticker}, lambda d: d["asset"]["quote"] is not None)
        limit = str(cents(D(quote["asset"]["quote"]["price"]) * D("1.03")))
        order = {"ticker": ticker, "side": side, "type": "LIMIT", "quantity": quantity, "limitPrice": limit}
    else:
        order = {"ticker": ticker, "side": side, "type": "MARKET", "quantity": quantity}
    placed = (await trader.execute(PLACE, {"input": order}))["placeOrder"]
    await until_status(trader, placed["id"], "FILLED")
    return placed["id"]


def last_business_day_of_next_month(month: date) -> date:
    after_next = date(month.year + (month.month + 1) // 12, (month.month + 1) % 12 + 1, 1)
    day = after_next - timedelta(days=1)
    while not b3_calendar().is_business_day(day):
        day -= timedelta(days=1)
    return day


async def test_a_day_trade_month_through_the_router(with_fees):
    async with aiohttp.ClientSession() as session:
        trader = Client(session, with_fees.router_url)
        await sign_up(trader, "taxes")
        await trader.execute(DEPOSIT, {"amount": "30000.00"})
        day_buy = await filled(trader, "PETR4", "BUY", 100)
        day_sell = await filled(trader, "PETR4", "SELL", 100)
        kept = {"VALE3": await filled(trader, "VALE3", "BUY", 100), "HGLG11": await filled(trader, "HGLG11", "BUY", 10)}

        [trade_date] = {note["tradeDate"] for note in (await trader.execute(NOTES))["me"]["brokerageNotes"]}
        await close_the_day(with_fees.settings, date.fromisoformat(trade_date))
        lines = (await trader.execute(BOOKS))["me"]["wallet"]["transactions"]
        cash = {t: [line for line in lines if line["orderId"] == order] for t, order in {"buy": day_buy, "sell": day_sell, **kept}.items()}
        # The day trade's result is the wallet's cash change on the two orders, trades and fees,
        # and the day's end adjustment of their fees (the only day trade of the day).
        day_trade = sum((D(line["amount"]) for key in ("buy", "sell") for line in cash[key] if line["type"] in ("BUY", "SELL", "FEE")), D(0))
        day_trade += sum((D(line["amount"]) for line in lines if line["type"] == "FEE_ADJUSTMENT"), D(0))
        sold = sum((D(line["amount"]) for line in cash["sell"] if line["type"] == "SELL"), D(0))
        month = date.fromisoformat(trade_date).replace(day=1)

        report = (await trader.execute(REPORT, {"m": f"{month:%Y-%m}"}))["me"]["taxReport"]
        by_category = {(c["category"], c["tradeKind"]): c for c in report["categories"]}
        assert len(by_category) == 8 and report["rules"] == "IR-2004"
        stock_day = by_category[("STOCK", "DAY_TRADE")]
        assert (D(stock_day["sales"]), D(stock_day["result"]), stock_day["exempt"], stock_day["rate"]) == (sold, day_trade, False, "0.20")
        # Nothing was sold in swing trade: no exemption applied, nothing else to tax.
        assert all(D(c["sales"]) == 0 and D(c["result"]) == 0 for key, c in by_category.items() if key != ("STOCK", "DAY_TRADE"))
        assert by_category[("STOCK", "SWING_TRADE")]["exempt"] is False

        pool = next(p for p in report["pools"] if (p["sheet"], p["tradeKind"]) == ("COMMON", "DAY_TRADE"))
        gain = max(day_trade, D(0))
        tax = cents(gain * D("0.20"))
        irrf = cents(gain * D("0.01"))
        assert (D(pool["taxableBase"]), D(pool["taxDue"]), D(pool["lossCarriedOut"])) == (gain, tax, max(-day_trade, D(0)))
        assert (D(stock_day["irrf"]), D(report["irrfDeducted"]), D(report["taxDue"])) == (irrf, irrf, tax)
        darf = report["darf"]
        assert (darf["code"], darf["period"], date.fromisoformat(darf["dueDate"])) == ("6015", f"{month:%Y-%m}", last_business_day_of_next_month(month))
        owed = tax - irrf
        if owed >= D("10.00"):
            assert (D(darf["amount"]), D(darf["carriedToNext"])) == (owed, 0)
        else:  # a small gain (or a loss): nothing to pay this month, carried
            assert (D(darf["amount"]), D(darf["carriedToNext"])) == (0, owed)

        # "Bens e direitos": what was kept, at what the wallet paid (trade and fees); PETR4 is closed.
        summary = (await trader.execute(YEAR, {"y": month.year}))["me"]["taxYearSummary"]
        held = {p["asset"]["ticker"]: p for p in summary["positions"]}
        assert set(held) == {"VALE3", "HGLG11"} and held["HGLG11"]["category"] == "FII" and held["VALE3"]["category"] == "STOCK"
        for ticker in kept:
            paid = -sum((D(line["amount"]) for line in cash[ticker] if line["type"] in ("BUY", "FEE")), D(0))
            assert (D(held[ticker]["cost"]), D(held[ticker]["costPreviousYear"])) == (paid, 0), ticker
        assert summary["months"][-1]["month"] == f"{month:%Y-%m}"

        # A malformed month and one not started yet are the caller's mistakes, said plainly.
        for bad in ("2026-13", f"{month.year + 1}-{month.month:02d}"):
            assert await trader.error_code('query { me { taxReport(month: "%s") { month } } }' % bad) == "BAD_USER_INPUT"
