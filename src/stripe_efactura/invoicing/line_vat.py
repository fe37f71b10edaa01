"""The VAT of one drafted line (pure): the first rule that applies (see :mod:`.build`).

1. more than one tax on the line: ``P-VAT-MULTIPLE-RATES``;
2. seller not VAT-registered: category O, the whole amount charged is the net;
3. Stripe computed tax: its amount as is, its rate (or the Romanian rate that reproduces it);
4. reverse charge (EU company buyer with a VAT id): AE, or K for goods;
5. the line's own rate (metadata ``vat``);
6. the ``[vat]`` default.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

from ..errors import EfacturaError, Problem
from ..money import round2
from . import ro, vat
from .draft import RawLine
from .model import BuyerKind, Party, TaxClass, VatCategory
from .problems import problem
from .profile import InvoicingProfile, VatPolicy
from .totals import Mode

_ZERO = Decimal("0.00")


@dataclass(frozen=True)
class VatContext:
    """What the VAT of every line of one invoice depends on."""

    on: date
    profile: InvoicingProfile
    buyer: Party | None
    reverse: bool
    default: TaxClass | None
    default_problem: str | None


class LineTax(NamedTuple):
    """The VAT of a line: class (``None`` when unknown), mode, amount and Stripe's tax."""

    tax: TaxClass | None
    mode: Mode
    amount: Decimal
    stripe_tax: Decimal


@lru_cache(maxsize=256)
def default_class(policy: VatPolicy, on: date) -> tuple[TaxClass | None, str | None]:
    """The ``[vat]`` default class on ``on``, or why there is none."""
    try:
        if policy.default_category is VatCategory.STANDARD:
            kind = policy.default_rate
            rate = vat.rate_for(kind, on) if kind in vat.RATE_KINDS else Decimal(kind)
            return vat.tax_class(VatCategory.STANDARD, rate, on=on), None
        return (
            vat.tax_class(
                policy.default_category,
                None,
                policy.exemption_code,
                policy.exemption_reason,
            ),
            None,
        )
    except (EfacturaError, ArithmeticError) as exc:
        return None, str(exc)


def reverse_charge(policy: VatPolicy, buyer: Party | None, tax_exempt: str | None) -> bool:
    """Whether the buyer pays the VAT (taxare inversă)."""
    if tax_exempt == "reverse":
        return True
    if buyer is None or buyer.kind is not BuyerKind.COMPANY or not buyer.vat_id:
        return False
    country = buyer.address.country
    return policy.reverse_charge_eu_b2b and country != "RO" and ro.is_eu(country)


def vat_context(
    on: date, profile: InvoicingProfile, buyer: Party | None, tax_exempt: str | None
) -> VatContext:
    default, default_problem = default_class(profile.vat, on)
    return VatContext(
        on=on,
        profile=profile,
        buyer=buyer,
        reverse=profile.company.vat_payer and reverse_charge(profile.vat, buyer, tax_exempt),
        default=default,
        default_problem=default_problem,
    )


def _infer_rate(net: Decimal, tax: Decimal, on: date) -> Decimal | None:
    if tax == 0:
        return Decimal(0)
    ban = Decimal("0.01")
    hits = [r for r in sorted(vat.rates_in_force(on)) if abs(round2(net * r / 100) - tax) <= ban]
    return hits[0] if len(hits) == 1 else None


def _gross(raw: RawLine) -> Decimal:
    if raw.tax_amount is not None and raw.amount_includes_tax is False:
        return raw.amount + raw.tax_amount
    return raw.amount


def _not_subject(raw: RawLine, ctx: VatContext) -> LineTax:
    own_o = ctx.default is not None and ctx.default.category is VatCategory.NOT_SUBJECT
    tc = ctx.default if own_o and ctx.default else vat.tax_class(VatCategory.NOT_SUBJECT)
    gross_known = raw.tax_amount is not None and raw.amount_includes_tax is not None
    if gross_known or raw.amount_includes_tax is not False:
        return LineTax(tc, "incl", _gross(raw), _ZERO)
    return LineTax(tc, "excl", raw.amount, _ZERO)


def _stripe_taxed(
    raw: RawLine, tax: Decimal, n: int, ctx: VatContext
) -> tuple[LineTax, Problem | None]:
    gross = _gross(raw)
    rate = raw.tax_rate if raw.tax_rate is not None else _infer_rate(gross - tax, tax, ctx.on)
    if rate is None:
        reason = "Stripe tax rate not found"
        return LineTax(None, "known", gross, tax), problem(
            "P-VAT-RATE-UNKNOWN", line=n, reason=reason
        )
    try:
        category = vat.stripe_tax_category(
            raw.taxability_reason,
            rate,
            goods=raw.goods,
            buyer_country=ctx.buyer.address.country if ctx.buyer else None,
            zero_default=VatCategory.REVERSE_CHARGE if ctx.reverse else VatCategory.ZERO,
        )
        s_rate = rate if category is VatCategory.STANDARD else None
        tc = vat.tax_class(category, s_rate, on=ctx.on)
    except EfacturaError as exc:
        return LineTax(None, "known", gross, tax), problem(
            "P-VAT-RATE-UNKNOWN", line=n, reason=exc.message
        )
    return LineTax(tc, "known", gross, tax), None


def _reverse(raw: RawLine, ctx: VatContext) -> LineTax:
    intra = raw.goods and ctx.buyer is not None and ctx.buyer.address.country != "RO"
    category = VatCategory.INTRA_COMMUNITY if intra else VatCategory.REVERSE_CHARGE
    return LineTax(vat.tax_class(category), "incl", _gross(raw), _ZERO)


def _own_rate(
    raw: RawLine, rate: Decimal, mode: Mode, n: int, ctx: VatContext
) -> tuple[LineTax, Problem | None]:
    policy = ctx.profile.vat
    try:
        if rate > 0:
            tc = vat.tax_class(VatCategory.STANDARD, rate, on=ctx.on)
        else:
            default_cat = policy.default_category
            cat = default_cat if default_cat is not VatCategory.STANDARD else VatCategory.ZERO
            tc = vat.tax_class(cat, None, policy.exemption_code, policy.exemption_reason)
    except EfacturaError as exc:
        return LineTax(None, mode, raw.amount, _ZERO), problem(
            "P-VAT-RATE-UNKNOWN", line=n, reason=exc.message
        )
    return LineTax(tc, mode, raw.amount, _ZERO), None


def line_tax(raw: RawLine, n: int, ctx: VatContext) -> tuple[LineTax, Problem | None]:
    """The VAT of line ``n`` by the first rule that applies (module docs), with its problem."""
    if raw.tax_count > 1:
        ids = ", ".join(raw.tax_rate_ids) or "?"
        return LineTax(None, "incl", raw.amount, _ZERO), problem(
            "P-VAT-MULTIPLE-RATES", line=n, value=ids
        )
    if not ctx.profile.company.vat_payer:
        return _not_subject(raw, ctx), None
    if raw.tax_amount is not None and (raw.tax_amount != 0 or raw.taxability_reason):
        return _stripe_taxed(raw, raw.tax_amount, n, ctx)
    if ctx.reverse:
        return _reverse(raw, ctx), None
    includes = raw.amount_includes_tax
    if includes is None:
        includes = ctx.profile.vat.prices_include_vat
    mode: Mode = "incl" if includes else "excl"
    if raw.tax_rate is not None:
        return _own_rate(raw, raw.tax_rate, mode, n, ctx)
    if ctx.default is None:
        reason = ctx.default_problem or "[vat] default"
        return LineTax(None, mode, raw.amount, _ZERO), problem(
            "P-VAT-RATE-UNKNOWN", line=n, reason=reason
        )
    return LineTax(ctx.default, mode, raw.amount, _ZERO), None
