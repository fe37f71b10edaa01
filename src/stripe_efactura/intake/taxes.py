"""Stripe's tax entries of a line, read version-tolerantly (pure).

A line's ``taxes[]`` (basil invoice lines and Checkout line items) or ``tax_amounts[]``
(pre-basil invoice lines): the tax amount, whether the price included it, the TaxRate's
percentage and country (inline, or by id from ``sale.objects['tax_rates']``), Stripe Tax's
``taxability_reason`` and how many distinct taxes the line carries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..money import from_minor, parse_decimal
from .plain import as_map as _map
from .sale import Sale

_INT = re.compile(r"-?[0-9]{1,15}")


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if abs(value) < 10**15 else None
    if isinstance(value, str) and _INT.fullmatch(value.strip()):
        return int(value.strip())
    return None


def _minor(value: object, currency: str) -> Decimal:
    n = _int(value)
    return from_minor(n if n is not None else 0, currency)


def _text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return " ".join(value.split())
    return None


def canonical_rate(rate: Decimal) -> Decimal:
    """``21.0`` -> ``21``, ``5.50`` -> ``5.5``: one spelling per rate (BT-119/BT-152)."""
    if rate == rate.to_integral_value():
        return rate.quantize(Decimal(1))
    return rate.normalize()


def _percentage(rate: object, tax_rates: Mapping[str, Any]) -> tuple[Decimal | None, str | None]:
    """The percentage of a TaxRate given as an object or an id (looked up in ``tax_rates``)."""
    rate_id: str | None = None
    if isinstance(rate, str):
        rate_id = rate
        rate = tax_rates.get(rate)
    if isinstance(rate, Mapping):
        rate_id = rate_id or _text(rate.get("id"))
        pct = rate.get("effective_percentage")
        if pct is None:
            pct = rate.get("percentage")
        if pct is not None and not isinstance(pct, bool):
            try:
                return canonical_rate(parse_decimal(str(pct))), rate_id
            except (ValueError, ArithmeticError):  # not a number, or one too large to round
                return None, rate_id
    return None, rate_id


def _rate_country(rate: object, tax_rates: Mapping[str, Any]) -> str | None:
    """The ``country`` of a TaxRate given as an object or an id (Stripe Tax's jurisdiction)."""
    found = tax_rates.get(rate) if isinstance(rate, str) else rate
    return _text(_map(found).get("country")) if isinstance(found, Mapping) else None


@dataclass(frozen=True)
class _Taxes:
    """Stripe's taxes of one line: total, inclusive or not, the single rate and its country
    (when all entries agree), the rate ids, the taxability reason, how many distinct taxes."""

    amount: Decimal | None
    inclusive: bool
    rate: Decimal | None
    rate_ids: tuple[str, ...]
    reason: str | None
    count: int
    country: str | None = None


def _taxes(entries: list[Mapping[str, Any]], currency: str, sale: Sale) -> _Taxes:
    """Stripe tax entries of a line: basil ``taxes[]`` / Checkout ``taxes[]`` / pre-basil
    ``tax_amounts[]``."""
    tax_rates = _map(sale.objects.get("tax_rates"))
    if not entries:
        return _Taxes(None, False, None, (), None, 0)
    total = Decimal(0)
    inclusive = False
    rates: list[Decimal] = []
    ids: list[str] = []
    reasons: list[str] = []
    found: list[str] = []
    seen: list[tuple[str | None, Decimal | None]] = []
    for e in entries:
        total += _minor(e.get("amount"), currency)
        if e.get("tax_behavior") == "inclusive" or e.get("inclusive") is True:
            inclusive = True
        rate_ref = e.get("rate")
        if rate_ref is None:
            rate_ref = e.get("tax_rate")
        if rate_ref is None:
            rate_ref = _map(e.get("tax_rate_details")).get("tax_rate")
        pct, rid = _percentage(rate_ref, tax_rates)
        country = _rate_country(rate_ref, tax_rates)
        if country and country not in found:
            found.append(country)
        seen.append((rid, pct))
        if pct is not None and pct not in rates:
            rates.append(pct)
        if rid and rid not in ids:
            ids.append(rid)
        reason = _text(e.get("taxability_reason"))
        if reason and reason not in reasons:
            reasons.append(reason)
    # distinct taxes: by rate id, else by percentage; entries naming neither count one each
    keys = {rid or str(pct) for rid, pct in seen if rid or pct is not None}
    anonymous = sum(1 for rid, pct in seen if not rid and pct is None)
    count = len(keys) + anonymous
    return _Taxes(
        amount=total,
        inclusive=inclusive,
        rate=rates[0] if len(rates) == 1 else None,
        rate_ids=tuple(ids),
        reason=reasons[0] if reasons else None,
        count=count,
        country=found[0] if len(found) == 1 else None,
    )
