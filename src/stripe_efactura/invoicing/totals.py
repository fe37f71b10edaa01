"""EN 16931 arithmetic for invoices built from Stripe amounts (pure).

Input: per line the VAT class and either the VAT-inclusive amount Stripe charged (``incl``),
the gross amount with Stripe's own tax amount (``known``), or a net amount VAT is added to
(``excl``), all in 2 decimals. Output: the net amount of every line, the VAT breakdown and the
document totals such that

- BR-CO-10: the sum of the line nets is the line net total (BT-106);
- BR-CO-13: tax exclusive (BT-109) = BT-106 (the builder emits no document allowances or
  charges: discounts are already inside the line amounts);
- BR-CO-14: the VAT total (BT-110) is the sum of the breakdown VAT amounts;
- BR-CO-15: tax inclusive (BT-112) = BT-109 + BT-110;
- BR-CO-16: payable (BT-115) = BT-112 − prepaid (BT-113); a Stripe payment is already paid, so
  prepaid = BT-112 and payable = 0.00;
- and BT-112 equals the amount Stripe collected (checked by the builder).

**VAT-inclusive lines** (the usual case, Stripe amounts without Stripe Tax): per VAT class the
gross total ``G`` gives the taxable amount ``round2(G / (1 + rate))`` and the VAT ``G −
taxable``, so net + VAT always equals what was charged. Each line's net is ``round2(g / (1 +
rate))``; the few bani the per-line roundings differ from the class's taxable amount are
moved onto the lines with the largest rounding remainders (largest-remainder method, one ban
each, ties to the earlier line), so the lines add up to the breakdown exactly. The VAT differs
from ``round2(taxable × rate)`` by at most a ban, well inside BR-CO-17's tolerance.

**Stripe Tax amounts** (``known``) are used as Stripe computed them: net = gross − tax.
**Net lines** (``excl``, metadata totals with ``prices_include_vat = false``) get VAT
``round2(Σ net × rate)`` per class.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from ..errors import Problem
from ..money import CENT, round2
from .model import FxInfo, TaxClass, Totals, VatBreakdown
from .problems import problem

Mode = Literal["incl", "known", "excl"]
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class PricedLine:
    tax: TaxClass
    mode: Mode
    amount: Decimal
    """Gross for ``incl``/``known``, net for ``excl``; 2 decimals."""
    tax_amount: Decimal = ZERO
    """Stripe's tax for ``known`` lines."""


@dataclass(frozen=True)
class Computed:
    nets: tuple[Decimal, ...]
    breakdown: tuple[VatBreakdown, ...]
    problems: tuple[Problem, ...]

    @property
    def line_net_total(self) -> Decimal:
        return sum(self.nets, ZERO)

    @property
    def tax_total(self) -> Decimal:
        return sum((b.tax_amount for b in self.breakdown), ZERO)


def _factor(tax: TaxClass) -> Decimal:
    return Decimal(1) + tax.rate / Decimal(100)


def _spread(exact: list[Decimal], rounded: list[Decimal], target: Decimal) -> list[Decimal]:
    """Move ``target − Σ rounded`` onto ``rounded`` one ban at a time, largest remainder first."""
    out = list(rounded)
    diff = target - sum(out, ZERO)
    steps = int((abs(diff) / CENT).to_integral_value())
    if steps == 0 or not out:
        return out
    sign = CENT if diff > 0 else -CENT
    # positive diff: lines rounded down the most get +1 ban; negative: rounded up the most.
    remainders = [(e - r) if diff > 0 else (r - e) for e, r in zip(exact, rounded, strict=True)]
    order = sorted(range(len(out)), key=lambda i: (-remainders[i], i))
    for k in range(steps):
        out[order[k % len(order)]] += sign
    return out


def compute(lines: Sequence[PricedLine]) -> Computed:
    """Line nets and the VAT breakdown for ``lines`` (see the module docs)."""
    nets: list[Decimal] = [ZERO] * len(lines)
    classes: dict[TaxClass, list[int]] = {}
    for i, ln in enumerate(lines):
        classes.setdefault(ln.tax, []).append(i)
    breakdown: list[VatBreakdown] = []
    problems: list[Problem] = []
    for tax, idx in classes.items():
        factor = _factor(tax)
        vat = ZERO
        incl = [i for i in idx if lines[i].mode == "incl"]
        if incl:
            gross = sum((lines[i].amount for i in incl), ZERO)
            taxable = round2(gross / factor)
            exact = [lines[i].amount / factor for i in incl]
            rounded = [round2(e) for e in exact]
            for i, n in zip(incl, _spread(exact, rounded, taxable), strict=True):
                nets[i] = n
            vat += gross - taxable
        for i in idx:
            ln = lines[i]
            if ln.mode == "known":
                nets[i] = ln.amount - ln.tax_amount
                vat += ln.tax_amount
        excl = [i for i in idx if lines[i].mode == "excl"]
        if excl:
            for i in excl:
                nets[i] = lines[i].amount
            vat += round2(sum((lines[i].amount for i in excl), ZERO) * tax.rate / Decimal(100))
        taxable_total = sum((nets[i] for i in idx), ZERO)
        expected = (taxable_total * tax.rate / Decimal(100)).quantize(CENT, ROUND_HALF_UP)
        if abs(vat - expected) >= 1:
            problems.append(
                problem(
                    "P-VAT-INCONSISTENT",
                    tax=vat,
                    taxable=taxable_total,
                    rate=tax.rate,
                )
            )
        breakdown.append(VatBreakdown(tax=tax, taxable_amount=taxable_total, tax_amount=vat))
    return Computed(nets=tuple(nets), breakdown=tuple(breakdown), problems=tuple(problems))


def document_totals(computed: Computed, fx: FxInfo | None = None) -> Totals:
    """BG-22 for a paid invoice: prepaid = tax inclusive, payable 0.00; BT-111 with ``fx``."""
    net = computed.line_net_total
    tax = computed.tax_total
    inclusive = net + tax
    return Totals(
        line_net_total=net,
        tax_exclusive=net,
        tax_total=tax,
        tax_inclusive=inclusive,
        payable=inclusive - inclusive,
        prepaid=inclusive,
        tax_total_ron=round2(tax * fx.rate) if fx is not None else None,
    )


def unit_price(net: Decimal, quantity: Decimal) -> tuple[Decimal, Decimal]:
    """``(price, quantity)`` for BT-146/BT-129: price = |net| / |quantity|, never negative.

    The price has 2 decimals when that is exact, else the fewest decimals (up to 8) for which
    ``round2(quantity × price)`` gives back the net amount. The quantity's sign follows the
    net amount (a negative line, e.g. a Stripe proration credit, has a negative quantity).
    """
    qty = abs(quantity)
    if qty == 0:
        raise ValueError("quantity must not be zero")
    exact = abs(net) / qty
    price = exact.quantize(CENT, ROUND_HALF_UP)
    places = 2
    while round2(price * qty) != abs(net) and places < 8:
        places += 1
        price = exact.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    signed_qty = -qty if net < 0 else qty
    return price, signed_qty


def allocate(values: Sequence[Decimal], target: Decimal) -> list[Decimal]:
    """Round ``values`` to 2 decimals so they add up to ``target`` (largest remainder)."""
    exact = list(values)
    rounded = [round2(v) for v in exact]
    return _spread(exact, rounded, target)
