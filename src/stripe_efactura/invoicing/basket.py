"""One invoice's lines as a whole (pure): shipping follows the goods, O never mixes.

Runs after every line has its own VAT (:mod:`.line_vat`) and before the arithmetic:

1. **Not subject to VAT beside taxable lines.** EN 16931 lets category O (not subject to VAT)
   stand only alone on an invoice (BR-O-11/BR-O-12), and an O invoice carries no seller VAT id
   (BR-O-02) — which a VAT-registered seller's invoice with a taxable line must carry (BR-S-02,
   BR-RO-065). A line Stripe Tax marks not subject to tax (``not_subject_to_tax``,
   ``not_collecting``…) in a basket with any other category is therefore written as **E**,
   keeping its own mention (BT-120), else :data:`NOT_IN_SCOPE_REASON` (BR-E-10 is met by the
   reason; no VATEX code is claimed, since none of the exemption articles applies). Splitting
   the payment into two invoices was rejected: one Stripe payment is one invoice (one number,
   one upload), and the buyer paid one amount.
2. **Shipping follows the goods** (Fiscal Code art. 286 (1) b: the taxable amount includes the
   incidental costs — transport — the supplier charges the buyer; Directive 2006/112 art. 78 b;
   CJEU C-349/96 *CPP*: an ancillary service shares the tax treatment of the principal supply).
   The shipping line takes the VAT class of the other lines; when they have several, it is
   split into one line per class, **pro rata by the value** of the lines of that class
   (largest remainder in minor units), named ``Transport (TVA 11 %)``. A rate Stripe put on the
   shipping is replaced: the amount charged stays, the VAT is worked out from it at the goods'
   rate.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from ..money import exponent
from .draft import RawLine
from .line_vat import LineTax
from .model import InvoiceLine, Period, TaxClass, VatCategory

NOT_IN_SCOPE_REASON = "Operațiune care nu intră în sfera de aplicare a TVA în România"
"""BT-120 of a not-subject line on an invoice with taxable lines (at most 100 characters)."""

_ZERO = Decimal("0.00")


def harmonise(
    kept: list[RawLine], taxed: list[LineTax], currency: str
) -> tuple[list[RawLine], list[LineTax]]:
    """The lines and their VAT after the two rules of the module docs (inputs unchanged)."""
    if any(t.tax is None for t in taxed):
        return kept, taxed
    taxed = _no_mixed_not_subject(taxed)
    return _shipping_follows_goods(kept, taxed, currency)


def _no_mixed_not_subject(taxed: list[LineTax]) -> list[LineTax]:
    categories = {t.tax.category for t in taxed if t.tax is not None}
    if VatCategory.NOT_SUBJECT not in categories or len(categories) == 1:
        return taxed
    return [
        t._replace(tax=_as_exempt(t.tax))
        if t.tax and t.tax.category is VatCategory.NOT_SUBJECT
        else t
        for t in taxed
    ]


def _as_exempt(tax: TaxClass) -> TaxClass:
    """E with the O line's own mention (the article that puts it outside Romanian VAT), else
    :data:`NOT_IN_SCOPE_REASON`; ``VATEX-EU-O`` is dropped (no exemption article applies)."""
    return TaxClass(
        VatCategory.EXEMPT, Decimal(0), None, tax.exemption_reason or NOT_IN_SCOPE_REASON
    )


def _label(tax: TaxClass) -> str:
    if tax.category is VatCategory.STANDARD:
        return f"TVA {format(tax.rate.normalize(), 'f')} %"
    return f"categoria {tax.category.value}"


def _weights(kept: list[RawLine], taxed: list[LineTax]) -> dict[TaxClass, Decimal]:
    """The value of the goods per VAT class, in the order the classes first appear."""
    weights: dict[TaxClass, Decimal] = {}
    for raw, t in zip(kept, taxed, strict=True):
        if raw.kind != "shipping" and t.tax is not None:
            weights[t.tax] = weights.get(t.tax, _ZERO) + t.amount
    return weights


def _split(amount: Decimal, weights: list[Decimal], currency: str) -> list[Decimal]:
    """``amount`` in shares proportional to ``weights`` (largest remainder, minor units)."""
    q = Decimal(1).scaleb(-exponent(currency))
    total = sum(weights, _ZERO)
    shares = [amount * w / total for w in weights]
    floors = [(s / q).to_integral_value(rounding="ROUND_FLOOR") * q for s in shares]
    left = int(((amount - sum(floors, _ZERO)) / q).to_integral_value())
    order = sorted(range(len(shares)), key=lambda i: (-(shares[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += q
    return floors


def _shipping_follows_goods(
    kept: list[RawLine], taxed: list[LineTax], currency: str
) -> tuple[list[RawLine], list[LineTax]]:
    weights = _weights(kept, taxed)
    if not weights or not any(raw.kind == "shipping" for raw in kept):
        return kept, taxed
    if len(weights) > 1 and any(w <= 0 for w in weights.values()):
        return kept, taxed  # credits in the basket: no meaningful proportion, left as charged
    lines: list[RawLine] = []
    taxes: list[LineTax] = []
    for raw, t in zip(kept, taxed, strict=True):
        if raw.kind != "shipping" or t.tax is None:
            lines.append(raw)
            taxes.append(t)
            continue
        mode = "incl" if t.mode == "known" else t.mode
        if len(weights) == 1:
            (tax,) = weights
            same = tax == t.tax
            lines.append(raw)
            taxes.append(t if same else LineTax(tax, mode, t.amount, _ZERO))
            continue
        parts = _split(t.amount, list(weights.values()), currency)
        for tax, part in zip(weights, parts, strict=True):
            lines.append(replace(raw, name=f"{raw.name} ({_label(tax)})", amount=part))
            taxes.append(LineTax(tax, mode, part, _ZERO))
    return lines, taxes


def invoice_period(lines: tuple[InvoiceLine, ...]) -> Period | None:
    """BG-14: from the earliest start to the latest end of the line periods (None without)."""
    periods = [ln.period for ln in lines if ln.period is not None]
    if not periods:
        return None
    return Period(min(p.start for p in periods), max(p.end for p in periods))
