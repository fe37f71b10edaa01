"""Use case ``oss-report``: the quarterly One-Stop-Shop return, per member state and rate.

For the quarter's invoices and stornos that charged another member state's VAT
(:attr:`Invoice.vat_country`, :mod:`..invoicing.oss`), the taxable amounts and the VAT per
member state of consumption and rate, in euro (Directive 2006/112 art. 369f-369h; Fiscal Code
art. 315):

- an invoice belongs to the quarter of its issue date (for a payment invoiced the day it is
  paid, the chargeable event);
- amounts in another currency are converted at the ECB reference rate of the quarter's last
  day, or of the next publication day (art. 369h (2); :mod:`..invoicing.ecb`), summed per
  currency first and rounded to the cent once per row and currency;
- a storno of an invoice issued in the same quarter reduces that quarter's row; a storno of an
  earlier quarter's invoice is a **correction** of that quarter (the return's corrections
  section, art. 369e of the Directive as amended), listed apart with the original's quarter.

The rates come from an injectable source (:data:`RateSource`): the ECB feed in production
(``EFACTURA_ECB_URL``, default the 90-day history), a file (``--ecb-file``), a fake in tests.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import httpx

from ..errors import UserInputError
from ..invoicing.ecb import EcbRates, parse_ecb_xml, period_rate
from ..invoicing.model import Invoice, VatCategory
from ..invoicing.serialize import invoice_from_json
from ..money import round2
from ..store import db
from ..store import periods as period_store
from .context import AppContext

RateSource = Callable[[], EcbRates]
"""Returns the ECB rates (publication day -> currency -> units per 1 EUR)."""

_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
ZERO = Decimal("0.00")


class OssReportError(UserInputError):
    code = "E-OSS-REPORT"


@dataclass(frozen=True)
class Quarter:
    year: int
    number: int

    @property
    def label(self) -> str:
        return f"{self.year}Q{self.number}"

    @property
    def start(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def end(self) -> date:
        """The day after the quarter (exclusive)."""
        return (
            date(self.year + 1, 1, 1)
            if self.number == 4
            else date(self.year, 3 * self.number + 1, 1)
        )

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)


def quarter(text: str) -> Quarter:
    """``2026Q3`` (also ``2026-Q3``, ``2026q3``) -> that calendar quarter."""
    found = _QUARTER.match(text.strip())
    if not found:
        raise OssReportError(
            f"not a quarter: {text!r} (expected e.g. 2026Q3)",
            message_ro=f"trimestru invalid: {text!r} (de exemplu 2026Q3)",
        )
    return Quarter(int(found.group(1)), int(found.group(2)))


def quarter_of(day: date) -> Quarter:
    return Quarter(day.year, (day.month - 1) // 3 + 1)


@dataclass(frozen=True)
class OssRow:
    """One line of the return: member state of consumption, rate, amounts in EUR."""

    country: str
    rate: Decimal
    taxable_eur: Decimal
    vat_eur: Decimal
    documents: int
    corrects: str | None = None
    """For a correction: the quarter corrected (``2026Q2``); None for the quarter's own supplies."""


@dataclass(frozen=True)
class OssReport:
    quarter: Quarter
    rows: tuple[OssRow, ...]
    corrections: tuple[OssRow, ...]
    rates: dict[str, tuple[Decimal, date]] = field(default_factory=dict)
    """Currency -> (units per 1 EUR, ECB publication day) used for the conversion."""

    @property
    def total_vat_eur(self) -> Decimal:
        return sum((r.vat_eur for r in (*self.rows, *self.corrections)), ZERO)


_Key = tuple[str, Decimal, str | None]


def _period_of(inv: Invoice, q: Quarter) -> str | None:
    """None for the quarter's own supplies, else the quarter a storno corrects."""
    if not inv.is_storno or not inv.preceding:
        return None
    original = quarter_of(inv.preceding[0].issue_date)
    return None if original == q else original.label


def _sums(invoices: Iterable[Invoice], q: Quarter) -> dict[_Key, dict[str, list[Decimal]]]:
    """(country, rate, corrected quarter) -> currency -> [taxable, VAT, documents]."""
    sums: dict[_Key, dict[str, list[Decimal]]] = {}
    for inv in invoices:
        if inv.vat_country is None:
            continue
        for b in inv.vat_breakdown:
            if b.tax.category is not VatCategory.STANDARD:
                continue
            key = (inv.vat_country, b.tax.rate.normalize(), _period_of(inv, q))
            acc = sums.setdefault(key, {}).setdefault(inv.currency.upper(), [ZERO, ZERO, ZERO])
            acc[0] += b.taxable_amount
            acc[1] += b.tax_amount
            acc[2] += 1
    return sums


def build_report(q: Quarter, invoices: Iterable[Invoice], rates: EcbRates) -> OssReport:
    """The return of ``q`` from the issued ``invoices`` (pure). Raises ``E-OSS-REPORT`` when
    the ECB rate of a currency for the quarter is not published (yet)."""
    sums = _sums(invoices, q)
    used: dict[str, tuple[Decimal, date]] = {}
    rows: list[OssRow] = []
    for (country, rate, corrects), per_currency in sorted(sums.items(), key=_order):
        taxable = vat = ZERO
        docs = 0
        for currency, (base, tax, n) in sorted(per_currency.items()):
            found = used.get(currency) or period_rate(rates, currency, q.last_day)
            if found is None:
                raise OssReportError(
                    f"no ECB rate for {currency} on or after {q.last_day} (art. 369h (2))",
                    message_ro=f"lipsește cursul BCE pentru {currency} din {q.last_day}",
                )
            used[currency] = found
            taxable += round2(base / found[0])
            vat += round2(tax / found[0])
            docs += int(n)
        rows.append(OssRow(country, rate, taxable, vat, docs, corrects))
    return OssReport(
        quarter=q,
        rows=tuple(r for r in rows if r.corrects is None),
        corrections=tuple(r for r in rows if r.corrects is not None),
        rates=used,
    )


def _order(item: tuple[_Key, object]) -> tuple[str, str, Decimal]:
    (country, rate, corrects), _ = item
    return (corrects or "", country, -rate)


def oss_report(
    ctx: AppContext, q: Quarter, rates: RateSource, *, livemode: bool = True
) -> OssReport:
    """Use case ``oss-report``: the return of quarter ``q`` from the invoices as issued."""
    with db.read(ctx.engine) as conn:
        rows = period_store.invoices_issued(conn, q.start, q.end, livemode=livemode)
    invoices = [invoice_from_json(r.read_snapshot()) for r in rows]
    oss = [inv for inv in invoices if inv.vat_country is not None]
    return build_report(q, oss, rates() if oss else {})


def report_table(report: OssReport) -> tuple[list[str], list[list[str]]]:
    """Headers and rows (CSV / JSON): the quarter's rows, then the corrections."""
    headers = ["member_state", "rate", "taxable_eur", "vat_eur", "documents", "corrects"]
    body = [
        [
            r.country,
            f"{r.rate:f}",
            f"{r.taxable_eur:.2f}",
            f"{r.vat_eur:.2f}",
            str(r.documents),
            r.corrects or "",
        ]
        for r in (*report.rows, *report.corrections)
    ]
    return headers, body


def to_csv(report: OssReport) -> bytes:
    headers, body = report_table(report)
    lines = [",".join(headers), *(",".join(row) for row in body)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def file_rates(path: Path) -> RateSource:
    """Rates from a saved ECB eurofxref XML file (``--ecb-file``)."""

    def load() -> EcbRates:
        try:
            return parse_ecb_xml(path.read_bytes())
        except OSError as exc:
            raise OssReportError(f"{path}: cannot be read ({exc.strerror})") from exc

    return load


def feed_rates(url: str, timeout: float = 20.0) -> RateSource:
    """Rates fetched from the ECB (the call happens only when the quarter has OSS sales)."""

    def load() -> EcbRates:
        try:
            response = httpx.get(url, timeout=timeout, follow_redirects=True)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise OssReportError(f"the ECB rates could not be fetched from {url}: {exc}") from exc
        return parse_ecb_xml(response.content)

    return load
