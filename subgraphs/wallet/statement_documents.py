"""The monthly statement as files, in Brazilian Portuguese: a CSV as Brazilian spreadsheets
open it (";" between fields, decimal comma, dates dd/mm/yyyy, UTF-8 with a BOM so Excel
reads the accents), and a PDF laid out like a broker's extrato (fpdf2, as the brokerage
note: its core Helvetica covers Latin-1, so Portuguese needs no embedded font)."""
from __future__ import annotations

import csv
import io
from datetime import date

from fpdf import FPDF

from mybroker.calendar import BRASILIA
from subgraphs.wallet.statement import Statement, StatementLine, brl, signed_brl

BROKER = "My Broker B3"
CSV_COLUMNS = ("Data", "Liquidação", "Tipo", "Descrição", "Ativo", "Quantidade", "Preço", "Valor", "Saldo", "Ordem")
MONTHS = ("janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro",
          "novembro", "dezembro")


def statement_filename(statement: Statement, extension: str) -> str:
    return f"extrato-{statement.month}.{extension}"


def _day(value: date | None) -> str:
    return "" if value is None else f"{value:%d/%m/%Y}"


def posted_day(line: StatementLine) -> date:
    """The line's day in Brasília, as the month is counted."""
    return line.entry.created_at.astimezone(BRASILIA).date()


def statement_csv(statement: Statement) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    month = statement.month
    writer.writerow((_day(month.first_day), "", "SALDO_ANTERIOR", "Saldo anterior", "", "", "", "", signed_brl(statement.opening_balance), ""))
    for line in statement.lines:
        entry = line.entry
        writer.writerow((
            _day(posted_day(line)),
            _day(entry.settles_on),
            line.kind,
            line.description,
            entry.ticker or "",
            "" if entry.quantity is None else str(entry.quantity),
            "" if entry.price is None else brl(entry.price),
            signed_brl(entry.amount),
            signed_brl(line.balance),
            entry.order_id or "",
        ))
    writer.writerow((_day(month.last_day), "", "SALDO_FINAL", "Saldo final", "", "", "", "", signed_brl(statement.closing_balance), ""))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


LINE_COLUMNS = (("Data", 20), ("Liquidação", 20), ("Lançamento", 90), ("Valor (R$)", 30), ("Saldo (R$)", 30))


def statement_pdf(statement: Statement, compress: bool = True) -> bytes:
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.compress = compress
    month = statement.month
    pdf.set_title(f"Extrato {month}")
    pdf.set_author(BROKER)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(120, 8, "EXTRATO DE CONTA")
    pdf.set_font("Helvetica", "", 9)
    pdf.cell(0, 8, f"{MONTHS[month.month - 1]} de {month.year}", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(120, 5, f"{BROKER} - corretora simulada")
    pdf.cell(0, 5, f"Período: {_day(month.first_day)} a {_day(month.last_day)}", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 5, f"Cliente: {statement.user_id}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    _header_row(pdf)
    pdf.set_font("Helvetica", "B", 8)
    _row(pdf, (_day(month.first_day), "", "Saldo anterior", "", signed_brl(statement.opening_balance)))
    pdf.set_font("Helvetica", "", 8)
    for line in statement.lines:
        if pdf.will_page_break(5):
            pdf.add_page()
            _header_row(pdf)
            pdf.set_font("Helvetica", "", 8)
        entry = line.entry
        _row(pdf, (_day(posted_day(line)), _day(entry.settles_on), line.description, signed_brl(entry.amount), signed_brl(line.balance)))
    pdf.set_font("Helvetica", "B", 8)
    _row(pdf, (_day(month.last_day), "", "Saldo final", "", signed_brl(statement.closing_balance)))
    pdf.ln(4)
    pdf.set_font("Helvetica", "", 8)
    pdf.cell(0, 5, f"Créditos no mês: R$ {brl(statement.credits)}    Débitos no mês: R$ {brl(statement.debits)}",
             new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 5, "Saldo: dinheiro em conta, a liquidar incluído (cada negócio liquida na B3 na data indicada, D+2).",
             new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _header_row(pdf: FPDF) -> None:
    pdf.set_font("Helvetica", "B", 8)
    for title, width in LINE_COLUMNS:
        pdf.cell(width, 5, title, border=1, align="C")
    pdf.ln()


def _row(pdf: FPDF, cells: tuple[str, str, str, str, str]) -> None:
    for (_, width), text, align in zip(LINE_COLUMNS, cells, "CCLRR"):
        pdf.cell(width, 5, text, border=1, align={"C": "C", "L": "L", "R": "R"}[align])
    pdf.ln()
