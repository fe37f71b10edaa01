"""Sale draft + invoicing profile -> Invoice: the pure invoice builder.

:func:`build_invoice` takes a Stripe-free :class:`.draft.SaleDraft` (made by
:func:`stripe_efactura.intake.draft.draft_of`) and the :class:`.profile.InvoicingProfile`, and puts
together the seller (``[company]``), the buyer (:mod:`.buyer`), the lines (:mod:`.lines`), their
VAT (below, :mod:`.line_vat`) and the totals (:mod:`.totals`), and reports every
reason the payment cannot be invoiced as a coded problem (:mod:`.problems`). It does no I/O
and reads no clock: the issue date is the payment date in Europe/Bucharest.

**VAT of a line**, first rule that applies:

1. Seller not VAT-registered (``[company] vat_payer = false``): category O (``VATEX-EU-O``,
   art. 310 mention), no seller VAT id and no buyer VAT id (BR-O-02); the whole amount charged
   is the net.
2. Stripe computed tax for the line (Stripe Tax or tax rates): its amount is used as is, the
   rate is the TaxRate's ``percentage`` (read by intake); without a percentage the rate is
   the Romanian rate in force that reproduces Stripe's amount within a ban, else
   ``P-VAT-RATE-UNKNOWN``. The category comes from ``taxability_reason``
   (:func:`.vat.stripe_tax_category`); a positive rate must be a Romanian rate in force on the
   payment date.
3. EU reverse charge: a company in another member state identified by that state's VAT id
   when ``[vat] reverse_charge_eu_b2b`` (or Stripe's customer ``tax_exempt = reverse``):
   category AE (art. 278 (2) / Directive art. 196) — K (``VATEX-EU-IC``, art. 294 (2) a)) for
   a good; the amount charged is the net. An ``RO`` VAT id is a Romanian VAT buyer, never this.
4. A business outside the EU: O for services (art. 278 (2)), G for goods shipped outside the
   EU (art. 294 (1) a)).
5. Otherwise ``[vat] default_category``/``default_rate`` (a rate kind resolved with
   :func:`.vat.rate_for` on the payment date, or a percent) — or the metadata line's own
   ``vat`` percent.

A line is a good by its Stripe product tax code, else by ``[vat] supplies``; goods are placed
by the shipping address, which is also the delivery (BG-13) of an intra-Community supply.

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
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from ..errors import Problem
from ..money import exponent, format_ro, from_minor, round2
from .basket import harmonise, invoice_period
from .buyer import BuyerOverrides, BuyerResult, resolve_buyer
from .delivery import delivery_of, shipped_to
from .draft import RawLine, SaleDraft
from .fx import BNR_CURRENCIES
from .line_vat import LineTax, VatContext, line_tax, vat_context
from .lines import LinesResult, settle_lines
from .model import (
    Address,
    FxInfo,
    Invoice,
    InvoiceLine,
    Party,
    PaymentInfo,
    SellerExtras,
    TaxClass,
    Totals,
    VatBreakdown,
    VatCategory,
)
from .oss import notes, vat_country
from .problems import problem
from .profile import CompanyProfile, InvoicingProfile
from .seller import seller_party
from .totals import PricedLine, allocate, compute, document_totals, unit_price
from .vat import EXEMPTIONS

__all__ = [
    "BuildResult",
    "BuyerOverrides",
    "build_invoice",
    "issue_date_of",
    "seller_party",
]

BUCHAREST = ZoneInfo("Europe/Bucharest")
NAME_LIMIT = 100
DESCRIPTION_LIMIT = 200


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

    def __iter__(self) -> Iterator[Invoice | tuple[Problem, ...] | bool | None]:
        """``invoice, problems, needs_fx = build_invoice(...)`` works too."""
        return iter((self.invoice, self.problems, self.needs_fx))


def issue_date_of(paid_at: datetime) -> date:
    """The day of ``paid_at`` in Europe/Bucharest (a naive ``paid_at`` is taken as UTC): the
    payment date, and the issue date of an invoice numbered the day it was paid."""
    aware = paid_at if paid_at.tzinfo is not None else paid_at.replace(tzinfo=UTC)
    return aware.astimezone(BUCHAREST).date()


def issuing_deadline(chargeable: date) -> date:
    """Art. 319 (16): an invoice is issued at the latest on the 15th of the month after the
    chargeable event."""
    year, month = (
        (chargeable.year + 1, 1)
        if chargeable.month == 12
        else (
            chargeable.year,
            chargeable.month + 1,
        )
    )
    return date(year, month, 15)


@dataclass(frozen=True)
class _Dates:
    """The dates of one invoice: the chargeable event (the payment) sets the VAT rate and the
    BNR rate; the issue date is the day the invoice is numbered (never earlier)."""

    chargeable: date
    issued: date

    @property
    def tax_point(self) -> date | None:
        """BT-7 when the payment is earlier than the issue date (art. 319 (20) d)."""
        return self.chargeable if self.chargeable < self.issued else None


def _dates(paid_at: datetime, issued_on: date | None, problems: list[Problem]) -> _Dates:
    chargeable = issue_date_of(paid_at)
    issued = max(issued_on or chargeable, chargeable)
    deadline = issuing_deadline(chargeable)
    if issued > deadline:
        problems.append(
            problem(
                "P-ISSUED-LATE",
                paid_on=f"{chargeable:%d.%m.%Y}",
                issued_on=f"{issued:%d.%m.%Y}",
                deadline=f"{deadline:%d.%m.%Y}",
            )
        )
    return _Dates(chargeable, issued)


# --- lines and VAT -------------------------------------------------------------------------


def _tax_lines(
    lines: tuple[RawLine, ...], ctx: VatContext, problems: list[Problem]
) -> tuple[list[RawLine], list[LineTax]]:
    """The lines worth invoicing (an empty line of quantity 0 is dropped) and their VAT."""
    kept = [raw for raw in lines if not (raw.quantity == 0 and raw.amount == 0)]
    taxed: list[LineTax] = []
    for n, raw in enumerate(kept, start=1):
        if raw.quantity <= 0:
            problems.append(
                problem("P-LINE-QUANTITY-INVALID", line=n, name=raw.name, value=raw.quantity)
            )
        tax, found = line_tax(raw, n, ctx)
        if found is not None:
            problems.append(found)
        taxed.append(tax)
    if any(t.tax is not None and _generic_exemption(t.tax) for t in taxed):
        problems.append(problem("P-VAT-EXEMPTION-GENERIC"))
    return kept, taxed


def _generic_exemption(tax: TaxClass) -> bool:
    """E with the default mention, which cannot name the exemption's letter."""
    default = EXEMPTIONS[VatCategory.EXEMPT]
    return tax.category is VatCategory.EXEMPT and (
        default is not None and tax.exemption_reason == default[1]
    )


@dataclass(frozen=True)
class _Priced:
    lines: tuple[InvoiceLine, ...] = ()
    breakdown: tuple[VatBreakdown, ...] = ()
    totals: Totals | None = None


def _mismatch(source: str, shown: Decimal, collected: Decimal, currency: str) -> Problem:
    return problem(
        "P-LINES-MISMATCH",
        source=source,
        lines_total=_fmt(shown, currency),
        collected=_fmt(collected, currency),
        currency=currency,
    )


def _exact_mismatch(taxed: list[LineTax], collected: Decimal) -> tuple[Decimal, bool]:
    """Before any rounding (matters for 3-decimal currencies): the lines' exact total and
    whether it misses what was collected (only knowable when no line is net of VAT)."""
    if any(t.mode == "excl" for t in taxed):
        return Decimal(0), False
    exact_total = sum((t.amount for t in taxed), Decimal(0))
    return exact_total, exact_total != collected


def _price(
    kept: list[RawLine],
    taxed: list[LineTax],
    lines: LinesResult,
    collected: Decimal,
    currency: str,
    fx: FxInfo | None,
    problems: list[Problem],
) -> _Priced:
    """Nets, VAT breakdown and totals of the taxed lines, checked against ``collected``."""
    exact_total, exact_mismatch = _exact_mismatch(taxed, collected)
    amounts = _to_cents([t.amount for t in taxed], currency)
    taxes = [round2(t.stripe_tax) for t in taxed]
    collected2 = round2(collected)
    if collected2 != collected:
        problems.append(
            problem("P-AMOUNT-ROUNDED", collected=collected, rounded=collected2, currency=currency)
        )
    source_broken = any(p.fatal for p in lines.problems)
    if not taxed:
        if not source_broken:
            problems.append(_mismatch(lines.source, Decimal(0), collected, currency))
        return _Priced()
    priced = [
        PricedLine(tax=t.tax, mode=t.mode, amount=a, tax_amount=x)
        for t, a, x in zip(taxed, amounts, taxes, strict=True)
        if t.tax is not None
    ]
    if len(priced) != len(taxed):
        return _Priced()
    computed = compute(priced)
    problems.extend(computed.problems)
    inv_lines: list[InvoiceLine] = []
    for n, (raw, p, net) in enumerate(zip(kept, priced, computed.nets, strict=True), 1):
        inv_line, warn = _invoice_line(n, raw, p, net)
        if warn is not None:
            problems.append(warn)
        inv_lines.append(inv_line)
    totals = document_totals(computed, fx if currency != "RON" else None)
    if (totals.tax_inclusive != collected2 or exact_mismatch) and not source_broken:
        shown = exact_total if exact_mismatch else totals.tax_inclusive
        problems.append(_mismatch(lines.source, shown, collected, currency))
    return _Priced(tuple(inv_lines), computed.breakdown, totals)


# --- buyer-dependent mentions ---------------------------------------------------------------


def _without_o_vat_id(buyer: Party | None, breakdown: tuple[VatBreakdown, ...]) -> Party | None:
    """BR-O-02: an O invoice carries no buyer VAT id."""
    only_o = bool(breakdown) and all(b.tax.category is VatCategory.NOT_SUBJECT for b in breakdown)
    if buyer is not None and only_o and buyer.vat_id:
        return replace(buyer, vat_id=None, legal_id=buyer.legal_id or buyer.vat_id)
    return buyer


def _needs_fx(currency: str, fx: FxInfo | None, problems: list[Problem]) -> bool:
    if currency == "RON" or fx is not None:
        return False
    if currency in BNR_CURRENCIES:
        return True
    problems.append(problem("P-CURRENCY-UNSUPPORTED", currency=currency))
    return False


# --- build -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Parts:
    """Everything of an invoice but its number, once every check passed."""

    dates: _Dates
    currency: str
    seller: Party
    buyer: Party
    priced: _Priced
    totals: Totals
    fx: FxInfo | None
    delivery: tuple[date | None, Address | None]
    vat_country: str | None = None


def _assemble(draft: SaleDraft, company: CompanyProfile, number: str, parts: _Parts) -> Invoice:
    foreign = parts.currency != "RON"
    return Invoice(
        number=number,
        issue_date=parts.dates.issued,
        currency=parts.currency,
        seller=parts.seller,
        buyer=parts.buyer,
        lines=parts.priced.lines,
        vat_breakdown=parts.priced.breakdown,
        totals=parts.totals,
        seller_extras=SellerExtras(
            iban=company.iban,
            bank=company.bank,
            share_capital=company.share_capital,
            vat_payer=company.vat_payer,
            vat_on_collection=company.vat_on_collection,
        ),
        tax_currency="RON" if foreign else None,
        fx=parts.fx if foreign else None,
        payment=PaymentInfo(
            means_code=draft.payment.means_code,
            reference=draft.payment_key[:140],
            method_label=draft.payment.method_label,
            paid_at=draft.paid_at,
            paid_into_stripe=draft.payment.paid_into_stripe,
        ),
        order_reference=draft.order_reference,
        payment_key=draft.payment_key,
        livemode=draft.livemode,
        delivery_date=parts.delivery[0],
        delivery_address=parts.delivery[1],
        tax_point_date=parts.dates.tax_point,
        period=invoice_period(parts.priced.lines),
        vat_country=parts.vat_country,
        notes=notes(parts.vat_country),
    )


def _read_parties_and_lines(
    draft: SaleDraft,
    profile: InvoicingProfile,
    overrides: BuyerOverrides | None,
    problems: list[Problem],
) -> tuple[Party, BuyerResult, LinesResult]:
    seller, seller_problems = seller_party(profile.company)
    problems.extend(seller_problems)
    buyer = resolve_buyer(draft.buyer, overrides)
    problems.extend(buyer.problems)
    lines = settle_lines(draft, profile.vat)
    problems.extend(lines.problems)
    if draft.degraded and lines.source == "single_line":
        problems.append(problem("P-LINES-DEGRADED"))
    return seller, buyer, lines


def build_invoice(
    draft: SaleDraft,
    profile: InvoicingProfile,
    *,
    number: str,
    fx: FxInfo | None,
    overrides: BuyerOverrides | None = None,
    issued_on: date | None = None,
) -> BuildResult:
    """Build the invoice of ``draft`` (see the module docs). Never raises on sale data.

    ``issued_on``: the day the invoice is numbered (Europe/Bucharest), its issue date (BT-2);
    ``None`` (previews, tests) issues it on the payment day. The payment day is the chargeable
    event: it sets the VAT rate and the delivery date, and becomes BT-7 when earlier.
    """
    currency = draft.currency.upper()
    problems: list[Problem] = []
    dates = _dates(draft.paid_at, issued_on, problems)
    on = dates.chargeable
    if not re.fullmatch(r"[A-Z]{3}", currency):
        unsupported = problem("P-CURRENCY-UNSUPPORTED", currency=currency or "?")
        return BuildResult(None, (unsupported,), issue_date=dates.issued, currency=currency)
    seller, buyer_res, lines = _read_parties_and_lines(draft, profile, overrides, problems)
    shipped = shipped_to(draft)
    ship_country = shipped.country if shipped is not None else None
    ctx = vat_context(on, profile, buyer_res.party, buyer_res.tax_exempt, ship_country or None)
    kept, taxed = harmonise(*_tax_lines(lines.lines, ctx, problems), currency)
    oss = vat_country(taxed)
    collected = from_minor(draft.amount, currency)
    priced = _price(kept, taxed, lines, collected, currency, fx, problems)
    buyer = _without_o_vat_id(buyer_res.party, priced.breakdown)
    delivery = delivery_of(buyer, priced.breakdown, draft, on, problems)
    needs_fx = _needs_fx(currency, fx, problems)
    invoice: Invoice | None = None
    fatal = any(p.fatal for p in problems)
    if not fatal and not needs_fx and buyer is not None and priced.totals is not None:
        parts = _Parts(dates, currency, seller, buyer, priced, priced.totals, fx, delivery, oss)
        invoice = _assemble(draft, profile.company, number, parts)
    return BuildResult(
        invoice=invoice,
        problems=tuple(p for p in problems if p.fatal),
        warnings=tuple(p for p in problems if not p.fatal),
        needs_fx=needs_fx,
        buyer=buyer,
        buyer_sources=dict(buyer_res.sources),
        lines=priced.lines,
        vat_breakdown=priced.breakdown,
        totals=priced.totals,
        line_source=lines.source,
        issue_date=dates.issued,
        currency=currency,
    )


def _fmt(value: Decimal, currency: str) -> str:
    return format_ro(value, max(exponent(currency), 2))


def _to_cents(values: list[Decimal], currency: str) -> list[Decimal]:
    if exponent(currency) <= 2:
        return [v.quantize(Decimal("0.01")) for v in values]
    return allocate(values, round2(sum(values, Decimal(0))))


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
            period=raw.period,
        ),
        warn,
    )
