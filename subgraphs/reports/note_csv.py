"""A brokerage note as CSV, as Brazilian spreadsheets open it (";" between fields, decimal
comma, dates dd/mm/yyyy, UTF-8 with a BOM so Excel reads the accents): the note's header,
its trades ("Negócios realizados"), then the summaries, one labelled amount a row with its
D/C, as the PDF (note_pdf.py) prints them."""
from __future__ import annotations

import csv
import io

from subgraphs.reports.note_pdf import brl
from subgraphs.reports.notes import BrokerageNote, side_of

TRADE_COLUMNS = ("Negociação", "C/V", "Tipo mercado", "Especificação do título", "Quantidade", "Preço / Ajuste", "Valor operação", "D/C")


def note_filename(note: BrokerageNote, extension: str) -> str:
    return f"nota-de-corretagem-{note.trade_date.isoformat()}-{note.number}.{extension}"


def note_csv(note: BrokerageNote) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(("Nota de corretagem", note.number))
    writer.writerow(("Data pregão", f"{note.trade_date:%d/%m/%Y}"))
    writer.writerow(("Liquidação", f"{note.settlement_date:%d/%m/%Y}"))
    writer.writerow(("Cliente", note.user_id))
    writer.writerow(())
    writer.writerow(TRADE_COLUMNS)
    for trade in note.trades:
        writer.writerow((trade.market, trade.operation, trade.kind, trade.ticker, str(trade.quantity), brl(trade.price),
                         brl(trade.value), trade.debit_credit))
    writer.writerow(())
    writer.writerow(("Resumo", "Valor", "D/C"))
    for label, amount, debit_credit in (
        ("Vendas à vista", note.sales, ""),
        ("Compras à vista", note.purchases, ""),
        ("Valor das operações", note.total_traded, ""),
        ("Valor líquido das operações", note.operations_net, side_of(note.operations_net)),
        ("Taxa de liquidação", note.settlement_fee, "D"),
        ("Emolumentos", note.trading_fee, "D"),
        ("Corretagem", note.brokerage, "D"),
        ("ISS", note.iss, "D"),
        ("I.R.R.F. s/ operações (base)", note.irrf_base, ""),
        ("I.R.R.F. s/ operações", note.irrf, "D"),
        ("I.R.R.F. day trade (base)", note.day_trade_irrf_base, ""),
        ("I.R.R.F. day trade", note.day_trade_irrf, "D"),
        (f"Líquido para {note.settlement_date:%d/%m/%Y}", note.net, side_of(note.net)),
    ):
        writer.writerow((label, brl(amount), debit_credit))
    return ("\ufeff" + out.getvalue()).encode("utf-8")
