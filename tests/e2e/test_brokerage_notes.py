"""The brokerage note through the router, with the product's default fees on: a trader buys
and sells PETR4 on one day (a day trade; and buys 7 on the fractional market) and sells
VALE3 held from an earlier day (a swing-trade sale). Once the day is over, the wallet's
day's end (on a clock moved past the rollover) posts the day-trade fee adjustment and the
IRRF; the day's note lists the trades, its costs are the wallet's FEE and FEE_ADJUSTMENT
lines item by item, its IRRF the wallet's IRRF line, its net is the wallet's cash change of
the day, it settles when the wallet's lines do, and its PDF carries the note's number and
ticker."""
from __future__ import annotations

import base64
import re
import zlib
from datetime import date, datetime, time, timezone
from decimal import Decimal

import aiohttp
import pytest
import pytest_asyncio

from mybroker.calendar import BRASILIA, ManualClock, b3_calendar
from mybroker.db import Database, utc_now
from mybroker.money import cents
from subgraphs.wallet import repository
from subgraphs.wallet.day_end import TradingDayEnd
from subgraphs.wallet.tables import metadata
from tests.conftest import Client, own_platform, platform_settings
from tests.e2e.test_trader_story import DEPOSIT, PLACE, QUOTE, sign_up, until_status

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

D = Decimal
BOOKS = """{ me { id wallet { available blocked transactions(first: 100) { type amount orderId feeKind settlesOn corporateEventId } } } }"""
NOTE_FIELDS = """number tradeDate settlementDate trades { operation market type ticker quantity price value debitCredit }
  sales purchases totalTraded operationsNet operationsNetDebitCredit settlementFee tradingFee brokerage iss irrfBase irrf
  dayTradeIrrfBase dayTradeIrrf dayTradeFeeAdjustment net netDebitCredit"""
NOTES = "{ me { brokerageNotes { %s } } }" % NOTE_FIELDS
NOTE = "query($d: Date!) { me { brokerageNote(date: $d) { number trades { ticker } pdfBase64 } } }"
FEE_FIELDS = {"EMOLUMENTOS": "tradingFee", "LIQUIDACAO": "settlementFee", "CORRETAGEM": "brokerage", "ISS": "iss"}
SWING = 400  # VALE3 shares held from an earlier day and sold: about R$ 24,000, so its IRRF is withheld
DAY_LINES = ("BUY", "SELL", "FEE", "FEE_ADJUSTMENT", "IRRF")


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def with_fees(tmp_path_factory):
    settings = platform_settings(tmp_path_factory.mktemp("notes"))
    assert settings.fees
    async with own_platform(settings) as running:
        yield running


def signed(amount: str, debit_credit: str) -> Decimal:
    return D(amount) if debit_credit == "C" else -D(amount)


def pdf_text(pdf: bytes) -> bytes:
    """The PDF's bytes with its Flate streams inflated: what a reader would show."""
    inflated = [pdf]
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            inflated.append(zlib.decompress(stream))
        except zlib.error:
            pass
    return b"\n".join(inflated)


async def hold_from_before(url: str, user_id: str, ticker: str, quantity: int, average: Decimal) -> None:
    """Shares the trader held before today (a purchase of an earlier trading day), put in the
    wallet's position as its settlement would have left them: today's sale of them is a swing
    trade, which a platform on today's clock cannot make otherwise."""
    db = Database(url, metadata)
    try:
        async with db.transaction() as tx:
            now = utc_now()
            wallet = await repository.wallet_for_update(tx.session, user_id, now)
            position = await repository.position_for_update(tx.session, wallet.id, ticker)
            position.add_bought(quantity, cents(average * quantity))
            await repository.save_position(tx.session, wallet.id, position, now)
    finally:
        await db.dispose()


async def close_the_day(settings, trade_date: date) -> None:
    """The wallet's day's end on a clock at the next session (the running wallet's own job, on
    today's clock, waits for the real rollover): a second replica on the same database."""
    calendar = b3_calendar()
    after = ManualClock(datetime.combine(calendar.add_business_days(trade_date, 1), time(11, 0), tzinfo=BRASILIA).astimezone(timezone.utc))
    db = Database(settings.database_url("wallet"), metadata)
    try:
        day_end = TradingDayEnd(db, fees=settings.fee_schedule(), clock=after.now)
        assert (await day_end.close_due()).posted >= 1
        assert (await day_end.close_due()).closed == 0, "a second pass posts nothing"
    finally:
        await db.dispose()


async def test_a_days_note_is_the_wallets_money(with_fees):
    async with aiohttp.ClientSession() as session:
        trader = Client(session, with_fees.router_url)
        user_id = (await sign_up(trader, "notes"))["user"]["id"]
        await trader.execute(DEPOSIT, {"amount": "20000.00"})
        vale = await trader.until(QUOTE, {"t": "VALE3"}, lambda d: d["asset"]["quote"] is not None)
        await hold_from_before(with_fees.settings.database_url("wallet"), user_id, "VALE3", SWING, D(vale["asset"]["quote"]["price"]))
        quote = await trader.until(QUOTE, {"t": "PETR4"}, lambda d: d["asset"]["quote"] is not None)
        limit = str(cents(D(quote["asset"]["quote"]["price"]) * D("1.03")))
        buy = (await trader.execute(PLACE, {"input": {"ticker": "PETR4", "side": "BUY", "type": "LIMIT", "quantity": 100, "limitPrice": limit}}))["placeOrder"]
        await until_status(trader, buy["id"], "FILLED")
        sell = (await trader.execute(PLACE, {"input": {"ticker": "PETR4", "side": "SELL", "type": "MARKET", "quantity": 100}}))["placeOrder"]
        await until_status(trader, sell["id"], "FILLED")
        # B3's fractional market: PETR4F trades PETR4's shares, on a line of its own type.
        odd = (await trader.execute(PLACE, {"input": {"ticker": "PETR4F", "side": "BUY", "type": "MARKET", "quantity": 7}}))["placeOrder"]
        await until_status(trader, odd["id"], "FILLED")
        # The swing-trade sale, priced to fill against the book's bids.
        low = str(cents(D(vale["asset"]["quote"]["price"]) * D("0.97")))
        swing = (await trader.execute(PLACE, {"input": {"ticker": "VALE3", "side": "SELL", "type": "LIMIT", "quantity": SWING, "limitPrice": low}}))["placeOrder"]
        await until_status(trader, swing["id"], "FILLED")

        [before] = (await trader.execute(NOTES))["me"]["brokerageNotes"]
        await close_the_day(with_fees.settings, date.fromisoformat(before["tradeDate"]))
        books = (await trader.execute(BOOKS))["me"]["wallet"]
        orders = {buy["id"], sell["id"], odd["id"], swing["id"]}
        # The day's lines: its trades' and their fees (by order), and the day's end (no order,
        # no corporate event), all settling on the note's settlement date.
        entries = [
            t for t in books["transactions"]
            if t["orderId"] in orders or (t["type"] in ("FEE_ADJUSTMENT", "IRRF") and t["corporateEventId"] is None)
        ]
        [note] = (await trader.execute(NOTES))["me"]["brokerageNotes"]
        assert note == before, "the note showed the day's end before the wallet posted it"

        by_side = {t["operation"]: t for t in note["trades"]}
        assert {(t["operation"], t["ticker"], t["market"], t["type"], t["debitCredit"]) for t in note["trades"]} >= {
            ("C", "PETR4", "1-BOVESPA", "VISTA", "D"), ("V", "PETR4", "1-BOVESPA", "VISTA", "C"),
            ("C", "PETR4F", "1-BOVESPA", "FRACIONARIO", "D")}
        assert sum(t["quantity"] for t in note["trades"] if t["operation"] == "C" and t["ticker"] == "PETR4") == 100
        assert sum(t["quantity"] for t in note["trades"] if t["ticker"] == "PETR4F") == 7
        assert sum(t["quantity"] for t in note["trades"] if t["operation"] == "V" and t["ticker"] == "PETR4") == 100
        assert sum(t["quantity"] for t in note["trades"] if t["operation"] == "V" and t["ticker"] == "VALE3") == SWING
        assert set(by_side) == {"C", "V"}
        wallet_bought = -sum((D(t["amount"]) for t in entries if t["type"] == "BUY"), D("0"))
        wallet_sold = sum((D(t["amount"]) for t in entries if t["type"] == "SELL"), D("0"))
        assert (D(note["purchases"]), D(note["sales"])) == (wallet_bought, wallet_sold)

        # Each cost item is the sum of the wallet's FEE and FEE_ADJUSTMENT lines of that kind:
        # the fills' provisional fees and the day's end together are the note's final ones.
        for kind, field in FEE_FIELDS.items():
            charged = -sum((D(t["amount"]) for t in entries if t["type"] in ("FEE", "FEE_ADJUSTMENT") and t["feeKind"] == kind), D("0"))
            assert D(note[field]) == charged, kind
        adjusted = sum((D(t["amount"]) for t in entries if t["type"] == "FEE_ADJUSTMENT"), D("0"))
        # The day trade (100 PETR4 bought and sold, the PETR4F purchase left over) pays the
        # day-trade liquidação, 0.0200% for 0.0275%: money given back.
        assert adjusted > 0 and D(note["dayTradeFeeAdjustment"]) == -adjusted
        assert D(note["settlementFee"]) > 0 and D(note["tradingFee"]) >= 0
        # The dedo-duro is on the swing sale alone (the day trade is out of its base): 0.005%
        # of VALE3's sale, withheld as it is above R$ 1.00; and 1% of the day trade's
        # result when it gained. The wallet withheld both in one IRRF line.
        vale_sold = sum(D(t["value"]) for t in note["trades"] if t["operation"] == "V" and t["ticker"] == "VALE3")
        assert D(note["irrfBase"]) == vale_sold and D(note["irrf"]) == cents(vale_sold * D("0.00005")) > D("1.00")
        assert D(note["dayTradeIrrf"]) == cents(D(note["dayTradeIrrfBase"]) * D("0.01"))
        withheld = -sum((D(t["amount"]) for t in entries if t["type"] == "IRRF"), D("0"))
        assert withheld == D(note["irrf"]) + D(note["dayTradeIrrf"])

        # The net is the wallet's cash change of the day: its trade, fee and day's-end lines,
        # and its balance (the reservations are released in full once the orders are filled).
        cash_change = sum((D(t["amount"]) for t in entries if t["type"] in DAY_LINES), D("0"))
        assert signed(note["net"], note["netDebitCredit"]) == cash_change
        assert (D(books["available"]), D(books["blocked"])) == (D("20000.00") + cash_change, D("0"))
        assert {t["settlesOn"] for t in entries if t["type"] in DAY_LINES} == {note["settlementDate"]}

        one = (await trader.execute(NOTE, {"d": note["tradeDate"]}))["me"]["brokerageNote"]
        assert one["number"] == note["number"] and {t["ticker"] for t in one["trades"]} == {"PETR4", "PETR4F", "VALE3"}
        pdf = base64.b64decode(one["pdfBase64"])
        assert pdf.startswith(b"%PDF")
        text = pdf_text(pdf)
        assert note["number"].encode() in text and b"PETR4" in text

        # Someone else has no note that day, and cannot read this trader's.
        other = Client(session, with_fees.router_url)
        await sign_up(other, "nobody")
        assert (await other.execute(NOTE, {"d": note["tradeDate"]}))["me"]["brokerageNote"] is None
        too_long = 'query { me { brokerageNotes(from: "2024-01-01", to: "2025-12-31") { number } } }'
        assert await other.error_code(too_long) == "BAD_USER_INPUT"
