"""The sales journal as files: CSV (UTF-8 with BOM, comma-separated, dot decimals) and XLSX.

Both have the same columns, Romanian headers, one row per document and a last ``TOTAL`` row
with the column sums. Amounts are exact decimals (never floats): text in the CSV, numeric
cells with two decimals in the XLSX.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from .journal import OTHER_CATEGORIES, ZERO, Journal, JournalRow, rate_key

Cell = str | Decimal | int


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[JournalRow], Cell]
    total_key: str | None = None
    """Key in :attr:`Journal.totals` for the TOTAL row (amount columns only)."""
    amount: bool = False


def _rate_text(rate: Decimal) -> str:
    return format(rate.normalize(), "f")


def _base(key: str) -> Callable[[JournalRow], Cell]:
    return lambda r: r.bases.get(key, ZERO)


def _vat(key: str) -> Callable[[JournalRow], Cell]:
    return lambda r: r.vats.get(key, ZERO)


def columns(journal: Journal) -> list[Column]:
    """The journal's columns: fixed ones, a base/VAT pair per standard rate, the others."""
    cols = [
        Column("Nr. crt.", lambda r: r.position),
        Column("Număr document", lambda r: r.number),
        Column("Data", lambda r: r.issue_date.isoformat()),
        Column("Tip document", lambda r: r.kind),
        Column("Factura stornată", lambda r: r.corrects),
        Column("Beneficiar", lambda r: r.buyer_name),
        Column("CUI/CNP beneficiar", lambda r: r.buyer_code),
        Column("Țara", lambda r: r.buyer_country),
        Column("Moneda", lambda r: r.currency),
        Column("Curs BNR", lambda r: r.rate),
        Column("Total în valută", lambda r: r.total_currency, amount=True),
        Column("Total document (RON)", lambda r: r.total_ron, "total_ron", amount=True),
    ]
    for rate in journal.standard_rates:
        key = rate_key(rate)
        text = _rate_text(rate)
        cols.append(
            Column(
                f"Baza impozabilă {text}%",
                _base(key),
                f"base:{key}",
                amount=True,
            )
        )
        cols.append(Column(f"TVA {text}%", _vat(key), f"vat:{key}", amount=True))
    for category, header in OTHER_CATEGORIES:
        key = str(category.value)
        cols.append(Column(header, _base(key), f"base:{key}", amount=True))
    cols.append(Column("Stare ANAF", lambda r: r.anaf_state))
    cols.append(Column("Plată Stripe", lambda r: r.payment_key))
    return cols


def _total_row(journal: Journal, cols: list[Column]) -> list[Cell]:
    out: list[Cell] = []
    for i, col in enumerate(cols):
        if i == 0:
            out.append("TOTAL")
        elif col.total_key is not None:
            out.append(journal.totals.get(col.total_key, ZERO))
        else:
            out.append("")
    return out


def table(journal: Journal) -> tuple[list[str], list[list[Cell]]]:
    """Headers and rows (documents, then TOTAL) of the journal."""
    cols = columns(journal)
    rows = [[c.value(r) for c in cols] for r in journal.rows]
    rows.append(_total_row(journal, cols))
    return [c.header for c in cols], rows


def _text(cell: Cell) -> str:
    if isinstance(cell, Decimal):
        return format(cell, "f")
    return str(cell)


def cell_json(cell: Cell) -> str | int:
    """A cell for JSON output: amounts as exact decimal strings."""
    return cell if isinstance(cell, int) else _text(cell)


def to_csv(journal: Journal) -> bytes:
    headers, rows = table(journal)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([_text(c) for c in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(journal: Journal) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.worksheet import Worksheet

    headers, rows = table(journal)
    amount_cols = {i for i, c in enumerate(columns(journal)) if c.amount}
    book = Workbook()
    sheet = book.active
    assert isinstance(sheet, Worksheet)  # a new workbook has one worksheet, active
    sheet.title = f"Jurnal vânzări {journal.period.label}"[:31]
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(list(row))
        for i in amount_cols:
            sheet.cell(row=sheet.max_row, column=i + 1).number_format = "#,##0.00"
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "C2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
