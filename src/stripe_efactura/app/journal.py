"""The sales journal (jurnal de vânzări) of a period, from the invoices as issued.

One row per invoice or storno issued in the period (series and number order), in RON:

- number, issue date, document kind (``factură`` / ``storno``, with the invoice a storno
  corrects), buyer name and fiscal code (CUI with ``RO`` for VAT payers, else CUI / CNP);
- the invoice currency, the BNR rate the invoice states (1 for RON) and its total in that
  currency;
- per standard VAT rate the taxable base and the VAT; the amounts of the other categories
  (zero rate, exempt, reverse charge, intra-Community, export, not subject) in one column each;
- the total in RON and the invoice's ANAF state.

Stornos have negative amounts (their snapshot already does). Foreign-currency amounts are
converted with the invoice's own rate (a storno keeps its original's rate), per row so that the
row reconciles to the ban with the document: the VAT columns add up to the VAT total in RON the
invoice states (BT-111), the row total is ``round2(BT-112 × rate)`` and the bases are the
difference, spread over the categories by largest remainder (:func:`invoicing.totals.allocate`).
For a RON invoice every amount is the invoice's own. The totals row is the column sums.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from ..errors import EfacturaError
from ..invoicing.model import Invoice, VatBreakdown, VatCategory
from ..invoicing.serialize import invoice_from_json
from ..invoicing.totals import allocate
from ..money import round2
from ..store import db
from ..store import periods as period_store
from .context import AppContext
from .periods import Period

ZERO = Decimal("0.00")

#: Categories other than S: (column key, Romanian header), in column order.
OTHER_CATEGORIES: tuple[tuple[VatCategory, str], ...] = (
    (VatCategory.ZERO, "Cota zero"),
    (VatCategory.INTRA_COMMUNITY, "Livrări intracomunitare scutite (art. 294 alin. (2))"),
    (VatCategory.EXPORT, "Export scutit (art. 294 alin. (1))"),
    (VatCategory.REVERSE_CHARGE, "Taxare inversă"),
    (VatCategory.EXEMPT, "Scutite fără drept de deducere"),
    (VatCategory.NOT_SUBJECT, "Neimpozabile / în afara sferei TVA"),
)


class JournalError(EfacturaError):
    code = "E-JOURNAL"


@dataclass(frozen=True)
class JournalRow:
    position: int
    number: str
    issue_date: date
    kind: str
    """``factură`` or ``storno``."""
    corrects: str
    """For a storno, the number(s) of the invoice it corrects."""
    buyer_name: str
    buyer_code: str
    buyer_country: str
    currency: str
    rate: Decimal
    total_currency: Decimal
    bases: dict[str, Decimal]
    """Column key (``S21``, ``AE``, …) -> taxable amount in RON."""
    vats: dict[str, Decimal]
    """``S<rate>`` -> VAT in RON."""
    total_ron: Decimal
    anaf_state: str
    payment_key: str

    @property
    def vat_ron(self) -> Decimal:
        return sum(self.vats.values(), ZERO)


@dataclass(frozen=True)
class Journal:
    period: Period
    livemode: bool
    rows: tuple[JournalRow, ...]
    standard_rates: tuple[Decimal, ...]
    """The standard VAT rates that have a column pair, highest first."""
    totals: dict[str, Decimal] = field(default_factory=dict)
    """Column sums: ``base:<key>``, ``vat:<key>``, ``total_ron``."""

    @property
    def total_ron(self) -> Decimal:
        return self.totals.get("total_ron", ZERO)

    @property
    def vat_ron(self) -> Decimal:
        return sum((v for k, v in self.totals.items() if k.startswith("vat:")), ZERO)


def rate_key(rate: Decimal) -> str:
    """``S21``, ``S9``, ``S5.5``: the column key of a standard rate."""
    text = format(rate.normalize(), "f")
    return f"S{text}"


def _key(b: VatBreakdown) -> str:
    if b.tax.category is VatCategory.STANDARD:
        return rate_key(b.tax.rate)
    return str(b.tax.category.value)


def invoice_rate(invoice: Invoice) -> Decimal:
    """RON per unit of the invoice currency: 1 for RON, else the BNR rate it states."""
    if invoice.currency.upper() == "RON":
        return Decimal(1)
    if invoice.fx is None:
        raise JournalError(
            f"invoice {invoice.number} is in {invoice.currency} without a BNR rate",
            message_ro=f"factura {invoice.number} este în {invoice.currency} fără curs BNR",
        )
    return invoice.fx.rate


def ron_amounts(invoice: Invoice) -> tuple[dict[str, Decimal], dict[str, Decimal], Decimal]:
    """(bases by column key, VAT by column key, total) of one invoice in RON (module docs)."""
    rate = invoice_rate(invoice)
    breakdown = list(invoice.vat_breakdown)
    if rate == 1:
        total = invoice.totals.tax_inclusive
        vat_total = invoice.totals.tax_total
    else:
        total = round2(invoice.totals.tax_inclusive * rate)
        stated = invoice.totals.tax_total_ron
        vat_total = stated if stated is not None else round2(invoice.totals.tax_total * rate)
    taxed = [b for b in breakdown if b.tax.category is VatCategory.STANDARD]
    vats: dict[str, Decimal] = {}
    vat_spread = allocate([b.tax_amount * rate for b in taxed], vat_total)
    for b, amount in zip(taxed, vat_spread, strict=True):
        vats[_key(b)] = vats.get(_key(b), ZERO) + amount
    bases: dict[str, Decimal] = {}
    spread = allocate([b.taxable_amount * rate for b in breakdown], total - vat_total)
    for b, amount in zip(breakdown, spread, strict=True):
        bases[_key(b)] = bases.get(_key(b), ZERO) + amount
    return bases, vats, total


def buyer_code(invoice: Invoice) -> str:
    """The buyer's fiscal code as the journal shows it: VAT id, else CUI / CNP, else empty."""
    return invoice.buyer.vat_id or invoice.buyer.legal_id or ""


def journal_row(position: int, invoice: Invoice, anaf_state: str, payment_key: str) -> JournalRow:
    bases, vats, total = ron_amounts(invoice)
    return JournalRow(
        position=position,
        number=invoice.number,
        issue_date=invoice.issue_date,
        kind="storno" if invoice.is_storno else "factură",
        corrects=", ".join(p.number for p in invoice.preceding) if invoice.is_storno else "",
        buyer_name=invoice.buyer.name,
        buyer_code=buyer_code(invoice),
        buyer_country=invoice.buyer.address.country,
        currency=invoice.currency.upper(),
        rate=invoice_rate(invoice),
        total_currency=invoice.totals.tax_inclusive,
        bases=bases,
        vats=vats,
        total_ron=total,
        anaf_state=anaf_state,
        payment_key=payment_key,
    )


def column_totals(rows: Iterable[JournalRow]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {"total_ron": ZERO}
    for row in rows:
        for key, value in row.bases.items():
            totals[f"base:{key}"] = totals.get(f"base:{key}", ZERO) + value
        for key, value in row.vats.items():
            totals[f"vat:{key}"] = totals.get(f"vat:{key}", ZERO) + value
        totals["total_ron"] += row.total_ron
    return totals


def build_journal(
    period: Period, issued: Sequence[tuple[Invoice, str, str]], *, livemode: bool = True
) -> Journal:
    """The journal of ``issued`` = (invoice, ANAF state, payment key) in journal order (pure)."""
    rows = tuple(
        journal_row(i, invoice, state, key) for i, (invoice, state, key) in enumerate(issued, 1)
    )
    rates = {
        b.tax.rate
        for invoice, _s, _k in issued
        for b in invoice.vat_breakdown
        if b.tax.category is VatCategory.STANDARD
    }
    return Journal(
        period=period,
        livemode=livemode,
        rows=rows,
        standard_rates=tuple(sorted(rates, reverse=True)),
        totals=column_totals(rows),
    )


def load_issued(
    ctx: AppContext, period: Period, *, livemode: bool = True
) -> list[period_store.IssuedInvoice]:
    """The light invoice rows of the period (journal order)."""
    with db.read(ctx.engine) as conn:
        return period_store.invoices_issued(conn, period.start, period.end, livemode=livemode)


def sales_journal(ctx: AppContext, period: Period, *, livemode: bool = True) -> Journal:
    """Use case ``journal``: the sales journal of ``period`` (live invoices, or test-mode ones
    with ``livemode=False``) from the snapshots stored at issue time."""
    rows = load_issued(ctx, period, livemode=livemode)
    issued = [
        (invoice_from_json(r.read_snapshot()), str(r.anaf_state), str(r.payment_key)) for r in rows
    ]
    return build_journal(period, issued, livemode=livemode)
