"""The brokerage note through the router, with the product's default fees on: a trader buys
and sells PETR4 on one day (and buys 7 on the fractional market); the day's note lists both trades, its costs are the wallet's FEE
lines for those orders item by item, its net is the wallet's cash change, it settles when
the wallet's lines do, and its PDF carries the note's number and ticker."""
from __future__ import annotations

import base64
import re
import zlib
from decimal import Decimal

import aiohttp
import pytest
import pytest_asyncio

from mybroker.money import cents
from tests.conftest import Client, own_platform, platform_settings
from tests.e2e.test_trader_story import DEPOSIT, PLACE, QUOTE, sign_up, until_status

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

D = Decimal
BOOKS = """{ me { wallet { available blocked transactions(first: 100) { type amount orderId feeKind settlesOn } } } }"""
NOTE_FIELDS = """number tradeDate settlementDate trades { operation market type ticker quantity price value debitCredit }
  sales purchases totalTraded operationsNet operationsNetDebitCredit settlementFee tradingFee brokerage iss irrfBase irrf
  net netDebitCredit"""
NOTES = "{ me { brokerageNotes { %s } } }" % NOTE_FIELDS
NOTE = "query($d: Date!) { me { brokerageNote(date: $d) { number trades { ticker } pdfBase64 } } }"
FEE_FIELDS = {"EMOLUMENTOS": "tradingFee", "LIQUIDACAO": "settlementFee", "CORRETAGEM": "brokerage", "ISS": "iss"}


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


async def test_a_days_note_is_the_wallets_money(with_fees):
    async with aiohttp.ClientSession() as session:
        trader = Client(session, with_fees.router_url)
        await sign_up(trader, "notes")
        await trader.execute(DEPOSIT, {"amount": "20000.00"})
        quote = await trader.until(QUOTE, {"t": "PETR4"}, lambda d: d["asset"]["quote"] is not None)
        limit = str(cents(D(quote["asset"]["quote"]["price"]) * D("1.03")))
        buy = (await trader.execute(PLACE, {"input": {"ticker": "PETR4", "side": "BUY", "type": "LIMIT", "quantity": 100, "limitPrice": limit}}))["placeOrder"]
        await until_status(trader, buy["id"], "FILLED")
        sell = (await trader.execute(PLACE, {"input": {"ticker": "PETR4", "side": "SELL", "type": "MARKET", "quantity": 100}}))["placeOrder"]
        await until_status(trader, sell["id"], "FILLED")
        # B3's fractional market: PETR4F trades PETR4's shares, on a line of its own type.
        odd = (await trader.execute(PLACE, {"input": {"ticker": "PETR4F", "side": "BUY", "type": "MARKET", "quantity": 7}}))["placeOrder"]
        await until_status(trader, odd["id"], "FILLED")

        books = (await trader.execute(BOOKS))["me"]["wallet"]
        orders = {buy["id"], sell["id"], odd["id"]}
        entries = [t for t in books["transactions"] if t["orderId"] in orders]
        [note] = (await trader.execute(NOTES))["me"]["brokerageNotes"]

        by_side = {t["operation"]: t for t in note["trades"]}
        assert {(t["operation"], t["ticker"], t["market"], t["type"], t["debitCredit"]) for t in note["trades"]} >= {
            ("C", "PETR4", "1-BOVESPA", "VISTA", "D"), ("V", "PETR4", "1-BOVESPA", "VISTA", "C"),
            ("C", "PETR4F", "1-BOVESPA", "FRACIONARIO", "D")}
        assert sum(t["quantity"] for t in note["trades"] if t["operation"] == "C" and t["ticker"] == "PETR4") == 100
        assert sum(t["quantity"] for t in note["trades"] if t["ticker"] == "PETR4F") == 7
        assert sum(t["quantity"] for t in note["trades"] if t["operation"] == "V") == 100
        assert set(by_side) == {"C", "V"}
        wallet_bought = -sum((D(t["amount"]) for t in entries if t["type"] == "BUY"), D("0"))
        wallet_sold = sum((D(t["amount"]) for t in entries if t["type"] == "SELL"), D("0"))
        assert (D(note["purchases"]), D(note["sales"])) == (wallet_bought, wallet_sold)

        # Each cost item is the sum of the wallet's FEE lines of that kind for the two orders.
        for kind, field in FEE_FIELDS.items():
            charged = -sum((D(t["amount"]) for t in entries if t["type"] == "FEE" and t["feeKind"] == kind), D("0"))
            assert D(note[field]) == charged, kind
        assert D(note["settlementFee"]) > 0 and D(note["tradingFee"]) >= 0
        # A buy and a sale of the same asset on one day is a day trade: no dedo-duro.
        assert (note["irrfBase"], note["irrf"]) == ("0.00", "0.00")

        # The net is the wallet's cash change: its trade and fee lines, and its balance (the
        # reservations are released in full once both orders are filled).
        cash_change = sum((D(t["amount"]) for t in entries if t["type"] in ("BUY", "SELL", "FEE")), D("0"))
        assert signed(note["net"], note["netDebitCredit"]) == cash_change
        assert (D(books["available"]), D(books["blocked"])) == (D("20000.00") + cash_change, D("0"))
        assert {t["settlesOn"] for t in entries if t["type"] in ("BUY", "SELL", "FEE")} == {note["settlementDate"]}

        one = (await trader.execute(NOTE, {"d": note["tradeDate"]}))["me"]["brokerageNote"]
        assert one["number"] == note["number"] and {t["ticker"] for t in one["trades"]} == {"PETR4", "PETR4F"}
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
