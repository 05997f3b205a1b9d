"""Brokerage notes through the reports subgraph's schema, as the router asks for them (a
User entity fetch), on the fills the projection records."""
from __future__ import annotations

import base64
from datetime import date, datetime, timezone
from decimal import Decimal

from mybroker.auth import Caller
from mybroker.fees import FeeSchedule
from mybroker.graphql import GraphQLContext, format_error
from mybroker.trading import OrderSide
from subgraphs.reports.domain import Fill
from subgraphs.reports.note_pdf import brl, note_pdf
from subgraphs.reports.notes import brokerage_note, fill_costs
from subgraphs.reports.schema import schema

NOTE_FIELDS = """number tradeDate settlementDate trades { operation market type ticker quantity price value debitCredit }
  sales purchases totalTraded operationsNet operationsNetDebitCredit settlementFee tradingFee brokerage iss irrfBase irrf
  net netDebitCredit"""
NOTES = "query($r: [_Any!]!, $from: Date, $to: Date) { _entities(representations: $r) { ... on User { brokerageNotes(from: $from, to: $to) { %s } } } }" % NOTE_FIELDS
NOTE = "query($r: [_Any!]!, $d: Date!) { _entities(representations: $r) { ... on User { brokerageNote(date: $d) { %s pdfBase64 } } } }" % NOTE_FIELDS


async def ask(env, query: str, user: str = "u-1", caller: str | None = None, **variables):
    result = await schema.execute(
        query,
        variable_values={"r": [{"__typename": "User", "id": user}], **variables},
        context_value=GraphQLContext(Caller(caller or user), env.service),
    )
    if result.errors:
        return None, [format_error(e)["extensions"]["code"] for e in result.errors]
    return result.data["_entities"][0], []


async def fill_at(env, user, ticker, side, quantity, price, when, order_id):
    await env.fill(user, ticker, side, quantity, price, order_id=order_id)
    # conftest's fills happen at 2025-03-10T13:00Z; move this one to `when`.
    from sqlalchemy import update

    from subgraphs.reports.tables import fills

    async with env.db.transaction() as tx:
        await tx.session.execute(update(fills).where(fills.c.order_id == order_id).values(executed_at=when))


async def test_one_note_per_trading_day_newest_first_settling_across_carnival(env):
    env.service.fees = FeeSchedule()
    # Friday 28/02/2025: D+2 skips Carnival (3 and 4 March) and counts Ash Wednesday: 06/03.
    await fill_at(env, "u-1", "PETR4", "BUY", 100, "10.00", datetime(2025, 2, 28, 14, 0, tzinfo=timezone.utc), "o-1")
    await env.fill("u-1", "PETR4F", "SELL", 7, "11.00", order_id="o-2")  # Monday 10/03/2025
    await env.fill("u-2", "VALE3", "BUY", 100, "70.00", order_id="o-3")  # someone else's
    found, errors = await ask(env, NOTES, **{"from": "2025-02-01", "to": "2025-03-31"})
    assert not errors
    notes = found["brokerageNotes"]
    assert [(n["tradeDate"], n["settlementDate"]) for n in notes] == [("2025-03-10", "2025-03-12"), ("2025-02-28", "2025-03-06")]
    latest, first = notes
    assert latest["trades"] == [
        {"operation": "V", "market": "1-BOVESPA", "type": "FRACIONARIO", "ticker": "PETR4F", "quantity": 7, "price": "11.00", "value": "77.00", "debitCredit": "C"}
    ]
    # 77.00: liquidação 0.021175 -> 0.02, emolumentos 0.0028182 -> 0.00; net 76.98 C
    assert (latest["settlementFee"], latest["tradingFee"], latest["net"], latest["netDebitCredit"]) == ("0.02", "0.00", "76.98", "C")
    # 1000.00: liquidação 0.275 -> 0.28, emolumentos 0.0366 -> 0.04; net 1000.32 D
    assert (first["purchases"], first["operationsNet"], first["operationsNetDebitCredit"]) == ("1000.00", "1000.00", "D")
    assert (first["net"], first["netDebitCredit"]) == ("1000.32", "D")
    # A range that leaves the February day out.
    found, _ = await ask(env, NOTES, **{"from": "2025-03-01", "to": "2025-03-10"})
    assert [n["tradeDate"] for n in found["brokerageNotes"]] == ["2025-03-10"]


async def test_one_days_note_and_its_pdf(env):
    await env.fill("u-1", "PETR4", "BUY", 100, "31.45", order_id="o-1")
    found, errors = await ask(env, NOTE, d="2025-03-10")
    assert not errors
    note = found["brokerageNote"]
    pdf = base64.b64decode(note["pdfBase64"])
    assert pdf.startswith(b"%PDF")
    assert (await ask(env, NOTE, d="2025-03-11"))[0] == {"brokerageNote": None}


async def test_a_year_at_most_and_only_ones_own(env):
    assert (await ask(env, NOTES, **{"from": "2025-01-01", "to": "2026-01-02"}))[1] == ["BAD_USER_INPUT"]  # 367 days
    assert (await ask(env, NOTES, **{"from": "2024-01-01", "to": "2024-12-31"}))[1] == []  # 366 days, a leap year
    assert (await ask(env, NOTES, **{"from": "2025-01-01", "to": "2026-01-01"}))[1] == []  # 366 days
    assert (await ask(env, NOTES, **{"from": "2025-03-02", "to": "2025-03-01"}))[1] == ["BAD_USER_INPUT"]
    assert (await ask(env, NOTES, to="0001-01-01"))[0] == {"brokerageNotes": []}  # the first day there is: no overflow
    assert (await ask(env, NOTES, to="9999-12-31"))[1] == []
    assert (await ask(env, NOTES, user="u-1", caller="u-2"))[1] == ["FORBIDDEN"]
    assert (await ask(env, NOTE, user="u-1", caller="u-2", d="2025-03-10"))[1] == ["FORBIDDEN"]


def test_the_pdf_reads_as_a_nota_in_portuguese():
    fills = [
        Fill("x-1", "o-1", "u-1", "PETR4", OrderSide.BUY, 100, Decimal("31.45"), datetime(2025, 3, 10, 13, tzinfo=timezone.utc)),
        Fill("x-2", "o-2", "u-1", "VALE3", OrderSide.SELL, 300, Decimal("70.00"), datetime(2025, 3, 10, 14, tzinfo=timezone.utc)),
    ]
    note = brokerage_note("u-1", date(2025, 3, 10), date(2025, 3, 12), fills, fill_costs(fills, FeeSchedule()), FeeSchedule())
    pdf = note_pdf(note, compress=False)
    assert pdf.startswith(b"%PDF")
    text = pdf.decode("latin-1")
    for expected in (note.number, "PETR4", "VALE3", "My Broker B3", "NOTA DE CORRETAGEM", "10/03/2025", "12/03/2025",
                     "Vendas à vista", "Compras à vista", "Taxa de liquidação", "Emolumentos", "Líquido para 12/03/2025",
                     "21.000,00", "3.145,00", "1-BOVESPA"):
        assert expected in text, expected


def test_brazilian_money():
    assert (brl(Decimal("1234567.5")), brl(Decimal("-0.05")), brl(Decimal("0"))) == ("1.234.567,50", "0,05", "0,00")


async def test_by_default_the_year_to_todays_trading_day(env):
    # 18:30 in Brasília on Monday 10/03/2025 is past the day's rollover: Tuesday's session.
    late = datetime(2025, 3, 10, 21, 30, tzinfo=timezone.utc)
    env.service.clock = lambda: late
    await fill_at(env, "u-1", "PETR4", "BUY", 100, "10.00", late, "o-1")
    await fill_at(env, "u-1", "PETR4", "BUY", 100, "10.00", datetime(2024, 3, 12, 14, tzinfo=timezone.utc), "o-2")  # 364 days before
    await fill_at(env, "u-1", "PETR4", "BUY", 100, "10.00", datetime(2024, 3, 8, 14, tzinfo=timezone.utc), "o-3")  # out of the year
    found, errors = await ask(env, NOTES)
    assert not errors
    assert [n["tradeDate"] for n in found["brokerageNotes"]] == ["2025-03-11", "2024-03-12"]
