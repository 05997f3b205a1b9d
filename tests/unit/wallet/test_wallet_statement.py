"""The monthly statement (extrato): its arithmetic and descriptions on hand-made entries, its
CSV and PDF read back, and the service on a real database (months in Brasília, a clock)."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone
from decimal import Decimal
from enum import Enum

import pytest
from hypothesis import given, strategies as st
from pypdf import PdfReader

from mybroker.auth import Caller
from mybroker.calendar import BRASILIA
from mybroker.db import Database
from mybroker.errors import DomainError, ErrorCode
from mybroker.fees import FeeKind
from subgraphs.wallet.domain import PostedEntry, TransactionType
from subgraphs.wallet.service import Fill, WalletService
from subgraphs.wallet.statement import Month, describe, statement
from subgraphs.wallet.statement_documents import statement_csv, statement_pdf
from subgraphs.wallet.tables import metadata

D = Decimal
T = TransactionType
AT = datetime(2026, 12, 7, 15, 0, tzinfo=timezone.utc)


def entry(kind, amount: str, **fields) -> PostedEntry:
    return PostedEntry(fields.pop("id", f"e-{kind}-{amount}"), kind, D(amount), fields.pop("order_id", None), fields.pop("at", AT), **fields)


BUY = entry(T.BUY, "-3145.00", order_id="o1", ticker="PETR4", quantity=100, price=D("31.45"), settles_on=date(2026, 12, 9))
MONTH_ENTRIES = [
    entry(T.DEPOSIT, "10000.00"),
    entry(T.RESERVE, "-3200.00", order_id="o1", ticker="PETR4"),
    entry(T.RELEASE, "3200.00", order_id="o1", ticker="PETR4"),
    BUY,
    entry(T.FEE, "-0.79", order_id="o1", ticker="PETR4", fee_kind=FeeKind.LIQUIDACAO, settles_on=date(2026, 12, 9)),
    entry(T.FEE, "-0.16", order_id="o1", ticker="PETR4", fee_kind=FeeKind.EMOLUMENTOS, settles_on=date(2026, 12, 9)),
    entry(T.SELL, "1600.00", order_id="o2", ticker="PETR4", quantity=50, price=D("32.00"), settles_on=date(2026, 12, 9)),
    entry(T.WITHDRAWAL, "-500.00"),
]


def test_each_line_carries_the_balance_after_it_and_blocks_are_not_lines():
    found = statement("ana", Month(2026, 12), D("250.00"), MONTH_ENTRIES)
    assert [line.kind for line in found.lines] == ["DEPOSIT", "BUY", "FEE", "FEE", "SELL", "WITHDRAWAL"]
    assert [line.balance for line in found.lines] == [
        D("10250.00"), D("7105.00"), D("7104.21"), D("7104.05"), D("8704.05"), D("8204.05")]
    assert (found.opening_balance, found.closing_balance) == (D("250.00"), D("8204.05"))
    # The month's credits less its debits is the change from opening to closing.
    assert (found.credits, found.debits) == (D("11600.00"), D("3645.95"))
    assert found.opening_balance + found.credits - found.debits == found.closing_balance


def test_an_empty_month_closes_where_it_opened():
    found = statement("ana", Month(2026, 11), D("99.90"), [entry(T.RESERVE, "-10.00"), entry(T.RELEASE, "10.00")])
    assert found.lines == () and found.closing_balance == D("99.90") and (found.credits, found.debits) == (0, 0)


def test_lines_read_as_a_statement_prints_them():
    assert describe(BUY) == "Compra PETR4 100 @ 31,45"
    assert describe(entry(T.SELL, "1234567.50", ticker="VALE3", quantity=25000, price=D("49.38"))) == "Venda VALE3 25000 @ 49,38"
    assert describe(MONTH_ENTRIES[4]) == "Taxa de liquidação PETR4"
    assert describe(entry(T.FEE, "-1.00", ticker="PETR4", fee_kind=FeeKind.CORRETAGEM)) == "Corretagem PETR4"
    assert describe(entry(T.DEPOSIT, "1.00")) == "Depósito"
    assert describe(entry(T.WITHDRAWAL, "-1.00")) == "Saque"


class LaterKinds(str, Enum):
    """Kinds the ledger may learn after this module (corporate events): `describe` reads
    only `.value`, so a stand-in enum is what the ledger's would be."""

    DIVIDEND = "DIVIDEND"
    STOCK_LENDING_FEE = "STOCK_LENDING_FEE"


def test_a_kind_the_ledger_learns_later_is_a_line_described_by_its_name():
    dividend = entry(LaterKinds.DIVIDEND, "42.00", ticker="ITUB4", quantity=300)
    lending = entry(LaterKinds.STOCK_LENDING_FEE, "-3.10", ticker="ITUB4")
    assert describe(dividend) == "Dividendos ITUB4 300"
    assert describe(lending) == "Stock lending fee ITUB4"
    found = statement("ana", Month(2026, 12), D("0.00"), [dividend, lending])
    assert [line.balance for line in found.lines] == [D("42.00"), D("38.90")]


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "26-12", "2026/12", "december", "2026-1", "1999-12", "２０２６-12"])
def test_a_month_not_of_the_form_yyyy_mm_is_bad_user_input(text):
    with pytest.raises(DomainError) as refused:
        Month.parse(text)
    assert refused.value.code is ErrorCode.BAD_USER_INPUT


def test_a_month_is_counted_in_brasilia():
    start, end = Month(2026, 12).bounds(BRASILIA)
    assert (start, end) == (datetime(2026, 12, 1, 3, tzinfo=timezone.utc), datetime(2027, 1, 1, 3, tzinfo=timezone.utc))
    assert (Month(2026, 2).last_day, Month(2028, 2).last_day, Month(2026, 12).next) == (date(2026, 2, 28), date(2028, 2, 29), Month(2027, 1))


def test_the_csv_is_what_a_brazilian_spreadsheet_opens():
    raw = statement_csv(statement("ana", Month(2026, 12), D("250.00"), MONTH_ENTRIES))
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Data", "Liquidação", "Tipo", "Descrição", "Ativo", "Quantidade", "Preço", "Valor", "Saldo", "Ordem"]
    assert rows[1][2:4] == ["SALDO_ANTERIOR", "Saldo anterior"] and rows[1][8] == "250,00"
    assert rows[3] == ["07/12/2026", "09/12/2026", "BUY", "Compra PETR4 100 @ 31,45", "PETR4", "100", "31,45", "-3.145,00", "7.105,00", "o1"]
    assert rows[-1][2:4] == ["SALDO_FINAL", "Saldo final"] and rows[-1][8] == "8.204,05"
    assert len(rows) == 2 + 6 + 1


def test_the_pdf_reads_back_in_portuguese():
    pdf = statement_pdf(statement("ana", Month(2026, 12), D("250.00"), MONTH_ENTRIES))
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for expected in ("EXTRATO DE CONTA", "dezembro de 2026", "Saldo anterior", "Compra PETR4 100 @ 31,45",
                     "Taxa de liquidação PETR4", "Saque", "Saldo final", "8.204,05", "01/12/2026 a 31/12/2026"):
        assert expected in text, expected


def test_a_long_month_breaks_into_pages_with_every_line():
    many = [entry(T.DEPOSIT, "1.00", id=f"d{i}") for i in range(120)]
    pdf = statement_pdf(statement("ana", Month(2026, 12), D("0.00"), many))
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 3
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert text.count("Depósito") == 120 and "120,00" in text


# ------------------------------------------------------------ the service, on a database


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def service(tmp_path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'wallet.db'}", metadata)
    await db.create_schema()
    clock = Clock(datetime(2026, 11, 30, 12, tzinfo=timezone.utc))
    yield WalletService(db, clock=clock), clock
    await db.dispose()


async def test_the_months_of_a_wallet_chain_balance_to_balance(service):
    wallet, clock = service
    ana = Caller("ana")
    await wallet.deposit(ana, D("1000.00"))
    # 23:30 on 30 November in Brasília is 02:30 on 1 December in UTC: still November's.
    clock.now = datetime(2026, 12, 1, 2, 30, tzinfo=timezone.utc)
    await wallet.deposit(ana, D("5000.00"))
    clock.now = datetime(2026, 12, 2, 14, tzinfo=timezone.utc)
    await wallet.reserve("o1", "ana", "BUY", "PETR4", 100, D("31.50"))
    await wallet.settle("o1", Fill("x1", 100, D("31.45")), closed=True)
    await wallet.withdraw(ana, D("100.00"))

    november = await wallet.statement(ana, "ana", "2026-11")
    december = await wallet.statement(ana, "ana", "2026-12")
    assert [line.kind for line in november.lines] == ["DEPOSIT", "DEPOSIT"]
    assert november.closing_balance == december.opening_balance == D("6000.00")
    assert [(line.kind, line.description, line.balance) for line in december.lines] == [
        ("BUY", "Compra PETR4 100 @ 31,45", D("2855.00")), ("WITHDRAWAL", "Saque", D("2755.00"))]
    now = await wallet.wallet(ana, "ana")
    assert december.closing_balance == now.available + now.blocked
    assert (await wallet.statement(ana, "ana", "2026-10")).lines == ()


async def test_a_month_not_begun_is_refused_and_nobody_reads_anothers_statement(service):
    wallet, _ = service
    with pytest.raises(DomainError) as future:
        await wallet.statement(Caller("ana"), "ana", "2026-12")
    assert future.value.code is ErrorCode.BAD_USER_INPUT and "2026-11" in future.value.message
    with pytest.raises(DomainError) as other:
        await wallet.statement(Caller("bob"), "ana", "2026-11")
    assert other.value.code is ErrorCode.FORBIDDEN
    with pytest.raises(DomainError) as anonymous:
        await wallet.statement(Caller(), "ana", "2026-11")
    assert anonymous.value.code is ErrorCode.UNAUTHENTICATED


async def test_a_document_is_the_callers_statement_as_the_format_asks(service):
    wallet, _ = service
    ana = Caller("ana")
    await wallet.deposit(ana, D("10.00"))
    found = await wallet.document(ana, "statement", "csv", {"month": "2026-11"})
    assert found is not None and found.filename == "extrato-2026-11.csv" and found.media_type.startswith("text/csv")
    assert "Depósito" in found.content.decode("utf-8-sig")
    assert await wallet.document(ana, "statement", "xlsx", {"month": "2026-11"}) is None
    assert await wallet.document(ana, "portfolio", "csv", {}) is None
    with pytest.raises(DomainError):
        await wallet.document(ana, "statement", "pdf", {"month": "no"})


# ------------------------------------------------------------ the arithmetic, for any ledger

amounts = st.integers(min_value=-10**9, max_value=10**9).map(lambda cents: D(cents).scaleb(-2))
entries = st.lists(st.tuples(st.sampled_from(list(T)), amounts).map(lambda pair: entry(pair[0], str(pair[1]))), max_size=40)


@given(opening=amounts, posted=entries)
def test_any_months_balances_chain_from_opening_to_closing(opening, posted):
    found = statement("ana", Month(2026, 12), opening, posted)
    moving = [e for e in posted if e.type not in (T.RESERVE, T.RELEASE)]
    assert [line.entry for line in found.lines] == moving
    before = opening
    for line in found.lines:
        assert line.balance == before + line.entry.amount
        before = line.balance
    assert found.closing_balance == opening + sum((e.amount for e in moving), D("0.00"))
    assert found.credits - found.debits == found.closing_balance - opening and found.credits >= 0 and found.debits >= 0
