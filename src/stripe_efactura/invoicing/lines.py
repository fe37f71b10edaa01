"""Settling the drafted lines against what was collected (pure).

Intake reads the lines from ONE source (:mod:`stripe_efactura.intake.lines`). Lines the
merchant wrote in metadata may leave out the shipping or the order discount Stripe charged
beside them; :func:`settle_lines` adds the shipping line and spreads the discount only when
that makes the lines add up exactly to the amount collected:

- the lines fall short by exactly the shipping: the ``Transport`` line is added;
- they exceed it by exactly the discount: the discount is spread over them proportionally
  (largest remainder, in minor units);
- both at once: both.

Otherwise the lines stay as written and the builder reports ``P-LINES-MISMATCH``; nothing here
adjusts an amount to force a match. Lines whose VAT-inclusive amount is not known yet (net
amounts without a Stripe tax amount) are never settled.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from ..errors import Problem
from ..money import exponent, from_minor
from .draft import LineAdjustments, RawLine, SaleDraft
from .profile import VatPolicy


@dataclass(frozen=True)
class LinesResult:
    lines: tuple[RawLine, ...]
    source: str
    """``metadata.<object>.<format>``, ``invoice_lines``, ``line_items``,
    ``amount_details_line_items`` or ``single_line``."""
    problems: tuple[Problem, ...] = ()


def _spread_discount(lines: list[RawLine], discount: Decimal, currency: str) -> list[RawLine]:
    """Lower each line by its share of ``discount`` (largest remainder, in minor units)."""
    q = Decimal(1).scaleb(-exponent(currency))
    total = sum((ln.amount for ln in lines), Decimal(0))
    if total <= 0:
        return lines
    shares = [discount * ln.amount / total for ln in lines]
    floors = [(s / q).to_integral_value(rounding="ROUND_FLOOR") * q for s in shares]
    left = int(((discount - sum(floors, Decimal(0))) / q).to_integral_value())
    order = sorted(range(len(lines)), key=lambda i: (-(shares[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += q
    return [replace(ln, amount=ln.amount - d) for ln, d in zip(lines, floors, strict=True)]


def _gross_if_known(line: RawLine, include_default: bool) -> Decimal | None:
    includes = line.amount_includes_tax
    if includes is None:
        includes = include_default
    if includes:
        return line.amount
    if line.tax_amount is not None:
        return line.amount + line.tax_amount
    return None


def _reconcile(
    lines: list[RawLine],
    adjust: LineAdjustments,
    collected: Decimal,
    currency: str,
    policy: VatPolicy,
) -> list[RawLine]:
    grosses = [_gross_if_known(ln, policy.prices_include_vat) for ln in lines]
    if any(g is None for g in grosses):
        return lines
    remainder = collected - sum((g for g in grosses if g is not None), Decimal(0))
    ship, discount = adjust.shipping, adjust.discount
    if remainder == 0:
        return lines
    if ship is not None and remainder == ship.amount:
        return [*lines, ship]
    if discount > 0 and remainder == -discount:
        return _spread_discount(lines, discount, currency)
    if discount > 0 and ship is not None and remainder == ship.amount - discount:
        return [*_spread_discount(lines, discount, currency), ship]
    return lines


def settle_lines(sale: SaleDraft, policy: VatPolicy) -> LinesResult:
    """The lines of ``sale`` to invoice, with the problems met while reading them."""
    draft = sale.lines
    lines = list(draft.lines)
    if draft.adjustments is not None:
        collected = from_minor(sale.amount, sale.currency)
        lines = _reconcile(lines, draft.adjustments, collected, sale.currency, policy)
    return LinesResult(tuple(lines), draft.source, draft.problems)
