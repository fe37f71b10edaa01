"""The accountant's downloads for a period, as the API and the console serve them: the sales
journal (CSV, XLSX or its rows as JSON) and the period archive (a ZIP written to a private
temporary file under the data folder, which the caller deletes once sent)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal, TypedDict

from . import journal_files, period_export
from .context import AppContext
from .journal import sales_journal
from .periods import Period

JournalFormat = Literal["csv", "xlsx"]
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

JournalJson = TypedDict(
    "JournalJson",
    {
        "period": str,
        "from": str,
        "to": str,
        "livemode": bool,
        "documents": int,
        "total_ron": str,
        "vat_ron": str,
        "columns": list[str],
        "rows": list[list[str | int]],
    },
)
"""``GET /journal``: the journal's columns, rows (the last one the totals) and sums in RON."""


def _suffix(livemode: bool) -> str:
    return "" if livemode else "-test"


def journal_file(
    ctx: AppContext, period: Period, fmt: JournalFormat, *, livemode: bool = True
) -> tuple[bytes, str, str]:
    """(content, media type, file name) of the period's sales journal."""
    book = sales_journal(ctx, period, livemode=livemode)
    data = journal_files.to_csv(book) if fmt == "csv" else journal_files.to_xlsx(book)
    return data, MEDIA[fmt], f"jurnal-vanzari-{period.label}{_suffix(livemode)}.{fmt}"


def journal_json(ctx: AppContext, period: Period, *, livemode: bool = True) -> JournalJson:
    """The journal's columns, its rows (the last one the totals) and its sums in RON."""
    book = sales_journal(ctx, period, livemode=livemode)
    headers, rows = journal_files.table(book)
    return {
        "period": period.label,
        "from": period.start.isoformat(),
        "to": period.last_day.isoformat(),
        "livemode": livemode,
        "documents": len(book.rows),
        "total_ron": str(book.total_ron),
        "vat_ron": str(book.vat_ron),
        "columns": headers,
        "rows": [[journal_files.cell_json(c) for c in r] for r in rows],
    }


def archive_file(
    ctx: AppContext, period: Period, *, livemode: bool = True
) -> tuple[period_export.ExportResult, str]:
    """Write the period archive to a temporary file (``DATA_DIR/exports/``, private) and
    return its result and the name to download it as. The caller deletes ``result.path``."""
    folder = Path(ctx.settings.data_dir) / "exports"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    name = f"arhiva-{period.label}{_suffix(livemode)}.zip"
    out = folder / f"{secrets.token_hex(8)}-{name}"
    result = period_export.export_period(ctx, period, out, livemode=livemode)
    out.chmod(0o600)
    return result, name
