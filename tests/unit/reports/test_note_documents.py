"""The brokerage note as CSV (read back with the csv module) and its PDF read back with a PDF
reader, figures from tests/unit/reports/test_notes_domain.py's first day."""
from __future__ import annotations

import csv
import io

from pypdf import PdfReader

from subgraphs.reports.note_csv import note_csv, note_filename
from subgraphs.reports.note_pdf import note_pdf

from .test_notes_domain import PLAN, fill, note_of


def a_note():
    return note_of([fill(1, "o-1", "BUY", "PETR4", 100, "31.45"), fill(2, "o-2", "SELL", "VALE3", 300, "70.00")], PLAN)


def test_the_notes_csv_has_its_trades_and_its_summaries():
    note = a_note()
    raw = note_csv(note)
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Nota de corretagem", note.number] and rows[1] == ["Data pregão", "10/03/2025"]
    assert rows[2] == ["Liquidação", "12/03/2025"]
    start = rows.index(["Negociação", "C/V", "Tipo mercado", "Especificação do título", "Quantidade", "Preço / Ajuste", "Valor operação", "D/C"])
    assert rows[start + 1] == ["1-BOVESPA", "C", "VISTA", "PETR4", "100", "31,45", "3.145,00", "D"]
    assert rows[start + 2] == ["1-BOVESPA", "V", "VISTA", "VALE3", "300", "70,00", "21.000,00", "C"]
    summary = {row[0]: row[1:] for row in rows[rows.index(["Resumo", "Valor", "D/C"]) + 1:]}
    assert summary["Taxa de liquidação"] == ["6,64", "D"] and summary["Emolumentos"] == ["0,89", "D"]
    assert summary["Corretagem"] == ["9,80", "D"] and summary["I.R.R.F. s/ operações"] == ["1,05", "D"]
    assert summary["Líquido para 12/03/2025"] == ["17.836,14", "C"]
    assert note_filename(note, "csv") == f"nota-de-corretagem-2025-03-10-{note.number}.csv"


def test_the_notes_pdf_reads_back_with_a_pdf_reader():
    note = a_note()
    text = PdfReader(io.BytesIO(note_pdf(note))).pages[0].extract_text()
    for expected in ("NOTA DE CORRETAGEM", note.number, "Negócios realizados", "PETR4", "VALE3", "Líquido para 12/03/2025", "17.836,14"):
        assert expected in text, expected
