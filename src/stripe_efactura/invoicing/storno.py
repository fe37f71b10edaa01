"""Storno invoices for refunds and lost disputes (pure).

A storno is an invoice (type 380, kind STORNO) with negative quantities and amounts and
positive prices, referring to the invoice it corrects (BG-3: BT-25 number, BT-26 date); with
the merchant's ``[storno] credit_note_381`` it is typed 381 and rendered as a UBL CreditNote
with positive values (``ubl.render``).

- **Full storno** (the refunded amount equals the original's BT-112): every line of the
  original is repeated with its quantity and net amount negated and its price unchanged; the
  VAT breakdown and the totals are negated.
- **Storno by item** (the refund says which lines and quantities were returned,
  :class:`ReturnedItem`): one line per returned item, named like the original line, at the
  original line's VAT class, for the returned quantity; its value is the item's refunded
  amount when given, else the original line's gross × returned / invoiced quantity. The
  values must add up to the refunded amount to the ban (art. 287 lit. b Cod fiscal: the
  taxable base is reduced by what is returned, at the rate it was taxed with).
- **Proportional storno** (the fallback when the refund names no items): one line per VAT
  class of the original, named ``Cota <rate>: stornare parțială proporțională a facturii …``,
  quantity −1 and a positive price, and a note saying the amount was split proportionally.
  The refunded amount is split over the VAT classes in proportion to the original's gross
  amount per class (largest remainder, to the ban).

Per VAT class the net is ``round2(gross / (1 + rate))`` and the VAT ``gross − net`` (as
``invoicing.totals`` does for VAT-inclusive Stripe amounts), so BR-CO-10/13/14/15/16 hold
exactly and BR-CO-17 within its tolerance.

A refund is paid back at once by card, so prepaid (BT-113) equals the (negative) BT-112 and
payable (BT-115) is 0.00. Seller, buyer, currency, payment means and delivery data are the
original's; the payment reference (BT-83) is the refund's or dispute's id. For a non-RON
invoice the storno keeps the **original's BNR rate** (not the rate of the refund day): the
storno cancels the original's VAT in RON exactly, which is what the VAT return needs; BT-111
is recomputed from the storno's own VAT total with that rate.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from ..money import round2
from .model import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    PrecedingInvoice,
    TaxClass,
    Totals,
    VatBreakdown,
)
from .totals import PricedLine, allocate, compute, unit_price

ZERO = Decimal("0.00")
NAME_LIMIT = 100
NOTE_LIMIT = 300
PROPORTIONAL_NOTE = (
    "Rambursarea nu precizează articolele returnate: suma este repartizată proporțional "
    "pe cotele de TVA ale facturii inițiale."
)


@dataclass(frozen=True)
class ReturnedItem:
    """One returned line of the original invoice: by its line number (BT-126) or its item id
    (BT-155: the merchant's product id, Stripe price/product id)."""

    quantity: Decimal
    line: str | None = None
    item: str | None = None
    amount: Decimal | None = None
    """The refunded amount for this item, VAT included (major units); ``None``: the original
    line's gross in proportion to the quantity."""


class StornoItemsError(ValueError):
    """The returned items do not fit the original invoice (``code`` is a ``P-STORNO-ITEMS-*``
    problem code; ``value`` names the item)."""

    def __init__(self, code: str, value: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.value = value


def reference_note(prev: PrecedingInvoice) -> str:
    """The storno's note naming the invoice it corrects (BT-22; BT-25/26 carry it too)."""
    return f"Stornare factura {prev.number} din {prev.issue_date:%d.%m.%Y}"


def _rate_text(tax: TaxClass) -> str:
    return f"{tax.rate.normalize():f}".replace(".", ",") + "%"


def partial_line_name(original: Invoice, tax: TaxClass) -> str:
    """BT-153 of a proportional storno line (at most 100 characters; the rate first, so that
    two rates never give two identical lines)."""
    name = (
        f"Cota {_rate_text(tax)}: stornare parțială proporțională a facturii "
        f"{original.number} din {original.issue_date:%d.%m.%Y}"
    )
    return name[:NAME_LIMIT]


def build_storno(
    original: Invoice,
    *,
    amount: Decimal,
    issue_date: date,
    number: str,
    reason: str | None,
    payment_id: str | None = None,
    items: tuple[ReturnedItem, ...] = (),
    type_code: str = "380",
    earlier: tuple[Invoice, ...] = (),
) -> Invoice:
    """The storno of ``amount`` (major units, positive) of ``original``.

    ``reason`` is the Romanian reason (``Rambursare la cererea clientului``), ``payment_id``
    the refund or dispute it reverses (``re_…``/``dp_…``: BT-83 and the reason note),
    ``items`` what was returned (empty: full, else proportional), ``type_code`` 380 (storno)
    or 381 (credit note), ``earlier`` the stornos already issued for ``original`` (an item
    cannot be returned more often than it was invoiced). Raises ValueError when ``amount`` is
    not positive or exceeds the original's total, :class:`StornoItemsError` when ``items`` do
    not fit the original.
    """
    total = original.totals.tax_inclusive
    if amount <= 0:
        raise ValueError(f"a storno amount must be positive, got {amount}")
    if amount > total:
        raise ValueError(f"storno amount {amount} exceeds the invoice total {total}")
    prev = PrecedingInvoice(number=original.number, issue_date=original.issue_date)
    notes: tuple[str, ...] = (reference_note(prev),)
    if items:
        lines, breakdown = _by_item(original, items, round2(amount), earlier)
    elif amount == total:
        lines, breakdown = _full(original)
    else:
        lines, breakdown = _partial(original, round2(amount))
        notes += (PROPORTIONAL_NOTE,)
    why = _reason_note(reason, payment_id)
    if why:
        notes = (*notes[:1], why, *notes[1:])
    payment = original.payment
    if payment is not None and payment_id:
        payment = replace(payment, reference=payment_id)
    return replace(
        original,
        number=number,
        issue_date=issue_date,
        lines=lines,
        vat_breakdown=breakdown,
        totals=_totals(lines, breakdown, original),
        kind=InvoiceKind.STORNO,
        type_code=type_code,
        due_date=None,
        notes=notes,
        payment=payment,
        preceding=(prev,),
    )


def _reason_note(reason: str | None, payment_id: str | None) -> str | None:
    if reason and payment_id:
        return f"Motiv: {reason} (plata {payment_id})"[:NOTE_LIMIT]
    if reason:
        return f"Motiv: {reason}"[:NOTE_LIMIT]
    if payment_id:
        return f"Plata stornată: {payment_id}"
    return None


def _totals(
    lines: tuple[InvoiceLine, ...], breakdown: tuple[VatBreakdown, ...], original: Invoice
) -> Totals:
    net = sum((ln.net_amount for ln in lines), ZERO)
    tax = sum((b.tax_amount for b in breakdown), ZERO)
    inclusive = net + tax
    fx = original.fx
    return Totals(
        line_net_total=net,
        tax_exclusive=net,
        tax_total=tax,
        tax_inclusive=inclusive,
        payable=ZERO,
        prepaid=inclusive,
        tax_total_ron=round2(tax * fx.rate) if fx is not None else None,
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
                name=partial_line_name(original, b.tax),
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


def line_gross(ln: InvoiceLine) -> Decimal:
    """What the buyer paid for an original line, VAT included."""
    if ln.gross_amount is not None:
        return ln.gross_amount
    return round2(ln.net_amount * (Decimal(1) + ln.tax.rate / Decimal(100)))


def match_line(original: Invoice, item: ReturnedItem) -> InvoiceLine:
    """The original line a returned item names (line number first, else the item id)."""
    for ln in original.lines:
        if item.line is not None and ln.line_id == item.line:
            return ln
        if item.line is None and item.item is not None and ln.seller_item_id == item.item:
            return ln
    what = f"line {item.line}" if item.line is not None else f"item {item.item}"
    raise StornoItemsError("P-STORNO-ITEMS-UNKNOWN", what, f"{what} is not on the invoice")


def returned_before(original: Invoice, earlier: tuple[Invoice, ...]) -> dict[str, Decimal]:
    """Quantity per original line (BT-126) already reversed by ``earlier`` stornos: a full
    storno's lines and a storno by item's lines repeat the original line (name, item id, VAT
    class, unit), a proportional storno's lines name no item and count for none."""
    out: dict[str, Decimal] = {}
    for storno in earlier:
        for sl in storno.lines:
            for ln in original.lines:
                same = (sl.name, sl.seller_item_id, sl.tax, sl.unit_code) == (
                    ln.name,
                    ln.seller_item_id,
                    ln.tax,
                    ln.unit_code,
                )
                if same:
                    out[ln.line_id] = out.get(ln.line_id, ZERO) + abs(sl.quantity)
                    break
    return out


def _item_gross(ln: InvoiceLine, item: ReturnedItem, before: Decimal) -> Decimal:
    left = abs(ln.quantity) - before
    if item.quantity <= 0 or item.quantity > left:
        raise StornoItemsError(
            "P-STORNO-ITEMS-QUANTITY",
            f"line {ln.line_id}: {item.quantity}",
            f"returned quantity {item.quantity} is not within 0..{left} (invoiced "
            f"{ln.quantity}, returned before {before})",
        )
    if item.amount is not None:
        return round2(item.amount)
    return round2(line_gross(ln) * item.quantity / abs(ln.quantity))


def _by_item(
    original: Invoice,
    items: tuple[ReturnedItem, ...],
    amount: Decimal,
    earlier: tuple[Invoice, ...],
) -> tuple[tuple[InvoiceLine, ...], tuple[VatBreakdown, ...]]:
    chosen = [(match_line(original, it), it) for it in items]
    before = returned_before(original, earlier)
    grosses = [_item_gross(ln, it, before.get(ln.line_id, ZERO)) for ln, it in chosen]
    if sum(grosses, ZERO) != amount:
        raise StornoItemsError(
            "P-STORNO-ITEMS-MISMATCH",
            f"{sum(grosses, ZERO)}",
            f"the returned items are worth {sum(grosses, ZERO)}, the refund is {amount}",
        )
    priced = [PricedLine(ln.tax, "incl", g) for (ln, _), g in zip(chosen, grosses, strict=True)]
    computed = compute(priced)
    lines: list[InvoiceLine] = []
    for (ln, it), gross, net in zip(chosen, grosses, computed.nets, strict=True):
        price, qty = unit_price(net, it.quantity)
        lines.append(
            replace(
                ln,
                line_id=str(len(lines) + 1),
                quantity=-qty,
                unit_price=price,
                net_amount=-net,
                gross_amount=-gross,
                price_base_quantity=None,
            )
        )
    breakdown = tuple(
        replace(b, taxable_amount=-b.taxable_amount, tax_amount=-b.tax_amount)
        for b in computed.breakdown
    )
    return tuple(lines), breakdown


def credit_note_view(invoice: Invoice) -> Invoice:
    """A storno typed 381 as its credit note shows it (the UBL CreditNote and its PDF):
    quantities and amounts positive. Any other invoice is returned unchanged."""
    if not (invoice.is_storno and invoice.type_code == "381"):
        return invoice
    t = invoice.totals
    return replace(
        invoice,
        lines=tuple(
            replace(
                ln,
                quantity=-ln.quantity,
                net_amount=-ln.net_amount,
                gross_amount=None if ln.gross_amount is None else -ln.gross_amount,
            )
            for ln in invoice.lines
        ),
        vat_breakdown=tuple(
            replace(b, taxable_amount=-b.taxable_amount, tax_amount=-b.tax_amount)
            for b in invoice.vat_breakdown
        ),
        totals=replace(
            t,
            line_net_total=-t.line_net_total,
            tax_exclusive=-t.tax_exclusive,
            tax_total=-t.tax_total,
            tax_inclusive=-t.tax_inclusive,
            payable=-t.payable + ZERO,
            prepaid=-t.prepaid,
            tax_total_ron=None if t.tax_total_ron is None else -t.tax_total_ron,
        ),
    )
