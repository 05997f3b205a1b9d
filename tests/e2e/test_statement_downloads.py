"""The monthly statement and the downloads through the router, with the product's default
fees on: a trader deposits, buys and sells PETR4 and withdraws; the month's statement lists
each of those lines (fees itemised) with a running balance that ends at the wallet's cash;
its CSV and PDF, and the day's brokerage note as CSV and PDF, come through the router's
short-lived links; another user's credentials on the link, a tampered link, an expired one
and one of a session that signed out are refused with a plain sentence."""
from __future__ import annotations

import asyncio
import csv
import io
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import aiohttp
import pytest
import pytest_asyncio
from pypdf import PdfReader

from mybroker.auth import Caller
from mybroker.calendar import BRASILIA
from mybroker.download_links import DownloadLinks
from mybroker.money import cents
from tests.conftest import Client, own_platform, platform_settings
from tests.e2e.test_trader_story import DEPOSIT, PLACE, QUOTE, WITHDRAW, sign_up, until_status

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

D = Decimal
STATEMENT = """query($m: String!) { me { id wallet { available blocked statement(month: $m) {
  month firstDay lastDay openingBalance closingBalance credits debits csvUrl pdfUrl
  lines { id kind description postedAt date ticker quantity price amount balance settlesOn orderId feeKind } } } } }"""
NOTES = "{ me { brokerageNotes { number tradeDate csvUrl pdfUrl } } }"
LOGOUT = "mutation($t: String!) { logout(refreshToken: $t) }"


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def with_fees(tmp_path_factory):
    settings = platform_settings(tmp_path_factory.mktemp("statement"))
    assert settings.fees
    async with own_platform(settings) as running:
        yield running


def this_month() -> str:
    return datetime.now(timezone.utc).astimezone(BRASILIA).strftime("%Y-%m")


def brl(amount: Decimal) -> str:
    return ("-" if amount < 0 else "") + f"{abs(amount):,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


async def download(http: aiohttp.ClientSession, base: str, link: str, token: str | None = None) -> tuple[int, str, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.get(base + link, headers=headers) as response:
        return response.status, response.headers.get("content-type", ""), await response.read()


async def test_a_traders_month_and_its_downloads(with_fees):
    base = with_fees.router_url.removesuffix("/graphql")
    async with aiohttp.ClientSession() as http:
        trader = Client(http, with_fees.router_url)
        session = await sign_up(trader, "extrato")
        month = this_month()
        await trader.execute(DEPOSIT, {"amount": "20000.00"})
        quote = await trader.until(QUOTE, {"t": "PETR4"}, lambda d: d["asset"]["quote"] is not None)
        limit = str(cents(D(quote["asset"]["quote"]["price"]) * D("1.03")))
        buy = (await trader.execute(PLACE, {"input": {"ticker": "PETR4", "side": "BUY", "type": "LIMIT", "quantity": 100, "limitPrice": limit}}))["placeOrder"]
        await until_status(trader, buy["id"], "FILLED")
        sell = (await trader.execute(PLACE, {"input": {"ticker": "PETR4", "side": "SELL", "type": "MARKET", "quantity": 100}}))["placeOrder"]
        await until_status(trader, sell["id"], "FILLED")
        await trader.execute(WITHDRAW, {"amount": "150.00"})

        data = (await trader.execute(STATEMENT, {"m": month}))["me"]
        wallet, user_id = data["wallet"], data["id"]
        found = wallet["statement"]
        lines = found["lines"]
        assert found["month"] == month and found["openingBalance"] == "0.00"
        kinds = [line["kind"] for line in lines]
        assert kinds[0] == "DEPOSIT" and kinds[-1] == "WITHDRAWAL" and {"BUY", "SELL", "FEE"} <= set(kinds)
        assert "RESERVE" not in kinds and "RELEASE" not in kinds
        # The running balance: each line's is the one before plus its amount, ending at the
        # wallet's cash (available + blocked, nothing blocked once both orders are done).
        balance = D(found["openingBalance"])
        for line in lines:
            balance += D(line["amount"])
            assert D(line["balance"]) == balance, line
        assert D(found["closingBalance"]) == balance == D(wallet["available"]) + D(wallet["blocked"])
        assert D(found["credits"]) - D(found["debits"]) == balance
        trades = [line for line in lines if line["kind"] in ("BUY", "SELL")]
        assert sum(line["quantity"] for line in trades if line["kind"] == "BUY") == 100
        for line in trades:
            assert line["ticker"] == "PETR4" and line["orderId"] in (buy["id"], sell["id"]) and line["settlesOn"]
            assert abs(D(line["amount"])) == D(line["price"]) * line["quantity"]
            verb = "Compra" if line["kind"] == "BUY" else "Venda"
            assert line["description"] == f"{verb} PETR4 {line['quantity']} @ {brl(D(line['price']))}"
        fees = [line for line in lines if line["kind"] == "FEE"]
        assert fees and all(line["feeKind"] and line["ticker"] == "PETR4" and D(line["amount"]) < 0 for line in fees)
        assert lines[-1]["description"] == "Saque" and lines[-1]["amount"] == "-150.00"

        # The CSV and the PDF through the router: the link alone is enough (a browser sends no token).
        status, media, raw = await download(http, base, found["csvUrl"])
        assert status == 200 and media.startswith("text/csv")
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
        assert rows[-1][3] == "Saldo final" and rows[-1][8] == brl(balance)
        assert [row[2] for row in rows[2:-1]] == kinds
        status, media, raw = await download(http, base, found["pdfUrl"], trader.token)  # its owner's credentials too
        assert status == 200 and media == "application/pdf"
        text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(raw)).pages)
        assert "EXTRATO DE CONTA" in text and "Saldo final" in text and brl(balance) in text and trades[0]["description"] in text

        # The day's brokerage note, both ways.
        [note] = (await trader.execute(NOTES))["me"]["brokerageNotes"]
        status, media, raw = await download(http, base, note["csvUrl"])
        assert status == 200 and media.startswith("text/csv")
        assert note["number"] in raw.decode("utf-8-sig") and "PETR4" in raw.decode("utf-8-sig")
        status, media, raw = await download(http, base, note["pdfUrl"])
        assert status == 200 and raw.startswith(b"%PDF") and note["number"] in PdfReader(io.BytesIO(raw)).pages[0].extract_text()

        # Someone else, signed in, following the trader's link: refused, in a sentence.
        other = Client(http, with_fees.router_url)
        await sign_up(other, "bisbilhoteiro")
        status, media, raw = await download(http, base, found["csvUrl"], other.token)
        assert status == 403 and media.startswith("text/plain") and "outro usuário" in raw.decode()
        # Their own statement of the month is their own, empty.
        theirs = (await other.execute(STATEMENT, {"m": month}))["me"]["wallet"]["statement"]
        assert theirs["lines"] == [] and theirs["closingBalance"] == "0.00"

        # A link tampered with (another month, the signature kept) and an expired one.
        token = found["csvUrl"].removeprefix("/downloads/")
        header, payload, signature = token.split(".")
        flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
        status, _, raw = await download(http, base, f"/downloads/{header}.{flipped}.{signature}")
        assert status == 403 and "não é válido" in raw.decode()
        an_hour_ago = datetime.now(timezone.utc) - timedelta(hours=1)
        expired = DownloadLinks(with_fees.settings.internal_secret, "wallet", clock=lambda: an_hour_ago).link(
            Caller(user_id), "statement", "csv", {"month": month})
        status, _, raw = await download(http, base, expired)
        assert status == 410 and "expirou" in raw.decode()

        # A month not begun, or not a month, is the API's BAD_USER_INPUT.
        assert await trader.error_code(STATEMENT, {"m": "2999-01"}) == "BAD_USER_INPUT"
        _, refused = await trader.post(STATEMENT, {"m": "dezembro"})
        assert refused["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT" and "YYYY-MM" in refused["errors"][0]["message"]
        # Only the statement is nulled, not the wallet around it.
        assert refused["data"]["me"]["wallet"]["statement"] is None and refused["data"]["me"]["wallet"]["available"] == wallet["available"]

        # Signing out ends the session's links, once the router's copy of the revocations
        # has caught up (it refetches at most a second old).
        link = (await trader.execute(STATEMENT, {"m": month}))["me"]["wallet"]["statement"]["pdfUrl"]
        assert (await download(http, base, link))[0] == 200
        assert (await trader.execute(LOGOUT, {"t": session["refreshToken"]})) == {"logout": True}
        deadline = asyncio.get_running_loop().time() + 10
        while (answer := await download(http, base, link))[0] == 200:
            assert asyncio.get_running_loop().time() < deadline, "a signed-out session's link still downloads"
            await asyncio.sleep(0.05)
        assert answer[0] == 403 and "encerrada" in answer[2].decode()

