"""Sale + invoicing profile -> Invoice: the pure invoice builder.

:func:`build_invoice` puts together the seller (``[company]``), the buyer (:mod:`.buyer`), the
lines (:mod:`.lines`), their VAT (below) and the totals (:mod:`.totals`), and reports every
reason the payment cannot be invoiced as a coded problem (:mod:`.problems`). It does no I/O
and reads no clock: the issue date is the payment date in Europe/Bucharest.

**VAT of a line**, first rule that applies:

1. Seller not VAT-registered (``[company] vat_payer = false``): category O (``VATEX-EU-O``),
   no seller VAT id and no buyer VAT id (BR-O-02); the whole amount charged is the net.
2. Stripe computed tax for the line (Stripe Tax or tax rates): its amount is used as is, the
   rate is the TaxRate's ``percentage`` (``sale.objects['tax_rates']`` by id, or the expanded
   rate); without a percentage the rate is the Romanian rate in force that reproduces Stripe's
   amount within a ban, else ``P-VAT-RATE-UNKNOWN``. The category comes from
   ``taxability_reason`` (:func:`.vat.stripe_tax_category`); a positive rate must be a Romanian
   rate in force on the issue date.
3. Reverse charge: an EU (non-RO) company buyer with a VAT id when ``[vat]
   reverse_charge_eu_b2b`` (or Stripe's customer ``tax_exempt = reverse``): category AE,
   ``VATEX-EU-AE`` "Taxare inversă" — K (``VATEX-EU-IC``, intra-Community supply) for a
   physical good (Stripe product tax code ``txcd_99999999``); the amount charged is the net.
4. Otherwise ``[vat] default_category``/``default_rate`` (a rate kind resolved with
   :func:`.vat.rate_for` on the issue date, or a percent) — or the metadata line's own ``vat``
   percent. Buyers outside the EU get no automatic change: the default applies unless Stripe
   Tax says otherwise (a not-taxable-in-Romania export must come from Stripe Tax or a
   configured default category).

**Currencies.** Amounts are read in the currency's own minor units (:mod:`..money`). Document
amounts have 2 decimals (BR-DEC-RO): zero-decimal currencies (JPY) get nets with 2 decimals;
for three-decimal currencies (KWD, BHD, …) line amounts are rounded half up to 2 decimals with
the largest-remainder method so they add up to the collected amount rounded to 2 decimals, and
a non-fatal ``P-AMOUNT-ROUNDED`` records the difference. A non-RON invoice needs the BNR rate
(``fx``): without it ``needs_fx`` is set and no invoice is returned (the caller waits for the
rate and retries; it never guesses); a currency BNR does not publish is
``P-CURRENCY-UNSUPPORTED``.

**Totals.** BT-112 (tax inclusive) must equal what Stripe collected to the ban, else
``P-LINES-MISMATCH``. Prepaid = BT-112, payable 0.00 (the money is already in).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from ..errors import EfacturaError, Problem
from ..money import exponent, format_ro, from_minor, round2
from . import ro, vat
from .buyer import BuyerOverrides, extract_buyer
from .fx import BNR_CURRENCIES
from .lines import LinesResult, RawLine, extract_lines
from .metadata import iter_metadata, metadata_sources
from .model import (
    Address,
    BuyerKind,
    FxInfo,
    Invoice,
    InvoiceLine,
    Party,
    PaymentInfo,
    Sale,
    SellerExtras,
    TaxClass,
    Totals,
    VatBreakdown,
    VatCategory,
)
from .problems import problem
from .profile import CompanyProfile, InvoicingProfile, VatPolicy
from .totals import Mode, PricedLine, allocate, compute, document_totals, unit_price

__all__ = [
    "BuildResult",
    "BuyerOverrides",
    "build_invoice",
    "issue_date_of",
    "preview_dict",
    "seller_party",
]

BUCHAREST = ZoneInfo("Europe/Bucharest")
NAME_LIMIT = 100
DESCRIPTION_LIMIT = 200
_ZERO = Decimal("0.00")


@dataclass(frozen=True)
class BuildResult:
    """What :func:`build_invoice` found: the invoice, or why there is none."""

    invoice: Invoice | None
    """``None`` when a fatal problem was found or the BNR rate is still missing."""
    problems: tuple[Problem, ...]
    """The fatal problems: any one means no invoice."""
    needs_fx: bool = False
    """True when the invoice currency is not RON and ``fx`` was not given: retry with the BNR
    rate once it is published (``problems`` still lists anything else that is wrong)."""
    buyer: Party | None = None
    buyer_sources: dict[str, str] = field(default_factory=dict)
    lines: tuple[InvoiceLine, ...] = ()
    vat_breakdown: tuple[VatBreakdown, ...] = ()
    totals: Totals | None = None
    line_source: str = ""
    issue_date: date | None = None
    currency: str = ""
    warnings: tuple[Problem, ...] = ()
    """Non-fatal problems (``Problem.fatal`` false): the invoice is built, the merchant told."""

    @property
    def ok(self) -> bool:
        return self.invoice is not None

    def __iter__(self) -> Iterator[Any]:
        """``invoice, problems, needs_fx = build_invoice(...)`` works too."""
        return iter((self.invoice, self.problems, self.needs_fx))


def issue_date_of(paid_at: datetime) -> date:
    """The payment date in Europe/Bucharest (a naive ``paid_at`` is taken as UTC)."""
    aware = paid_at if paid_at.tzinfo is not None else paid_at.replace(tzinfo=UTC)
    return aware.astimezone(BUCHAREST).date()


# --- seller --------------------------------------------------------------------------------


def seller_party(company: CompanyProfile) -> tuple[Party, list[Problem]]:
    """The seller (BG-4) from ``[company]``, with ``P-SELLER-*`` problems."""
    party, problems = _seller(company)
    return party, list(problems)


@lru_cache(maxsize=64)
def _seller(c: CompanyProfile) -> tuple[Party, tuple[Problem, ...]]:
    a = c.address
    problems: list[Problem] = []
    for key, value in (
        ("name", c.name),
        ("cui", c.cui),
        ("address.line1", a.line1),
        ("address.city", a.city),
        ("address.country", a.country),
    ):
        if not (value or "").strip():
            problems.append(problem("P-SELLER-PROFILE-INCOMPLETE", key=key))
    if c.cui and ro.validate_cui(c.cui) is None:
        problems.append(problem("P-SELLER-CUI-INVALID", value=c.cui))
    city, county = a.city, a.county
    if a.country.upper() == "RO":
        city, county = ro.normalize_ro_address(a.line1, a.line2, a.city, a.county, a.postal_code)
        if county is None:
            problems.append(problem("P-SELLER-PROFILE-INCOMPLETE", key="address.county"))
        elif county == "RO-B" and not re.fullmatch(r"SECTOR[1-6]", city or ""):
            problems.append(problem("P-SELLER-PROFILE-INCOMPLETE", key="address.city (SECTORn)"))
    party = Party(
        name=c.name,
        address=replace(a, city=city or a.city, county=county),
        kind=BuyerKind.COMPANY,
        vat_id=c.vat_id,
        legal_id=c.cui,
        trade_register=c.trade_register,
        email=c.email,
        phone=c.phone,
    )
    return party, tuple(problems)


# --- VAT -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _VatContext:
    on: date
    profile: InvoicingProfile
    buyer: Party | None
    reverse: bool
    default: TaxClass | None
    default_problem: str | None


@lru_cache(maxsize=256)
def _default_class(policy: VatPolicy, on: date) -> tuple[TaxClass | None, str | None]:
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


def _reverse_charge(policy: VatPolicy, buyer: Party | None, tax_exempt: str | None) -> bool:
    if tax_exempt == "reverse":
        return True
    if buyer is None or buyer.kind is not BuyerKind.COMPANY or not buyer.vat_id:
        return False
    country = buyer.address.country
    return policy.reverse_charge_eu_b2b and country != "RO" and ro.is_eu(country)


def _infer_rate(net: Decimal, tax: Decimal, on: date) -> Decimal | None:
    if tax == 0:
        return Decimal(0)
    ban = Decimal("0.01")
    hits = [r for r in sorted(vat.rates_in_force(on)) if abs(round2(net * r / 100) - tax) <= ban]
    return hits[0] if len(hits) == 1 else None


def _line_tax(
    raw: RawLine, n: int, ctx: _VatContext
) -> tuple[TaxClass | None, Mode, Decimal, Decimal, list[Problem]]:
    """``(tax class, mode, amount, stripe tax, problems)`` for one raw line."""
    s = ctx.profile
    if raw.tax_count > 1:
        return (
            None,
            "incl",
            raw.amount,
            _ZERO,
            [problem("P-VAT-MULTIPLE-RATES", line=n, value=", ".join(raw.tax_rate_ids) or "?")],
        )
    gross_known = raw.tax_amount is not None and raw.amount_includes_tax is not None
    gross = raw.amount
    if raw.tax_amount is not None and raw.amount_includes_tax is False:
        gross = raw.amount + raw.tax_amount
    if not s.company.vat_payer:
        own_o = ctx.default is not None and ctx.default.category is VatCategory.NOT_SUBJECT
        tc = ctx.default if own_o and ctx.default else vat.tax_class(VatCategory.NOT_SUBJECT)
        if gross_known or raw.amount_includes_tax is not False:
            return tc, "incl", gross, _ZERO, []
        return tc, "excl", raw.amount, _ZERO, []
    stripe_taxed = raw.tax_amount is not None and (raw.tax_amount != 0 or raw.taxability_reason)
    if stripe_taxed and raw.tax_amount is not None:
        tax = raw.tax_amount
        rate = raw.tax_rate
        if rate is None:
            rate = _infer_rate(gross - tax, tax, ctx.on)
        if rate is None:
            return (
                None,
                "known",
                gross,
                tax,
                [problem("P-VAT-RATE-UNKNOWN", line=n, reason="Stripe tax rate not found")],
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
            return (
                None,
                "known",
                gross,
                tax,
                [problem("P-VAT-RATE-UNKNOWN", line=n, reason=exc.message)],
            )
        return tc, "known", gross, tax, []
    if ctx.reverse:
        intra = raw.goods and ctx.buyer is not None and ctx.buyer.address.country != "RO"
        category = VatCategory.INTRA_COMMUNITY if intra else VatCategory.REVERSE_CHARGE
        return vat.tax_class(category), "incl", gross, _ZERO, []
    includes = raw.amount_includes_tax
    if includes is None:
        includes = s.vat.prices_include_vat
    mode: Mode = "incl" if includes else "excl"
    if raw.tax_rate is not None:
        try:
            if raw.tax_rate > 0:
                tc = vat.tax_class(VatCategory.STANDARD, raw.tax_rate, on=ctx.on)
            else:
                default_cat = s.vat.default_category
                cat = default_cat if default_cat is not VatCategory.STANDARD else VatCategory.ZERO
                tc = vat.tax_class(cat, None, s.vat.exemption_code, s.vat.exemption_reason)
        except EfacturaError as exc:
            return (
                None,
                mode,
                raw.amount,
                _ZERO,
                [problem("P-VAT-RATE-UNKNOWN", line=n, reason=exc.message)],
            )
        return tc, mode, raw.amount, _ZERO, []
    if ctx.default is None:
        return (
            None,
            mode,
            raw.amount,
            _ZERO,
            [problem("P-VAT-RATE-UNKNOWN", line=n, reason=ctx.default_problem or "[vat] default")],
        )
    return ctx.default, mode, raw.amount, _ZERO, []


# --- payment -------------------------------------------------------------------------------

_MEANS = {
    "card": "48",
    "card_present": "48",
    "link": "48",
    "sepa_debit": "49",
    "bacs_debit": "49",
    "au_becs_debit": "49",
    "acss_debit": "49",
    "us_bank_account": "49",
    "customer_balance": "30",
}


def _payment(sale: Sale) -> PaymentInfo:
    charge = sale.objects.get("charge")
    details: Mapping[str, Any] = {}
    if isinstance(charge, Mapping):
        pmd = charge.get("payment_method_details")
        details = pmd if isinstance(pmd, Mapping) else {}
    kind = str(details.get("type") or "card") if details else "card"
    label: str | None = None
    card = details.get(kind) if details else None
    if isinstance(card, Mapping) and card.get("last4"):
        brand = str(card.get("brand") or "").capitalize()
        label = f"Card {brand} •••• {card['last4']}".replace("  ", " ")
    return PaymentInfo(
        means_code=_MEANS.get(kind, "1"),
        reference=sale.payment_key[:140],
        method_label=label,
        paid_at=sale.paid_at,
    )


def _order_reference(sale: Sale) -> str | None:
    session = sale.objects.get("checkout_session")
    if isinstance(session, Mapping) and isinstance(session.get("client_reference_id"), str):
        ref = str(session["client_reference_id"]).strip()
        if ref:
            return ref[:200]
    hit = next(iter_metadata(metadata_sources(sale), "order_id", "order_number"), None)
    return hit[2][:200] if hit else None


# --- build ---------------------------------------------------------------------------------


def _fmt(value: Decimal, currency: str) -> str:
    return format_ro(value, max(exponent(currency), 2))


def _to_cents(values: list[Decimal], currency: str) -> list[Decimal]:
    if exponent(currency) <= 2:
        return [v.quantize(Decimal("0.01")) for v in values]
    return allocate(values, round2(sum(values, Decimal(0))))


def build_invoice(
    sale: Sale,
    profile: InvoicingProfile,
    *,
    number: str,
    fx: FxInfo | None,
    overrides: BuyerOverrides | None = None,
) -> BuildResult:
    """Build the invoice for ``sale`` (see the module docs). Never raises on Stripe data."""
    problems: list[Problem] = []
    currency = sale.currency.upper()
    on = issue_date_of(sale.paid_at)
    if not re.fullmatch(r"[A-Z]{3}", currency):
        problems.append(problem("P-CURRENCY-UNSUPPORTED", currency=currency or "?"))
        return BuildResult(None, tuple(problems), issue_date=on, currency=currency)
    sale_c = sale if currency == sale.currency else replace(sale, currency=currency)

    seller, seller_problems = seller_party(profile.company)
    problems.extend(seller_problems)
    buyer_res = extract_buyer(sale_c, overrides)
    problems.extend(buyer_res.problems)
    buyer = buyer_res.party
    lines_res: LinesResult = extract_lines(sale_c, profile.vat)
    problems.extend(lines_res.problems)
    if sale.degraded and lines_res.source == "single_line":
        problems.append(problem("P-LINES-DEGRADED"))

    default, default_problem = _default_class(profile.vat, on)
    ctx = _VatContext(
        on=on,
        profile=profile,
        buyer=buyer,
        reverse=profile.company.vat_payer
        and _reverse_charge(profile.vat, buyer, buyer_res.tax_exempt),
        default=default,
        default_problem=default_problem,
    )

    kept: list[RawLine] = []
    for raw in lines_res.lines:
        if raw.quantity == 0 and raw.amount == 0:
            continue
        kept.append(raw)
    classes: list[tuple[TaxClass | None, Mode, Decimal, Decimal]] = []
    for n, raw in enumerate(kept, start=1):
        if raw.quantity <= 0:
            problems.append(
                problem("P-LINE-QUANTITY-INVALID", line=n, name=raw.name, value=raw.quantity)
            )
        tc, mode, amount, tax, probs = _line_tax(raw, n, ctx)
        problems.extend(probs)
        classes.append((tc, mode, amount, tax))

    # exact check before any rounding (matters for 3-decimal currencies)
    collected = from_minor(sale_c.amount, currency)
    if all(c[1] != "excl" for c in classes):
        exact_total = sum((c[2] for c in classes), Decimal(0))
        exact_mismatch = exact_total != collected
    else:
        exact_total, exact_mismatch = Decimal(0), False

    amounts = _to_cents([c[2] for c in classes], currency)
    taxes = [round2(c[3]) for c in classes]
    collected2 = round2(collected)
    if collected2 != collected:
        problems.append(
            problem(
                "P-AMOUNT-ROUNDED",
                collected=collected,
                rounded=collected2,
                currency=currency,
            )
        )

    computed_lines: tuple[InvoiceLine, ...] = ()
    breakdown: tuple[VatBreakdown, ...] = ()
    totals: Totals | None = None
    if classes and all(c[0] is not None for c in classes):
        priced = [
            PricedLine(tax=c[0], mode=c[1], amount=a, tax_amount=t)
            for c, a, t in zip(classes, amounts, taxes, strict=True)
            if c[0] is not None
        ]
        computed = compute(priced)
        problems.extend(computed.problems)
        breakdown = computed.breakdown
        inv_lines: list[InvoiceLine] = []
        for n, (raw, p, net) in enumerate(zip(kept, priced, computed.nets, strict=True), 1):
            inv_line, warn = _invoice_line(n, raw, p, net)
            if warn is not None:
                problems.append(warn)
            inv_lines.append(inv_line)
        computed_lines = tuple(inv_lines)
        totals = document_totals(computed, fx if currency != "RON" else None)
        line_source_broken = any(p.fatal for p in lines_res.problems)
        if (totals.tax_inclusive != collected2 or exact_mismatch) and not line_source_broken:
            shown = exact_total if exact_mismatch else totals.tax_inclusive
            problems.append(
                problem(
                    "P-LINES-MISMATCH",
                    source=lines_res.source,
                    lines_total=_fmt(shown, currency),
                    collected=_fmt(collected, currency),
                    currency=currency,
                )
            )
    elif not classes and not any(p.fatal for p in lines_res.problems):
        problems.append(
            problem(
                "P-LINES-MISMATCH",
                source=lines_res.source,
                lines_total=_fmt(Decimal(0), currency),
                collected=_fmt(collected, currency),
                currency=currency,
            )
        )

    # BR-O-02: an O invoice carries no buyer VAT id.
    only_o = bool(breakdown) and all(b.tax.category is VatCategory.NOT_SUBJECT for b in breakdown)
    if buyer is not None and only_o and buyer.vat_id:
        buyer = replace(buyer, vat_id=None, legal_id=buyer.legal_id or buyer.vat_id)

    # BR-IC-11/12: an intra-Community supply names the delivery date and place.
    delivery_date: date | None = None
    delivery_address: Address | None = None
    if buyer is not None and any(b.tax.category is VatCategory.INTRA_COMMUNITY for b in breakdown):
        delivery_date, delivery_address = on, buyer.address
        # BR-RO-180/201/211: street, city and subdivision; outside Romania the renderer
        # repeats the city as the subdivision, so only a Romanian address needs its county.
        required: list[tuple[str, str | None]] = [
            ("line1", buyer.address.line1),
            ("city", buyer.address.city),
        ]
        if buyer.address.country == "RO":
            required.append(("county", buyer.address.county))
        for key, value in required:
            if not value:
                problems.append(problem("P-DELIVERY-ADDRESS-INCOMPLETE", key=key))

    needs_fx = False
    if currency != "RON" and fx is None:
        if currency in BNR_CURRENCIES:
            needs_fx = True
        else:
            problems.append(problem("P-CURRENCY-UNSUPPORTED", currency=currency))

    fatal = any(p.fatal for p in problems)
    invoice: Invoice | None = None
    if not fatal and not needs_fx and buyer is not None and totals is not None:
        c = profile.company
        invoice = Invoice(
            number=number,
            issue_date=on,
            currency=currency,
            seller=seller,
            buyer=buyer,
            lines=computed_lines,
            vat_breakdown=breakdown,
            totals=totals,
            seller_extras=SellerExtras(
                iban=c.iban,
                bank=c.bank,
                share_capital=c.share_capital,
                vat_payer=c.vat_payer,
                vat_on_collection=c.vat_on_collection,
            ),
            tax_currency="RON" if currency != "RON" else None,
            fx=fx if currency != "RON" else None,
            payment=_payment(sale_c),
            order_reference=_order_reference(sale_c),
            payment_key=sale.payment_key,
            livemode=sale.livemode,
            delivery_date=delivery_date,
            delivery_address=delivery_address,
        )
    return BuildResult(
        invoice=invoice,
        problems=tuple(p for p in problems if p.fatal),
        warnings=tuple(p for p in problems if not p.fatal),
        needs_fx=needs_fx,
        buyer=buyer,
        buyer_sources=dict(buyer_res.sources),
        lines=computed_lines,
        vat_breakdown=breakdown,
        totals=totals,
        line_source=lines_res.source,
        issue_date=on,
        currency=currency,
    )


def _invoice_line(
    n: int, raw: RawLine, priced: PricedLine, net: Decimal
) -> tuple[InvoiceLine, Problem | None]:
    warn: Problem | None = None
    name = raw.name.strip() or "Produs"
    description = raw.description
    if len(name) > NAME_LIMIT:
        warn = problem("P-LINE-NAME-TRUNCATED", line=n)
        description = name if description is None else f"{name} — {description}"
        name = name[: NAME_LIMIT - 1].rstrip() + "…"
    if description is not None and len(description) > DESCRIPTION_LIMIT:
        description = description[: DESCRIPTION_LIMIT - 1].rstrip() + "…"
    qty = raw.quantity if raw.quantity != 0 else Decimal(1)
    price, signed_qty = unit_price(net, qty)
    gross = priced.amount
    if priced.mode == "excl":
        gross = net + round2(net * priced.tax.rate / 100)
    return (
        InvoiceLine(
            line_id=str(n),
            name=name,
            quantity=signed_qty,
            unit_price=price,
            net_amount=net,
            tax=priced.tax,
            unit_code=raw.unit_code,
            description=description,
            gross_amount=gross,
            seller_item_id=raw.item_id[:200] if raw.item_id else None,
        ),
        warn,
    )


# --- preview -------------------------------------------------------------------------------


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"


def _party(p: Party | None) -> dict[str, Any] | None:
    if p is None:
        return None
    a: Address = p.address
    return {
        "name": p.name,
        "kind": p.kind.value,
        "vat_id": p.vat_id,
        "legal_id": p.legal_id,
        "trade_register": p.trade_register,
        "email": p.email,
        "phone": p.phone,
        "address": {
            "line1": a.line1,
            "line2": a.line2,
            "city": a.city,
            "county": a.county,
            "postal_code": a.postal_code,
            "country": a.country,
        },
    }


def _tax(t: TaxClass) -> dict[str, Any]:
    return {
        "category": t.category.value,
        "rate": _dec(t.rate),
        "exemption_code": t.exemption_code,
        "exemption_reason": t.exemption_reason,
    }


def preview_dict(result: BuildResult) -> dict[str, Any]:
    """JSON-able summary for ``stripe-efactura preview``: buyer, lines, VAT, totals, problems.

    Decimals are strings (``"121.00"``) so no precision is lost.
    """
    t = result.totals
    inv = result.invoice
    return {
        "ok": result.ok,
        "needs_fx": result.needs_fx,
        "number": inv.number if inv else None,
        "issue_date": result.issue_date.isoformat() if result.issue_date else None,
        "currency": result.currency,
        "line_source": result.line_source,
        "buyer": _party(result.buyer),
        "buyer_sources": dict(result.buyer_sources),
        "lines": [
            {
                "id": ln.line_id,
                "name": ln.name,
                "description": ln.description,
                "quantity": _dec(ln.quantity),
                "unit_code": ln.unit_code,
                "unit_price": _dec(ln.unit_price),
                "net_amount": _dec(ln.net_amount),
                "gross_amount": _dec(ln.gross_amount),
                "tax": _tax(ln.tax),
                "seller_item_id": ln.seller_item_id,
            }
            for ln in result.lines
        ],
        "vat_breakdown": [
            {
                **_tax(b.tax),
                "taxable_amount": _dec(b.taxable_amount),
                "tax_amount": _dec(b.tax_amount),
            }
            for b in result.vat_breakdown
        ],
        "totals": None
        if t is None
        else {
            "line_net_total": _dec(t.line_net_total),
            "tax_exclusive": _dec(t.tax_exclusive),
            "tax_total": _dec(t.tax_total),
            "tax_inclusive": _dec(t.tax_inclusive),
            "prepaid": _dec(t.prepaid),
            "payable": _dec(t.payable),
            "tax_total_ron": _dec(t.tax_total_ron),
        },
        "fx": None
        if inv is None or inv.fx is None
        else {
            "rate": _dec(inv.fx.rate),
            "rate_date": inv.fx.rate_date.isoformat(),
            "source": inv.fx.source,
        },
        "problems": [p.to_dict() for p in result.problems],
        "warnings": [p.to_dict() for p in result.warnings],
    }
