"""A brokerage note as a PDF in Brazilian Portuguese, laid out like the SINACOR notes B3's
brokers issue: the header (broker, client, note number, dates), the trades table ("Negócios
realizados"), then the summary of business and the financial summary side by side.

fpdf2's core Helvetica covers Latin-1, so Portuguese needs no embedded font."""
from __future__ import annotations

from decimal import Decimal

from fpdf import FPDF

from subgraphs.reports.notes import BrokerageNote, side_of

BROKER = "My Broker B3"


def brl(amount: Decimal) -> str:
    """1234.5 -> 1.234,50 (the Brazilian separators)."""
    return f"{abs(amount):,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


def note_pdf(note: BrokerageNote, compress: bool = True) -> bytes:
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.compress = compress
    pdf.set_title(f"Nota de corretagem {note.number}")
    pdf.set_author(BROKER)
    pdf.add_page()
    _header(pdf, note)
    _trades(pdf, note)
    _summaries(pdf, note)
    return bytes(pdf.output())


def _header(pdf: FPDF, note: BrokerageNote) -> None:
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(120, 8, "NOTA DE CORRETAGEM")
    pdf.set_font("Helvetica", "", 9)
    pdf.cell(0, 8, f"Nr. nota: {note.number}", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(120, 5, f"{BROKER} - corretora simulada")
    pdf.cell(0, 5, f"Data pregão: {note.trade_date:%d/%m/%Y}", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(120, 5, f"Cliente: {note.user_id}")
    pdf.cell(0, 5, f"Liquidação: {note.settlement_date:%d/%m/%Y}", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)


TRADE_COLUMNS = (("Q", 8), ("Negociação", 24), ("C/V", 10), ("Tipo mercado", 26), ("Especificação do título", 42),
                 ("Quantidade", 22), ("Preço / Ajuste", 24), ("Valor operação", 26), ("D/C", 8))


def _trades(pdf: FPDF, note: BrokerageNote) -> None:
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(0, 6, "Negócios realizados", border="B", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 7)
    for title, width in TRADE_COLUMNS:
        pdf.cell(width, 5, title, border=1, align="C")
    pdf.ln()
    pdf.set_font("Helvetica", "", 8)
    for trade in note.trades:
        kind = "FRACIONARIO" if trade.kind == "FRACIONARIO" else "VISTA"
        row = ("", trade.market, trade.operation, kind, trade.ticker, str(trade.quantity), brl(trade.price), brl(trade.value), trade.debit_credit)
        for (_, width), text, align in zip(TRADE_COLUMNS, row, "CCCLLRRRC"):
            pdf.cell(width, 5, text, border=1, align={"C": "C", "L": "L", "R": "R"}[align])
        pdf.ln()
    pdf.ln(4)


def _line(pdf: FPDF, x: float, label: str, amount: Decimal, debit_credit: str) -> None:
    pdf.set_x(x)
    pdf.cell(62, 5, label)
    pdf.cell(22, 5, brl(amount), align="R")
    pdf.cell(6, 5, debit_credit, align="C", new_x="LMARGIN", new_y="NEXT")


def _summaries(pdf: FPDF, note: BrokerageNote) -> None:
    top = pdf.get_y()
    left, right = pdf.l_margin, pdf.l_margin + 98
    pdf.set_font("Helvetica", "B", 10)
    pdf.set_xy(left, top)
    pdf.cell(90, 6, "Resumo dos negócios", border="B", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 8)
    _line(pdf, left, "Vendas à vista", note.sales, "")
    _line(pdf, left, "Compras à vista", note.purchases, "")
    _line(pdf, left, "Valor das operações", note.total_traded, "")

    pdf.set_font("Helvetica", "B", 10)
    pdf.set_xy(right, top)
    pdf.cell(90, 6, "Resumo financeiro", border="B", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 8)
    _line(pdf, right, "Valor líquido das operações", note.operations_net, side_of(note.operations_net))
    _line(pdf, right, "Taxa de liquidação", note.settlement_fee, "D")
    _line(pdf, right, "Emolumentos", note.trading_fee, "D")
    _line(pdf, right, "Corretagem", note.brokerage, "D")
    _line(pdf, right, "ISS", note.iss, "D")
    _line(pdf, right, f"I.R.R.F. s/ operações, base R$ {brl(note.irrf_base)}", note.irrf, "D")
    if note.day_trade_irrf_base:
        _line(pdf, right, f"I.R.R.F. day trade, base R$ {brl(note.day_trade_irrf_base)}", note.day_trade_irrf, "D")
    pdf.set_font("Helvetica", "B", 9)
    _line(pdf, right, f"Líquido para {note.settlement_date:%d/%m/%Y}", note.net, side_of(note.net))
