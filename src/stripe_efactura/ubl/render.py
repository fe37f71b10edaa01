"""Invoice -> UBL 2.1 CIUS-RO XML bytes (pure, deterministic).

``render(invoice)`` writes an ``Invoice-2`` document (type 380, also for a storno with negative
quantities and amounts); ``render(invoice, credit_note=True)`` writes a ``CreditNote-2`` (type
381) with positive values. The output is a pure function of the :class:`Invoice`: fixed
namespace prefixes, elements in the order of the UBL 2.1 XSD sequences, two-space indentation,
UTF-8 with an XML declaration, no timestamps, no ``xsi:schemaLocation``.

Text is normalised (Unicode NFC, characters XML forbids removed, whitespace collapsed as
``normalize-space`` does) and cut to the CIUS-RO length limits listed in
:mod:`stripe_efactura.ubl.codes`; ``docs/ubl.md`` has the mapping and every choice made.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from stripe_efactura.invoicing.model import (
    Address,
    Invoice,
    InvoiceLine,
    Party,
    Period,
    TaxClass,
    VatBreakdown,
    VatCategory,
)
from stripe_efactura.invoicing.vat import EXEMPTIONS
from stripe_efactura.money import format_ro, round2
from stripe_efactura.ubl import codes
from stripe_efactura.ubl.writer import (
    ELLIPSIS,
    RenderError,
    Writer,
    clean_text,
    esc,
    fmt_amount,
    fmt_date,
    fmt_number,
    fmt_price,
    truncate_text,
)

__all__ = ["ELLIPSIS", "RenderError", "clean_text", "number_text", "render", "truncate_text"]

_ROMANIA = "RO"

# --- document context --------------------------------------------------------------------


@dataclass(frozen=True)
class _Doc:
    inv: Invoice
    credit_note: bool
    sign: Decimal
    currency: str
    not_subject: bool
    """Some line is category O: no seller/buyer VAT identifier may appear (BR-O-02)."""

    def money(self, value: Decimal, what: str = "amount") -> tuple[str, list[tuple[str, str]]]:
        return fmt_amount(self.sign * value, what), [("currencyID", self.currency)]


def _context(inv: Invoice, credit_note: bool) -> _Doc:
    as_cn = (credit_note and inv.is_storno) or inv.type_code == codes.TYPE_CREDIT_NOTE
    return _Doc(
        inv=inv,
        credit_note=as_cn,
        sign=Decimal(-1) if as_cn and inv.is_storno else Decimal(1),
        currency=inv.currency.upper(),
        not_subject=any(ln.tax.category is VatCategory.NOT_SUBJECT for ln in inv.lines),
    )


def render(invoice: Invoice, *, credit_note: bool = False) -> bytes:
    """Write ``invoice`` as UBL 2.1 CIUS-RO XML; same Invoice -> identical bytes.

    ``credit_note`` is the merchant setting "corrections as 381 credit notes": it applies to
    stornos only (an ordinary invoice ignores it, so the setting can be passed to every call).
    A storno with ``credit_note=True`` (or any invoice whose ``type_code`` is ``381``) becomes a
    CreditNote-2 of type 381; a storno's quantities and amounts are then negated, so the credit
    note carries positive values. Otherwise the root is Invoice-2 with the invoice's type code
    (380 for invoices and stornos alike).
    """
    d = _context(invoice, credit_note)
    w = Writer()
    root = "CreditNote" if d.credit_note else "Invoice"
    w.open(
        root,
        [
            ("xmlns", codes.NS_CREDIT_NOTE if d.credit_note else codes.NS_INVOICE),
            ("xmlns:cac", codes.NS_CAC),
            ("xmlns:cbc", codes.NS_CBC),
        ],
    )
    _header(w, d)
    _references(w, d)
    _supplier(w, d)
    _customer(w, d)
    _delivery(w, d)
    _payment(w, d)
    _tax_totals(w, d)
    _monetary_total(w, d)
    for line in invoice.lines:
        _line(w, d, line)
    w.close(root)
    return w.bytes()


# --- header and references -----------------------------------------------------------------


def _reference(value: str, what: str) -> str:
    text = clean_text(value)
    if not text or len(text) > codes.MAX_REFERENCE:
        raise RenderError(f"{what} must have 1..{codes.MAX_REFERENCE} characters", field=what)
    return text


def number_text(number: str) -> str:
    """BT-1 as :func:`render` writes it in ``cbc:ID``, cleaned and escaped (``RenderError``
    for an empty or too long one, as :func:`render`)."""
    return esc(_reference(number, "BT-1"))


def _header(w: Writer, d: _Doc) -> None:
    inv = d.inv
    w.leaf("cbc:CustomizationID", codes.CUSTOMIZATION_ID)
    w.leaf("cbc:ID", _reference(inv.number, "BT-1"))  # number_text: the same text
    w.leaf("cbc:IssueDate", fmt_date(inv.issue_date))
    tax_point = inv.tax_point_date if inv.tax_point_date != inv.issue_date else None
    if d.credit_note:
        if tax_point is not None:
            w.leaf("cbc:TaxPointDate", fmt_date(tax_point))
        w.leaf("cbc:CreditNoteTypeCode", codes.TYPE_CREDIT_NOTE)
    else:
        if inv.due_date is not None:
            w.leaf("cbc:DueDate", fmt_date(inv.due_date))
        w.leaf("cbc:InvoiceTypeCode", inv.type_code)
    for note in _notes(d):
        w.leaf("cbc:Note", note)
    if tax_point is not None and not d.credit_note:
        w.leaf("cbc:TaxPointDate", fmt_date(tax_point))
    w.leaf("cbc:DocumentCurrencyCode", d.currency)
    if d.currency != codes.ACCOUNTING_CURRENCY:
        w.leaf("cbc:TaxCurrencyCode", codes.ACCOUNTING_CURRENCY)
    if inv.buyer_reference:
        w.opt("cbc:BuyerReference", clean_text(inv.buyer_reference))


def _notes(d: _Doc) -> list[str]:
    """BT-22 (max 20): legal mentions first, then the merchant's notes, then the BNR rate.

    The mentions are "TVA la încasare" and, on a category O invoice of a VAT-registered
    seller, the seller's VAT code, which BR-O-02 keeps out of PartyTaxScheme.
    """
    inv = d.inv
    head = ["TVA la încasare"] if inv.seller_extras.vat_on_collection else []
    seller_vat = clean_text(inv.seller.vat_id or "")
    if d.not_subject and seller_vat:
        head.append(f"Cod de înregistrare în scopuri de TVA al furnizorului: {seller_vat}")
    tail = [_fx_note(d)] if inv.fx is not None and d.currency != codes.ACCOUNTING_CURRENCY else []
    own = [t for t in (truncate_text(n, codes.MAX_NOTE) for n in inv.notes) if t]
    room = codes.MAX_NOTES - len(head) - len(tail)
    return head + own[:room] + tail


def _fx_note(d: _Doc) -> str:
    fx = d.inv.fx
    assert fx is not None
    exp = fx.rate.normalize().as_tuple().exponent
    places = max(4, -exp if isinstance(exp, int) else 4)
    rate = format_ro(fx.rate, places)
    vat_ron = format_ro(d.sign * _tax_total_ron(d))
    day = fx.rate_date.strftime("%d.%m.%Y")
    text = f"Curs {fx.source} din {day}: 1 {d.currency} = {rate} RON. Total TVA: {vat_ron} RON."
    return truncate_text(text, codes.MAX_NOTE)


def _period(w: Writer, period: Period | None) -> None:
    """BG-14 / BG-26: the service period (start and end date, both written; BR-CO-19/20)."""
    if period is None:
        return
    w.open("cac:InvoicePeriod")
    w.leaf("cbc:StartDate", fmt_date(period.start))
    w.leaf("cbc:EndDate", fmt_date(period.end))
    w.close("cac:InvoicePeriod")


def _references(w: Writer, d: _Doc) -> None:
    inv = d.inv
    _period(w, inv.period)
    if inv.order_reference and clean_text(inv.order_reference):
        w.open("cac:OrderReference")
        w.leaf("cbc:ID", truncate_text(inv.order_reference, codes.MAX_REFERENCE, ellipsis=False))
        w.close("cac:OrderReference")
    for prev in inv.preceding:
        w.open("cac:BillingReference")
        w.open("cac:InvoiceDocumentReference")
        w.leaf("cbc:ID", _reference(prev.number, "BT-25"))
        w.leaf("cbc:IssueDate", fmt_date(prev.issue_date))
        w.close("cac:InvoiceDocumentReference")
        w.close("cac:BillingReference")


# --- parties -----------------------------------------------------------------------------


def _address(
    w: Writer, a: Address, tag: str = "cac:PostalAddress", *, delivery: bool = False
) -> None:
    """BG-5/BG-8 (``cac:PostalAddress``) or BG-15 (``cac:Address``); same fields, same limits.

    ``delivery``: BR-RO-211 wants BT-79 in every deliver-to address, whatever the country, so a
    foreign address without a region repeats its city there. A Romanian one is written as
    given (BR-RO-212 needs an ISO 3166-2:RO code the renderer cannot invent).
    """
    country = clean_text(a.country).upper()
    city = truncate_text(a.city, codes.MAX_CITY)
    county = clean_text(a.county or "")
    if delivery and not county and country != _ROMANIA:
        county = city
    w.open(tag)
    w.opt("cbc:StreetName", truncate_text(a.line1, codes.MAX_STREET))
    w.opt("cbc:AdditionalStreetName", truncate_text(a.line2 or "", codes.MAX_STREET_2))
    w.opt("cbc:CityName", city)
    w.opt(
        "cbc:PostalZone", truncate_text(a.postal_code or "", codes.MAX_POSTAL_CODE, ellipsis=False)
    )
    w.opt("cbc:CountrySubentity", county)
    w.open("cac:Country")
    w.leaf("cbc:IdentificationCode", country)
    w.close("cac:Country")
    w.close(tag)


def _party_head(w: Writer, p: Party) -> None:
    """PartyName (BT-28/BT-45) and PostalAddress (BG-5/BG-8)."""
    w.open("cac:PartyName")
    w.leaf("cbc:Name", truncate_text(p.name, codes.MAX_PARTY_NAME))
    w.close("cac:PartyName")
    _address(w, p.address)


def _tax_scheme(w: Writer, vat_id: str) -> None:
    """PartyTaxScheme with the VAT identifier (BT-31 / BT-48)."""
    w.open("cac:PartyTaxScheme")
    w.leaf("cbc:CompanyID", vat_id)
    w.open("cac:TaxScheme")
    w.leaf("cbc:ID", codes.VAT_SCHEME)
    w.close("cac:TaxScheme")
    w.close("cac:PartyTaxScheme")


def _legal_entity(w: Writer, p: Party, company_id: str | None, legal_form: str) -> None:
    w.open("cac:PartyLegalEntity")
    w.leaf("cbc:RegistrationName", truncate_text(p.name, codes.MAX_PARTY_NAME))
    w.opt("cbc:CompanyID", company_id)
    w.opt("cbc:CompanyLegalForm", legal_form)
    w.close("cac:PartyLegalEntity")


def _contact(w: Writer, p: Party) -> None:
    """BT-42/43 or BT-57/58; a value longer than the limit is left out, never cut."""
    phone = clean_text(p.phone or "")
    email = clean_text(p.email or "")
    phone = phone if len(phone) <= codes.MAX_CONTACT else ""
    email = email if len(email) <= codes.MAX_CONTACT else ""
    if not (phone or email):
        return
    w.open("cac:Contact")
    w.opt("cbc:Telephone", phone)
    w.opt("cbc:ElectronicMail", email)
    w.close("cac:Contact")


def _seller_company_id(p: Party) -> str | None:
    """BT-30: the CUI; derived from the VAT id (``RO123`` -> ``123``) when not given."""
    if p.legal_id and clean_text(p.legal_id):
        return clean_text(p.legal_id)
    vat = clean_text(p.vat_id or "")
    return vat[2:] if vat[:2].isalpha() and vat[2:] else (vat or None)


def _seller_legal_form(d: _Doc) -> str:
    """BT-33: trade register number and share capital (Fiscal Code art. 319 mentions)."""
    p, extras = d.inv.seller, d.inv.seller_extras
    parts = []
    if p.trade_register and clean_text(p.trade_register):
        parts.append(f"Nr. Reg. Com. {clean_text(p.trade_register)}")
    if extras.share_capital and clean_text(extras.share_capital):
        parts.append(f"Capital social: {clean_text(extras.share_capital)}")
    return truncate_text("; ".join(parts), codes.MAX_LEGAL_INFO)


def _supplier(w: Writer, d: _Doc) -> None:
    p = d.inv.seller
    w.open("cac:AccountingSupplierParty")
    w.open("cac:Party")
    _party_head(w, p)
    vat = clean_text(p.vat_id or "")
    if vat and not d.not_subject:
        _tax_scheme(w, vat)
    _legal_entity(w, p, _seller_company_id(p), _seller_legal_form(d))
    _contact(w, p)
    w.close("cac:Party")
    w.close("cac:AccountingSupplierParty")


def _customer(w: Writer, d: _Doc) -> None:
    """BG-7. No id at all -> ``0000000000000``; under category O the VAT id moves to BT-47."""
    p = d.inv.buyer
    vat = clean_text(p.vat_id or "")
    legal = clean_text(p.legal_id or "")
    if d.not_subject and vat:
        legal, vat = legal or vat, ""
    if not (legal or vat):
        legal = codes.ANONYMOUS_BUYER_ID
    w.open("cac:AccountingCustomerParty")
    w.open("cac:Party")
    _party_head(w, p)
    if vat:
        _tax_scheme(w, vat)
    _legal_entity(w, p, legal or None, "")
    _contact(w, p)
    w.close("cac:Party")
    w.close("cac:AccountingCustomerParty")


# --- delivery ----------------------------------------------------------------------------


def _delivery(w: Writer, d: _Doc) -> None:
    """BG-13/BG-15: actual delivery date (BT-72) and deliver-to address (BT-75..BT-80).

    Written only when the model has them (the builder sets both for category K, BR-IC-11/12).
    """
    inv = d.inv
    if inv.delivery_date is None and inv.delivery_address is None:
        return
    w.open("cac:Delivery")
    if inv.delivery_date is not None:
        w.leaf("cbc:ActualDeliveryDate", fmt_date(inv.delivery_date))
    if inv.delivery_address is not None:
        w.open("cac:DeliveryLocation")
        _address(w, inv.delivery_address, "cac:Address", delivery=True)
        w.close("cac:DeliveryLocation")
    w.close("cac:Delivery")


# --- payment -----------------------------------------------------------------------------


def _payment(w: Writer, d: _Doc) -> None:
    inv = d.inv
    pay = inv.payment
    if pay is not None:
        code = clean_text(pay.means_code)
        label = truncate_text(pay.method_label or "", codes.MAX_MEANS_TEXT)
        remittance = pay.reference or inv.payment_key or ""
        own = "" if pay.paid_into_stripe else inv.seller_extras.iban or ""
        iban = "".join(own.split()).upper()
        w.open("cac:PaymentMeans")
        w.leaf("cbc:PaymentMeansCode", code, [("name", label)] if label else [])
        if d.credit_note and inv.due_date is not None:
            w.leaf("cbc:PaymentDueDate", fmt_date(inv.due_date))
        w.opt("cbc:PaymentID", truncate_text(remittance, codes.MAX_REMITTANCE, ellipsis=False))
        if code in codes.TRANSFER_MEANS and iban:
            w.open("cac:PayeeFinancialAccount")
            w.leaf("cbc:ID", iban)
            w.close("cac:PayeeFinancialAccount")
        w.close("cac:PaymentMeans")
    terms = _payment_terms(d)
    if terms:
        w.open("cac:PaymentTerms")
        w.leaf("cbc:Note", terms)
        w.close("cac:PaymentTerms")


def _payment_terms(d: _Doc) -> str:
    """BT-20, only when BR-CO-25 needs it: an amount due and no ``cbc:DueDate`` element."""
    inv = d.inv
    payable = d.sign * inv.totals.payable
    if payable <= 0 or (inv.due_date is not None and not d.credit_note):
        return ""
    if inv.due_date is not None:
        return f"Termen de plată: {inv.due_date.strftime('%d.%m.%Y')}"
    if d.credit_note:
        return f"Suma de {format_ro(payable)} {d.currency} se restituie cumpărătorului."
    return "Plata la primirea facturii."


# --- tax and totals ----------------------------------------------------------------------


def _exemption(tax: TaxClass) -> tuple[str, str]:
    """(BT-121, BT-120) for E/AE/K/G/O; ``invoicing.vat.EXEMPTIONS`` when neither is given."""
    if tax.category not in codes.EXEMPT_CATEGORIES:
        return "", ""
    code = clean_text(tax.exemption_code or "")
    reason = truncate_text(tax.exemption_reason or "", codes.MAX_EXEMPTION_REASON)
    default = EXEMPTIONS.get(tax.category)
    if not (code or reason) and default is not None:
        code, reason = default[0], truncate_text(default[1], codes.MAX_EXEMPTION_REASON)
    return code, reason


def _tax_category(w: Writer, tag: str, tax: TaxClass, *, exemption: bool) -> None:
    """TaxCategory (BG-23) or ClassifiedTaxCategory (BG-30); no Percent for O (BR-O-05)."""
    w.open(tag)
    w.leaf("cbc:ID", tax.category.value)
    if tax.category is not VatCategory.NOT_SUBJECT:
        w.leaf("cbc:Percent", fmt_number(tax.rate, "BT-152"))
    if exemption:
        code, reason = _exemption(tax)
        w.opt("cbc:TaxExemptionReasonCode", code)
        w.opt("cbc:TaxExemptionReason", reason)
    w.open("cac:TaxScheme")
    w.leaf("cbc:ID", codes.VAT_SCHEME)
    w.close("cac:TaxScheme")
    w.close(tag)


def _subtotal(w: Writer, d: _Doc, vb: VatBreakdown) -> None:
    w.open("cac:TaxSubtotal")
    w.leaf("cbc:TaxableAmount", *d.money(vb.taxable_amount, "BT-116"))
    w.leaf("cbc:TaxAmount", *d.money(vb.tax_amount, "BT-117"))
    _tax_category(w, "cac:TaxCategory", vb.tax, exemption=True)
    w.close("cac:TaxSubtotal")


def _tax_total_ron(d: _Doc) -> Decimal:
    """BT-111 as given; else VAT total × BNR rate rounded half up; unsigned (model sign)."""
    t = d.inv.totals
    if t.tax_total_ron is not None:
        return t.tax_total_ron
    if d.inv.fx is None:
        raise RenderError("a non-RON invoice needs totals.tax_total_ron or fx", field="BT-111")
    return round2(t.tax_total * d.inv.fx.rate)


def _tax_totals(w: Writer, d: _Doc) -> None:
    w.open("cac:TaxTotal")
    w.leaf("cbc:TaxAmount", *d.money(d.inv.totals.tax_total, "BT-110"))
    for vb in d.inv.vat_breakdown:
        _subtotal(w, d, vb)
    w.close("cac:TaxTotal")
    if d.currency != codes.ACCOUNTING_CURRENCY:
        ron = fmt_amount(d.sign * _tax_total_ron(d), "BT-111")
        w.open("cac:TaxTotal")
        w.leaf("cbc:TaxAmount", ron, [("currencyID", codes.ACCOUNTING_CURRENCY)])
        w.close("cac:TaxTotal")


def _monetary_total(w: Writer, d: _Doc) -> None:
    t = d.inv.totals
    w.open("cac:LegalMonetaryTotal")
    w.leaf("cbc:LineExtensionAmount", *d.money(t.line_net_total, "BT-106"))
    w.leaf("cbc:TaxExclusiveAmount", *d.money(t.tax_exclusive, "BT-109"))
    w.leaf("cbc:TaxInclusiveAmount", *d.money(t.tax_inclusive, "BT-112"))
    if t.prepaid:
        w.leaf("cbc:PrepaidAmount", *d.money(t.prepaid, "BT-113"))
    w.leaf("cbc:PayableAmount", *d.money(t.payable, "BT-115"))
    w.close("cac:LegalMonetaryTotal")


# --- lines -------------------------------------------------------------------------------


def _line(w: Writer, d: _Doc, line: InvoiceLine) -> None:
    tag = "cac:CreditNoteLine" if d.credit_note else "cac:InvoiceLine"
    unit = [("unitCode", clean_text(line.unit_code))]
    w.open(tag)
    w.leaf("cbc:ID", clean_text(line.line_id))
    qty = fmt_number(d.sign * line.quantity, "BT-129")
    w.leaf("cbc:CreditedQuantity" if d.credit_note else "cbc:InvoicedQuantity", qty, unit)
    w.leaf("cbc:LineExtensionAmount", *d.money(line.net_amount, "BT-131"))
    _period(w, line.period)
    w.open("cac:Item")
    w.opt("cbc:Description", truncate_text(line.description or "", codes.MAX_ITEM_DESCRIPTION))
    w.leaf("cbc:Name", truncate_text(line.name, codes.MAX_ITEM_NAME))
    seller_item = clean_text(line.seller_item_id or "")
    if seller_item:
        w.open("cac:SellersItemIdentification")
        w.leaf("cbc:ID", seller_item)
        w.close("cac:SellersItemIdentification")
    _tax_category(w, "cac:ClassifiedTaxCategory", line.tax, exemption=False)
    w.close("cac:Item")
    w.open("cac:Price")
    w.leaf("cbc:PriceAmount", fmt_price(line.unit_price), [("currencyID", d.currency)])
    if line.price_base_quantity is not None:
        w.leaf("cbc:BaseQuantity", fmt_number(line.price_base_quantity, "BT-149"), unit)
    w.close("cac:Price")
    w.close(tag)
