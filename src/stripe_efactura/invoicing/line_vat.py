"""The VAT of one drafted line (pure): the first rule that applies (see :mod:`.build`).

1. more than one tax on the line: ``P-VAT-MULTIPLE-RATES``;
2. seller not VAT-registered: category O (art. 310 mention), the whole amount is the net;
3. Stripe computed tax: its amount as is, its rate (or the Romanian rate that reproduces it);
4. reverse charge (EU company buyer with another member state's VAT id): AE, or K for goods;
5. a business buyer outside the EU: O for services (art. 278 (2)), G for goods shipped
   outside the EU (art. 294 (1) a));
6. the line's own rate (metadata ``vat``);
7. the ``[vat]`` default.

A line is a good when Stripe's product tax code says so, else per ``[vat] supplies``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

from ..errors import EfacturaError, Problem
from ..money import round2
from . import countries, ro, vat
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
    outside_eu_b2b: bool = False
    """The buyer is a business established outside the EU (a tax id, no Romanian one)."""
    ship_country: str | None = None
    """Where goods go: the delivery (shipping) address's country, else the buyer's."""

    def goods(self, raw: RawLine) -> bool:
        """A physical good: Stripe's product tax code, else ``[vat] supplies`` (a shipping line
        then takes the class of the goods it carries: :mod:`.basket`)."""
        return raw.goods or self.profile.vat.supplies == "goods"


class LineTax(NamedTuple):
    """The VAT of a line: class (``None`` when unknown), mode, amount and Stripe's tax."""

    tax: TaxClass | None
    mode: Mode
    amount: Decimal
    stripe_tax: Decimal
    oss_country: str | None = None
    """The member state whose VAT Stripe charged through the One-Stop-Shop (not Romania)."""


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


def romanian_vat_id(buyer: Party | None) -> bool:
    """The buyer is registered for VAT in Romania (``RO…``), wherever its address is: a
    company not established here but registered (art. 316/317) is a Romanian VAT buyer."""
    return buyer is not None and (buyer.vat_id or "").upper().startswith("RO")


def reverse_charge(policy: VatPolicy, buyer: Party | None, tax_exempt: str | None) -> bool:
    """Whether the buyer pays the VAT (taxare inversă): Stripe's ``tax_exempt = reverse``, or
    an EU company outside Romania identified by its own member state's VAT id (an ``RO`` id
    makes it a Romanian VAT buyer, even with a foreign address)."""
    if tax_exempt == "reverse":
        return True
    if buyer is None or buyer.kind is not BuyerKind.COMPANY or not buyer.vat_id:
        return False
    if romanian_vat_id(buyer):
        return False
    country = buyer.address.country
    return policy.reverse_charge_eu_b2b and country != "RO" and ro.is_eu(country)


def outside_eu_business(buyer: Party | None) -> bool:
    """A business established outside the EU: a company buyer (it gave a tax id — Reg.
    282/2011 art. 18 (3) accepts a VAT or business number as proof of business status) with
    an address outside the EU and no Romanian VAT id. Northern Ireland (``XI``) is the UK for
    services."""
    if buyer is None or buyer.kind is not BuyerKind.COMPANY or romanian_vat_id(buyer):
        return False
    country = buyer.address.country.upper()
    return bool(country) and (country == "XI" or not ro.is_eu(country))


def vat_context(
    on: date,
    profile: InvoicingProfile,
    buyer: Party | None,
    tax_exempt: str | None,
    ship_country: str | None = None,
) -> VatContext:
    default, default_problem = default_class(profile.vat, on)
    payer = profile.company.vat_payer
    outside = payer and outside_eu_business(buyer)
    return VatContext(
        on=on,
        profile=profile,
        buyer=buyer,
        reverse=payer and not outside and reverse_charge(profile.vat, buyer, tax_exempt),
        default=default,
        default_problem=default_problem,
        outside_eu_b2b=outside,
        ship_country=ship_country or (buyer.address.country if buyer else None),
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


_O_NON_PAYER = TaxClass(VatCategory.NOT_SUBJECT, Decimal(0), "VATEX-EU-O", vat.REASON_NON_PAYER)
_O_SERVICES_OUTSIDE_RO = TaxClass(
    VatCategory.NOT_SUBJECT, Decimal(0), "VATEX-EU-O", vat.REASON_SERVICES_OUTSIDE_RO
)


def _not_subject(raw: RawLine, ctx: VatContext) -> LineTax:
    """A seller not registered for VAT: its own configured O class, else the art. 310 one."""
    own_o = ctx.default is not None and ctx.default.category is VatCategory.NOT_SUBJECT
    tc = ctx.default if own_o and ctx.default else _O_NON_PAYER
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
        goods = ctx.goods(raw)
        category = vat.stripe_tax_category(
            raw.taxability_reason,
            rate,
            goods=goods,
            buyer_country=ctx.ship_country if goods else _buyer_country(ctx),
            zero_default=VatCategory.REVERSE_CHARGE if ctx.reverse else VatCategory.ZERO,
        )
        s_rate = rate if category is VatCategory.STANDARD else None
        supplied_in = ctx.ship_country if goods else _buyer_country(ctx)
        oss = oss_country(category, raw.tax_country, supplied_in, rate, ctx.on)
        if oss is not None:  # another member state's rate: not checked against Romania's
            return LineTax(vat.tax_class(category, rate), "known", gross, tax, oss), None
        tc = _specific(category, goods, ctx) or vat.tax_class(category, s_rate, on=ctx.on)
    except EfacturaError as exc:
        return LineTax(None, "known", gross, tax), problem(
            "P-VAT-RATE-UNKNOWN", line=n, reason=exc.message
        )
    return LineTax(tc, "known", gross, tax), None


def oss_country(
    category: VatCategory, tax_country: str | None, supplied_in: str | None, rate: Decimal, on: date
) -> str | None:
    """The member state whose VAT a Stripe-taxed line charges through the One-Stop-Shop, or
    None (Romanian VAT). Stripe's tax rate names its country: a member state other than Romania
    is OSS. Without it, a line supplied in another member state (goods: where they are shipped;
    services: the buyer's country) at a rate that is not a Romanian rate in force is OSS."""
    if category is not VatCategory.STANDARD:
        return None
    if tax_country:
        country = countries.normalize_country(tax_country)
        return country if country != "RO" and countries.is_eu(country) else None
    country = countries.normalize_country(supplied_in)
    if country is None or country == "RO" or not countries.is_eu(country):
        return None
    return None if vat.is_valid_rate(rate, on) else country


def _buyer_country(ctx: VatContext) -> str | None:
    return ctx.buyer.address.country if ctx.buyer else None


def _specific(category: VatCategory, goods: bool, ctx: VatContext) -> TaxClass | None:
    """The precise mention of a zero-VAT category in this sale's situation, when one is known
    beyond the category default (the legal basis for O and AE depends on who buys)."""
    if category is VatCategory.NOT_SUBJECT and not goods and ctx.outside_eu_b2b:
        return _O_SERVICES_OUTSIDE_RO
    if category is VatCategory.REVERSE_CHARGE:
        domestic = _buyer_country(ctx) == "RO" or romanian_vat_id(ctx.buyer)
        reason = vat.REASON_REVERSE_DOMESTIC if domestic else None
        if reason is None and not goods:
            reason = vat.REASON_REVERSE_EU_SERVICES
        return vat.tax_class(category, None, "VATEX-EU-AE", reason) if reason else None
    return None


def _reverse(raw: RawLine, ctx: VatContext) -> LineTax:
    goods = ctx.goods(raw)
    intra = goods and ctx.buyer is not None and ctx.buyer.address.country != "RO"
    category = VatCategory.INTRA_COMMUNITY if intra else VatCategory.REVERSE_CHARGE
    tc = _specific(category, goods, ctx) or vat.tax_class(category)
    return LineTax(tc, "incl", _gross(raw), _ZERO)


def _outside_eu(raw: RawLine, ctx: VatContext) -> LineTax | None:
    """Art. 278 (2): services to a business outside the EU are not taxable in Romania (O).
    Goods shipped outside the EU are an export (G, art. 294 (1) a)); goods delivered in the
    EU (or in Romania) to such a buyer follow the other rules."""
    if not ctx.goods(raw):
        return LineTax(_O_SERVICES_OUTSIDE_RO, "incl", _gross(raw), _ZERO)
    country = (ctx.ship_country or "").upper()
    if country and country != "XI" and not ro.is_eu(country):
        return LineTax(vat.tax_class(VatCategory.EXPORT), "incl", _gross(raw), _ZERO)
    return None


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
    outside = _outside_eu(raw, ctx) if ctx.outside_eu_b2b else None
    if outside is not None:
        return outside, None
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
