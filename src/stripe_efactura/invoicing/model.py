"""The invoice domain model: frozen dataclasses, EN 16931 business terms in the docstrings.

These values are produced by the pure builder (``invoicing.build``) from a sale draft
and consumed by the UBL renderer, the PDF renderer and the mailer. Nothing here does I/O.
Money is ``Decimal`` in major units of the invoice currency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class VatCategory(StrEnum):
    """UNCL5305 VAT category codes accepted by ANAF (BT-151, BT-118)."""

    STANDARD = "S"
    ZERO = "Z"
    EXEMPT = "E"
    REVERSE_CHARGE = "AE"
    INTRA_COMMUNITY = "K"
    EXPORT = "G"
    NOT_SUBJECT = "O"


class BuyerKind(StrEnum):
    COMPANY = "company"
    INDIVIDUAL = "individual"


class InvoiceKind(StrEnum):
    INVOICE = "invoice"
    STORNO = "storno"


@dataclass(frozen=True)
class Address:
    """A postal address (BG-5 seller, BG-8 buyer).

    ``county`` is the ISO 3166-2 subdivision for Romania (``RO-CJ``, ``RO-B``) and free text
    (or ``None``) elsewhere (BT-39/BT-54). For Bucharest ``city`` is ``SECTOR1``..``SECTOR6``.
    """

    line1: str
    """BT-35 / BT-50."""
    city: str
    """BT-37 / BT-52."""
    country: str
    """BT-40 / BT-55, ISO 3166-1 alpha-2."""
    line2: str | None = None
    """BT-36 / BT-51."""
    postal_code: str | None = None
    """BT-38 / BT-53."""
    county: str | None = None
    """BT-39 / BT-54."""


@dataclass(frozen=True)
class Party:
    """Seller (BG-4) or buyer (BG-7)."""

    name: str
    """BT-27 / BT-44: registration name."""
    address: Address
    kind: BuyerKind = BuyerKind.COMPANY
    vat_id: str | None = None
    """BT-31 / BT-48: VAT identifier with country prefix (``RO12345678``, ``DE123456789``)."""
    legal_id: str | None = None
    """BT-30 / BT-47: legal registration id: CUI without ``RO``, CNP, or ``0000000000000``."""
    trade_register: str | None = None
    """Reg. Com. number (``J40/1234/2020``); rendered as BT-33 seller additional legal info."""
    email: str | None = None
    """BT-43 / BT-58."""
    phone: str | None = None
    """BT-42 / BT-57."""


@dataclass(frozen=True)
class SellerExtras:
    """Mentions the Fiscal Code (art. 319) wants on the document that UBL does not carry."""

    iban: str | None = None
    """BT-84 payment account identifier."""
    bank: str | None = None
    share_capital: str | None = None
    vat_payer: bool = True
    vat_on_collection: bool = False
    """"TVA la încasare" mention."""


@dataclass(frozen=True)
class TaxClass:
    """VAT of a line (BG-30): category, rate and, for E/AE/K/G/O, the exemption reason."""

    category: VatCategory
    """BT-151."""
    rate: Decimal
    """BT-152, percent (``Decimal("21")``); 0 for Z/E/AE/K/G; O has no rate in UBL."""
    exemption_code: str | None = None
    """BT-121, e.g. ``VATEX-EU-AE``."""
    exemption_reason: str | None = None
    """BT-120, e.g. ``Taxare inversă``."""


@dataclass(frozen=True)
class Period:
    """A service period: BG-14 invoicing period, BG-26 line period (both days included)."""

    start: date
    """BT-73 / BT-134."""
    end: date
    """BT-74 / BT-135."""


@dataclass(frozen=True)
class InvoiceLine:
    """BG-25. For a storno the quantity and the amounts are negative, the price positive."""

    line_id: str
    """BT-126."""
    name: str
    """BT-153 (max 100 chars, BR-RO-L100 is enforced by the builder/renderer)."""
    quantity: Decimal
    """BT-129."""
    unit_price: Decimal
    """BT-146 net price (VAT excluded), never negative (BR-27)."""
    net_amount: Decimal
    """BT-131 = quantity × price, 2 decimals."""
    tax: TaxClass
    unit_code: str = "H87"
    """BT-130, UN/ECE rec 20 (H87 piece, C62 one, HUR hour, MON month)."""
    description: str | None = None
    """BT-154."""
    gross_amount: Decimal | None = None
    """VAT-inclusive amount the buyer paid for the line (informational, PDF)."""
    seller_item_id: str | None = None
    """BT-155 (Stripe price/product id or the merchant's product id)."""
    price_base_quantity: Decimal | None = None
    """BT-149, only when the unit price has more than 2 decimals and is expressed per N units."""
    period: Period | None = None
    """BG-26, the period a subscription line covers (Stripe's invoice line ``period``)."""


@dataclass(frozen=True)
class VatBreakdown:
    """BG-23, one per category and rate."""

    tax: TaxClass
    taxable_amount: Decimal
    """BT-116."""
    tax_amount: Decimal
    """BT-117."""


@dataclass(frozen=True)
class Totals:
    """BG-22 document totals."""

    line_net_total: Decimal
    """BT-106 sum of line net amounts."""
    tax_exclusive: Decimal
    """BT-109."""
    tax_total: Decimal
    """BT-110 VAT total in invoice currency."""
    tax_inclusive: Decimal
    """BT-112."""
    payable: Decimal
    """BT-115 amount due for payment."""
    prepaid: Decimal = Decimal("0.00")
    """BT-113; a card-paid invoice normally has prepaid = tax_inclusive and payable 0.00."""
    tax_total_ron: Decimal | None = None
    """BT-111 VAT total in RON (accounting currency) when the invoice currency is not RON."""


@dataclass(frozen=True)
class PaymentInfo:
    """BG-16 payment instructions, from the Stripe payment method."""

    means_code: str
    """BT-81 UNCL4461: 48 bank card, 49 direct debit, 30/31/42 credit transfer, 1 other."""
    reference: str | None = None
    """BT-83 remittance information: the Stripe payment id (``pi_…``)."""
    method_label: str | None = None
    """BT-82 / human text (``Card Visa •••• 4242``)."""
    paid_at: datetime | None = None
    paid_into_stripe: bool = False
    """The money went to an account held by Stripe (a Stripe bank transfer), not to the
    seller's bank account: the seller's IBAN is never written as BT-84."""


@dataclass(frozen=True)
class PrecedingInvoice:
    """BG-3: the invoice a storno corrects."""

    number: str
    """BT-25."""
    issue_date: date
    """BT-26."""


@dataclass(frozen=True)
class FxInfo:
    """The BNR rate used for the VAT total in RON (non-RON invoices)."""

    rate: Decimal
    """RON per 1 unit of the invoice currency (BNR applies the multiplier already)."""
    rate_date: date
    source: str = "BNR"


@dataclass(frozen=True)
class BuyerRegistry:
    """What a public registry said about the buyer for the issue date (kept on the snapshot):
    ANAF's taxpayer registry for a Romanian CUI, VIES for an EU VAT id."""

    source: str
    """``anaf`` or ``vies``."""
    day: date
    vat_payer: bool | None = None
    """ANAF: registered for VAT (art. 316) on ``day``."""
    vat_on_collection: bool | None = None
    """ANAF: applies VAT on collection on ``day``."""
    vies_valid: bool | None = None
    vies_request_identifier: str | None = None


@dataclass(frozen=True)
class Invoice:
    """A Romanian invoice (or storno), complete and ready to render.

    ``number`` is the full document number (BT-1, e.g. ``SEF0000123``); before numbering it
    is a provisional value that still contains a digit (BR-RO-010).
    """

    number: str
    """BT-1."""
    issue_date: date
    """BT-2, the day the invoice is numbered, in Europe/Bucharest."""
    currency: str
    """BT-5, ISO 4217 upper case."""
    seller: Party
    buyer: Party
    lines: tuple[InvoiceLine, ...]
    vat_breakdown: tuple[VatBreakdown, ...]
    totals: Totals
    kind: InvoiceKind = InvoiceKind.INVOICE
    type_code: str = "380"
    """BT-3: 380 invoice (also storno), 381 credit note."""
    seller_extras: SellerExtras = field(default_factory=SellerExtras)
    tax_currency: str | None = None
    """BT-6: ``RON`` when ``currency`` is not RON."""
    fx: FxInfo | None = None
    due_date: date | None = None
    """BT-9."""
    payment: PaymentInfo | None = None
    order_reference: str | None = None
    """BT-13 purchase order reference (Stripe ``client_reference_id`` / ``order_id``)."""
    buyer_reference: str | None = None
    """BT-10."""
    notes: tuple[str, ...] = ()
    """BT-22 (max 20, each ≤ 300 chars)."""
    preceding: tuple[PrecedingInvoice, ...] = ()
    payment_key: str | None = None
    """The Stripe payment (``pi_…``/``in_…``/``ch_…``) or refund/dispute id it comes from."""
    livemode: bool = True
    delivery_date: date | None = None
    """BT-72 actual delivery date; set for intra-Community supplies (category K, BR-IC-11)."""
    delivery_address: Address | None = None
    """BG-15 deliver-to address (BT-75..BT-80); set for category K (BR-IC-12). CIUS-RO wants
    line 1, city and country subdivision when it is present (BR-RO-180/201/211)."""
    tax_point_date: date | None = None
    """BT-7, the chargeable event (the payment, in Europe/Bucharest) when it is earlier than
    the issue date (art. 319 (20) d): a payment invoiced on a later day."""
    buyer_registry: tuple[BuyerRegistry, ...] = ()
    """The registry answers about the buyer the invoice was issued with (docs/registry.md)."""
    period: Period | None = None
    """BG-14, the invoicing period: from the earliest to the latest line period."""
    vat_country: str | None = None
    """The member state whose VAT the invoice charges through the One-Stop-Shop (art. 315):
    a B2C sale taxed outside Romania. ``None``: Romanian VAT (or none)."""

    @property
    def is_storno(self) -> bool:
        return self.kind is InvoiceKind.STORNO
