"""Storno invoices for refunds and lost disputes (pure).

A storno is an invoice (type 380, kind STORNO) with negative quantities and amounts and
positive prices, referring to the invoice it corrects (BG-3: BT-25 number, BT-26 date).

- **Full storno** (the refunded amount equals the original's BT-112): every line of the
  original is repeated with its quantity and net amount negated and its price unchanged; the
  VAT breakdown and the totals are negated.
- **Partial storno**: one line per VAT class of the original, named
  ``Stornare parțială factura <number> din <dd.mm.yyyy>``, quantity −1 and a positive price.
  The refunded amount is split over the VAT classes in proportion to the original's gross
  amount per class (largest remainder, to the ban); per class the net is
  ``round2(gross / (1 + rate))`` and the VAT ``gross − net`` (as ``invoicing.totals`` does for
  VAT-inclusive Stripe amounts), so BR-CO-10/13/14/15/16 hold exactly and BR-CO-17 within its
  tolerance.

A refund is paid back at once by card, so prepaid (BT-113) equals the (negative) BT-112 and
payable (BT-115) is 0.00. Seller, buyer, currency, payment means and delivery data are the
original's. For a non-RON invoice the storno keeps the **original's BNR rate** (not the rate
of the refund day): the storno cancels the original's VAT in RON exactly, which is what the
VAT return needs; BT-111 is recomputed from the storno's own VAT total with that rate.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from ..money import round2
from .model import Invoice, InvoiceKind, InvoiceLine, PrecedingInvoice, Totals, VatBreakdown
from .totals import allocate

ZERO = Decimal("0.00")
NAME_LIMIT = 100


def partial_line_name(original: Invoice) -> str:
    """BT-153 of a partial storno line (at most 100 characters)."""
    name = f"Stornare parțială factura {original.number} din {original.issue_date:%d.%m.%Y}"
    return name[:NAME_LIMIT]


def build_storno(
    original: Invoice,
    *,
    amount: Decimal,
    issue_date: date,
    number: str,
    reason: str | None,
) -> Invoice:
    """The storno of ``amount`` (major units, positive) of ``original``.

    Raises ValueError when ``amount`` is not positive or exceeds the original's total.
    """
    total = original.totals.tax_inclusive
    if amount <= 0:
        raise ValueError(f"a storno amount must be positive, got {amount}")
    if amount > total:
        raise ValueError(f"storno amount {amount} exceeds the invoice total {total}")
    if amount == total:
        lines, breakdown = _full(original)
    else:
        lines, breakdown = _partial(original, round2(amount))
    net = sum((ln.net_amount for ln in lines), ZERO)
    tax = sum((b.tax_amount for b in breakdown), ZERO)
    inclusive = net + tax
    fx = original.fx
    totals = Totals(
        line_net_total=net,
        tax_exclusive=net,
        tax_total=tax,
        tax_inclusive=inclusive,
        payable=ZERO,
        prepaid=inclusive,
        tax_total_ron=round2(tax * fx.rate) if fx is not None else None,
    )
    notes: tuple[str, ...] = (
        f"Stornare factura {original.number} din {original.issue_date:%d.%m.%Y}",
    )
    if reason:
        notes += (f"Motiv: {reason}"[:300],)
    return replace(
        original,
        number=number,
        issue_date=issue_date,
        lines=lines,
        vat_breakdown=breakdown,
        totals=totals,
        kind=InvoiceKind.STORNO,
        type_code="380",
        due_date=None,
        notes=notes,
        preceding=(PrecedingInvoice(number=original.number, issue_date=original.issue_date),),
    )


def _full(original: Invoice) -> tuple[tuple[InvoiceLine, ...], tuple[VatBreakdown, ...]]:
    lines = tuple(
        replace(
            ln,
            quantity=-ln.quantity,
            net_amount=-ln.net_amount,
            gross_amount=None if ln.gross_amount is None else -ln.gross_amount,
        )
        for ln in original.lines
    )
    breakdown = tuple(
        replace(b, taxable_amount=-b.taxable_amount, tax_amount=-b.tax_amount)
        for b in original.vat_breakdown
    )
    return lines, breakdown


def _partial(
    original: Invoice, amount: Decimal
) -> tuple[tuple[InvoiceLine, ...], tuple[VatBreakdown, ...]]:
    classes = original.vat_breakdown
    grosses = [b.taxable_amount + b.tax_amount for b in classes]
    total = sum(grosses, ZERO)
    shares = allocate([amount * g / total for g in grosses], amount)
    name = partial_line_name(original)
    lines: list[InvoiceLine] = []
    breakdown: list[VatBreakdown] = []
    for b, gross in zip(classes, shares, strict=True):
        if gross == 0:
            continue
        net = round2(gross / (Decimal(1) + b.tax.rate / Decimal(100)))
        vat = gross - net
        lines.append(
            InvoiceLine(
                line_id=str(len(lines) + 1),
                name=name,
                quantity=Decimal(-1),
                unit_price=net,
                net_amount=-net,
                tax=b.tax,
                unit_code="C62",
                gross_amount=-gross,
            )
        )
        breakdown.append(VatBreakdown(tax=b.tax, taxable_amount=-net, tax_amount=-vat))
    return tuple(lines), tuple(breakdown)
